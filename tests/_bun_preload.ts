/**
 * Preloaded by `bun test` (see `bunfig.toml`) before any test file: raises Bun's
 * default per-test time limit from 5 s to 120 s. The crash, fuzz and >1 GiB tests
 * legitimately take tens of seconds; a hung test still fails, just later. Deno's
 * runner has no per-test limit and never loads this file.
 *
 * `bun:test` is imported through a variable so that `deno check tests/` does not
 * try to resolve it.
 *
 * @module
 */

/** Per-test time limit under `bun test`, in milliseconds. */
export const BUN_TEST_TIMEOUT_MS = 120_000;

const spec = "bun:test";
const bunTest = (await import(spec)) as { setDefaultTimeout(ms: number): void };
bunTest.setDefaultTimeout(BUN_TEST_TIMEOUT_MS);
