/**
 * Opens an existing emdb database once and exits — the command `hyperfine` times for the
 * "whole process" reopen rows. `mode` is `checkpoint` (load `<path>.hint`), `replay`
 * (`useCheckpoint: false`, full journal replay) or `import` (load the module only: the
 * runtime + import baseline to subtract). Nothing is written: `checkpointOnClose: false`.
 *
 *   deno run -A bench/open_db.ts bench/.data/x/bench.emdb checkpoint
 *   bun bench/open_db.ts bench/.data/x/bench.emdb replay
 *
 * @module
 */

import { Emdb } from "../mod.ts";

// deno-lint-ignore no-explicit-any
const G = globalThis as any;
const args: string[] = typeof G.Bun !== "undefined" ? G.process.argv.slice(2) : G.Deno.args;
const [path, mode = "checkpoint"] = args;
if (!path) throw new Error("usage: open_db.ts <path> [checkpoint|replay|import]");
if (mode !== "import") {
  const db = Emdb.open(path, { useCheckpoint: mode === "checkpoint", checkpointOnClose: false, create: false });
  if (db.size < 1) throw new Error("empty database");
  db.close();
}
