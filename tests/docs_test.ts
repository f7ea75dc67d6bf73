/**
 * The documentation is code, and these tests keep it true:
 *
 * - `docs/API.md` is exactly what `scripts/api_docs.ts` generates from the
 *   JSDoc of `mod.ts` (a doc comment changed without regenerating fails);
 * - every `ts` block of `docs/MIGRATING.md` runs, in a child process from an
 *   empty folder, and prints what the comments of its `console.log` lines say:
 *   emdb blocks under the runtime running the tests, lmdb-js blocks beside them
 *   (lmdb from `node_modules`), Deno KV blocks under Deno with `--unstable-kv`;
 *   and all of them type-check;
 * - every `ts` block of `README.md` runs under the runtime running the tests,
 *   from an empty folder, and type-checks;
 * - `docs/ARCHITECTURE.md` names every module of `src/` (but the CLI) and
 *   `ffi/`, and every source path it names exists.
 *
 * The reference and the type check use the pinned Deno (`node_modules/.bin/deno`),
 * whatever runtime runs the tests; tests that need a Deno binary are not
 * registered when there is none.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import process from "node:process";
import { API_MD, denoExecutable, generateApiDoc } from "../scripts/api_docs.ts";
import { currentRuntime, runtimeExecutable, tempDir } from "./_helpers.ts";
import { REPO_ROOT, runCommand } from "./_commands.ts";

/** Deno for the snippets that need it (the running one under Deno, the pinned one under Bun). */
const deno = runtimeExecutable("deno");
/** Deno for tools whose output must not depend on the runtime under test: the pinned one. */
const toolDeno = denoExecutable();
const SLOW = { timeout: 120_000 };

// ---- docs/API.md -------------------------------------------------------------------------

if (toolDeno !== undefined) {
  test("docs/API.md is what scripts/api_docs.ts generates from the JSDoc of mod.ts", SLOW, () => {
    const fresh = generateApiDoc(toolDeno);
    const current = readFileSync(API_MD, "utf8");
    assert.ok(
      current === fresh,
      "docs/API.md is stale: run `deno run -A scripts/api_docs.ts` (or `bun scripts/api_docs.ts`) and commit it",
    );
  });
}

// ---- docs/MIGRATING.md -------------------------------------------------------------------

/** A fenced code block of a markdown file. */
interface Snippet {
  /** Its position among the file's `ts` blocks, from 1. */
  index: number;
  /** The heading it sits under. */
  section: string;
  /** Which database it drives. */
  subject: "emdb" | "lmdb-js" | "Deno KV" | "lmdb-js → emdb" | "Deno KV → emdb";
  /** Where it starts in the file (1-based line). */
  line: number;
  code: string;
}

/** The `ts` blocks of a markdown file, with the heading each sits under. */
function snippets(markdown: string): Snippet[] {
  const out: Snippet[] = [];
  const lines = markdown.split("\n");
  let section = "";
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^#{1,4} /.test(l)) section = l.replace(/^#+ /, "");
    const fence = /^```(\S*)/.exec(l);
    if (!fence) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    if (fence[1] !== "ts") continue;
    const code = body.join("\n");
    const emdb = code.includes(`from "@emdb/emdb"`);
    const kv = code.includes("Deno.openKv");
    const lmdb = code.includes(`from "lmdb"`);
    const subject = emdb
      ? (kv ? "Deno KV → emdb" : lmdb ? "lmdb-js → emdb" : "emdb")
      : kv
      ? "Deno KV"
      : lmdb
      ? "lmdb-js"
      : undefined;
    if (subject === undefined) throw new Error(`MIGRATING.md line ${start + 1}: a ts block that drives no database`);
    out.push({ index: out.length + 1, section, subject, line: start + 1, code });
  }
  return out;
}

/** What each `console.log` line of a snippet says it prints: the text after its last `// `. */
function expectedOutput(s: Snippet): string[] {
  return s.code.split("\n").filter((l) => l.includes("console.log(")).map((l) => {
    const at = l.lastIndexOf("// ");
    assert.ok(
      at > l.indexOf("console.log("),
      `MIGRATING.md line ${s.line}: "${l.trim()}" needs its output as a comment`,
    );
    return l.slice(at + 3).trim();
  });
}

/**
 * Prepended to every snippet: `console.log` prints each argument the way the
 * comments write it (strings quoted, bytes as `Uint8Array [1, 2]`), the same
 * under every runtime.
 */
const PRELUDE = `import { writeSync as __writeSync } from "node:fs";
function __show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v instanceof Uint8Array) return \`Uint8Array [\${Array.from(v).join(", ")}]\`;
  if (Array.isArray(v)) return \`[\${v.map(__show).join(", ")}]\`;
  if (v !== null && typeof v === "object") {
    const e = Object.entries(v);
    return e.length === 0 ? "{}" : \`{ \${e.map(([k, x]) => \`\${k}: \${__show(x)}\`).join(", ")} }\`;
  }
  return String(v);
}
console.log = (...args: unknown[]): void => {
  __writeSync(1, args.map(__show).join(" ") + "\\n");
};
`;

const MIGRATING = join(REPO_ROOT, "docs", "MIGRATING.md");
const migrating = snippets(readFileSync(MIGRATING, "utf8"));

/**
 * Writes snippets as modules inside the repository (so that `lmdb` and the
 * config resolve as they do for the repository's own files), in a folder
 * removed when the test ends. `@emdb/emdb` is this checkout's `mod.ts`.
 */
function writeSnippets(t: { after(fn: () => void): void }, list: readonly Snippet[]): string[] {
  const parent = join(REPO_ROOT, "tmp");
  mkdirSync(parent, { recursive: true });
  const dir = join(parent, `docs-snippets-${process.pid}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir);
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
    try {
      if (readdirSync(parent).length === 0) rmSync(parent, { recursive: true });
    } catch {
      // Another test's folder is still there.
    }
  });
  const mod = relative(dir, join(REPO_ROOT, "mod.ts")).replaceAll("\\", "/");
  return list.map((s) => {
    const file = join(dir, `snippet_${String(s.index).padStart(2, "0")}.ts`);
    writeFileSync(file, PRELUDE + s.code.replaceAll(`from "@emdb/emdb"`, `from "${mod}"`) + "\n");
    return file;
  });
}

test("MIGRATING.md has emdb, lmdb-js and Deno KV snippets, each with its output in comments", () => {
  const subjects = new Set(migrating.map((s) => s.subject));
  for (const want of ["emdb", "lmdb-js", "Deno KV", "lmdb-js → emdb", "Deno KV → emdb"] as const) {
    assert.ok(subjects.has(want), `a ${want} snippet`);
  }
  assert.ok(migrating.filter((s) => s.subject === "emdb").length >= 10);
  for (const s of migrating) expectedOutput(s);
});

for (const s of migrating) {
  const underDeno = s.subject.startsWith("Deno KV");
  if (underDeno && deno === undefined) continue;
  const runtime = underDeno ? "deno" : currentRuntime;
  test(
    `MIGRATING.md snippet ${s.index} (${s.section}: ${s.subject}) runs under ${runtime} and prints what its comments say`,
    SLOW,
    async (t) => {
      const [file] = writeSnippets(t, [s]);
      const config = join(REPO_ROOT, "deno.json");
      const [cmd, args] = runtime === "deno"
        ? [underDeno ? deno! : process.execPath, ["run", "-A", "--unstable-kv", "--config", config, file!]]
        : [process.execPath, [file!]];
      const r = await runCommand(cmd, args, { cwd: tempDir(t), timeoutMs: 60_000 });
      assert.equal(r.code, 0, `snippet at MIGRATING.md line ${s.line} failed:\n${r.stderr}${r.stdout}`);
      const printed = r.stdout.split("\n").filter((l) => l !== "");
      assert.deepEqual(printed, expectedOutput(s), `what the snippet at MIGRATING.md line ${s.line} printed`);
    },
  );
}

if (toolDeno !== undefined) {
  test("every MIGRATING.md snippet type-checks", SLOW, async (t) => {
    const files = writeSnippets(t, migrating);
    const r = await runCommand(toolDeno, [
      "check",
      "--unstable-kv",
      "--config",
      join(REPO_ROOT, "deno.json"),
      ...files,
    ]);
    assert.equal(r.code, 0, `deno check of the MIGRATING.md snippets:\n${r.stderr}`);
  });
}

// ---- README.md ---------------------------------------------------------------------------

/**
 * The README's `ts` blocks, each made a module: the `Emdb` import when the
 * block does not import it, and the database `db` the block works on when it
 * does not open its own (a fresh file, `./readme.emdb`, in an empty folder).
 */
const readmeSnippets: Snippet[] = (() => {
  const out: Snippet[] = [];
  const lines = readFileSync(join(REPO_ROOT, "README.md"), "utf8").split("\n");
  let section = "";
  for (let i = 0; i < lines.length; i++) {
    if (/^#{1,4} /.test(lines[i]!)) section = lines[i]!.replace(/^#+ /, "");
    if (lines[i] !== "```ts") continue;
    const line = i + 1;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]!);
    let code = body.join("\n");
    if (!/^\s*(using|const|let) db = /m.test(code)) code = `using db = Emdb.open("./readme.emdb");\n${code}`;
    if (!/import \{[^}]*\bEmdb\b[^}]*\} from "@emdb\/emdb"/.test(code)) {
      code = `import { Emdb } from "@emdb/emdb";\n${code}`;
    }
    out.push({ index: out.length + 1, section, subject: "emdb", line, code });
  }
  return out;
})();

test("the README has a ts example in every section of Use", () => {
  const sections = new Set(readmeSnippets.map((s) => s.section));
  for (
    const want of ["Use", "Namespaces", "Expiry (TTL)", "Transactions and versions", "Iteration and ordered ranges"]
  ) {
    assert.ok(sections.has(want), `an example under "${want}"`);
  }
  for (const want of ["Compaction and backup", "Encryption"]) {
    assert.ok(sections.has(want), `an example under "${want}"`);
  }
});

for (const s of readmeSnippets) {
  test(`README.md example ${s.index} (${s.section}) runs under ${currentRuntime}`, SLOW, async (t) => {
    const [file] = writeSnippets(t, [s]);
    const args = currentRuntime === "deno" ? ["run", "-A", "--config", join(REPO_ROOT, "deno.json"), file!] : [file!];
    const r = await runCommand(process.execPath, args, { cwd: tempDir(t), timeoutMs: 60_000 });
    assert.equal(r.code, 0, `the example at README.md line ${s.line} failed:\n${r.stderr}${r.stdout}`);
  });
}

if (toolDeno !== undefined) {
  test("every README.md example type-checks", SLOW, async (t) => {
    const files = writeSnippets(t, readmeSnippets);
    const r = await runCommand(toolDeno, ["check", "--config", join(REPO_ROOT, "deno.json"), ...files]);
    assert.equal(r.code, 0, `deno check of the README.md examples:\n${r.stderr}`);
  });
}

// ---- docs/ARCHITECTURE.md ----------------------------------------------------------------

/** The engine's modules: what ARCHITECTURE.md must name (the CLI and the vendored code are described elsewhere). */
function engineModules(): string[] {
  const out: string[] = [];
  for (const dir of ["src", "src/engine", "src/format", "src/index", "src/io", "src/crypto", "ffi"]) {
    for (const f of readdirSync(join(REPO_ROOT, dir))) if (f.endsWith(".ts")) out.push(`${dir}/${f}`);
  }
  return out;
}

test("ARCHITECTURE.md names every module of src/ and ffi/, and every source path it names exists", () => {
  const text = readFileSync(join(REPO_ROOT, "docs", "ARCHITECTURE.md"), "utf8");
  const missing = engineModules().filter((m) => !text.includes(m));
  assert.deepEqual(missing, [], "modules ARCHITECTURE.md does not name");
  const named = new Set(text.match(/\b(?:src|ffi|tests|scripts)\/[\w/.-]*\.ts\b/g) ?? []);
  assert.ok(named.size > 20);
  const gone = [...named].filter((p) => {
    try {
      readFileSync(join(REPO_ROOT, p));
      return false;
    } catch {
      return true;
    }
  });
  assert.deepEqual(gone, [], "paths ARCHITECTURE.md names that do not exist");
});
