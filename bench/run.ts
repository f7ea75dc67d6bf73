/**
 * The benchmark orchestrator (run by Deno; `scripts/bench_all.sh` calls it). Spawns one
 * process per engine × runtime — emdb/Deno, lmdb/Deno, node:sqlite/Deno, Deno KV/Deno,
 * emdb/Bun, lmdb/Bun, bun:sqlite/Bun — each running `bench/run_engine.ts`, plus emdb's
 * variants on each runtime (the write phases with and without ordered access in use, twice
 * each in A-B-B-A order; the encrypted database with AES-256-GCM and ChaCha20-Poly1305),
 * collects their JSON, times whole-process opens of the emdb database (and the demo) with
 * `hyperfine` when it is installed, then prints the markdown report and writes
 * `bench/results/latest.md` and `bench/results/latest.json`. A complete run at
 * 1,000,000 records (no `--only`, nothing failed) also refreshes the README's table block
 * (`bench/readme.ts` does it by hand from a saved `latest.json`).
 *
 *   deno run -A bench/run.ts [--records N] [--kv-reads N] [--encrypted-reads N] [--only emdb/deno,lmdb/bun,emdb-aes/bun]
 *                            [--no-variants] [--no-hyperfine] [--no-readme] [--out bench/results]
 *
 * `--records` defaults to env `EMDB_BENCH_RECORDS`, else 1,000,000. Deno KV's read passes
 * and full iteration use `--kv-reads` gets / entries (default 100,000: one awaited get costs
 * ~100 µs), stated in the table; the encrypted variants' read passes `--encrypted-reads` gets
 * (default 200,000, spread over the keys: a get costs 7–40 µs there). `--only` takes job ids: `engine/runtime` (with every emdb
 * variant of that runtime unless `--no-variants`) or `emdb-<variant>/runtime`.
 *
 * @module
 */

import { DEFAULT_RECORDS, streamCounts, type Variant } from "./workload.ts";
import { type JobResult, renderMarkdown, type RunReport } from "./report.ts";
import { updateReadme } from "./readme.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const BIN = `${ROOT}/node_modules/.bin`;

interface Job {
  engine: string;
  runtime: "deno" | "bun";
  variant: Variant;
}
/** emdb's variants of one runtime: write phases never used / in use, A-B-B-A, then encrypted. */
const VARIANT_ORDER: Variant[] = ["writes", "ordered", "ordered", "writes", "aes", "chacha"];
const MATRIX: Job[] = [];
for (
  const [runtime, peers] of [["deno", ["lmdb", "node_sqlite", "deno_kv"]], ["bun", ["lmdb", "bun_sqlite"]]] as const
) {
  MATRIX.push({ engine: "emdb", runtime, variant: "main" });
  for (const variant of VARIANT_ORDER) MATRIX.push({ engine: "emdb", runtime, variant });
  for (const engine of peers) MATRIX.push({ engine, runtime, variant: "main" });
}
const jobId = (j: Job) => `${j.engine}${j.variant === "main" ? "" : `-${j.variant}`}/${j.runtime}`;

function parseArgs() {
  const a = Deno.args;
  const o = {
    records: Number(Deno.env.get("EMDB_BENCH_RECORDS") ?? DEFAULT_RECORDS),
    kvReads: 100_000,
    encryptedReads: 200_000,
    only: null as string[] | null,
    variants: true,
    readme: true,
    hyperfine: true,
    out: `${ROOT}/bench/results`,
  };
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    if (x === "--records") o.records = Number(a[++i]);
    else if (x === "--kv-reads") o.kvReads = Number(a[++i]);
    else if (x === "--encrypted-reads") o.encryptedReads = Number(a[++i]);
    else if (x === "--only") o.only = a[++i]!.split(",");
    else if (x === "--no-hyperfine") o.hyperfine = false;
    else if (x === "--no-variants") o.variants = false;
    else if (x === "--no-readme") o.readme = false;
    else if (x === "--out") o.out = a[++i]!;
    else throw new Error(`unknown argument ${x}`);
  }
  if (!Number.isInteger(o.records) || o.records < 1) throw new Error("--records must be a positive integer");
  return o;
}

function engineCommand(job: Job, records: number, extra: string[]): string[] {
  const script = `${ROOT}/bench/run_engine.ts`;
  const args = ["--engine", job.engine, "--records", String(records), ...extra];
  if (job.variant !== "main") args.push("--variant", job.variant);
  return job.runtime === "deno"
    ? [`${BIN}/deno`, "run", "-A", "--unstable-kv", "--v8-flags=--expose-gc", script, ...args]
    : [`${BIN}/bun`, script, ...args];
}

async function runJob(job: Job, cmd: string[]): Promise<JobResult> {
  console.error(`\n=== ${jobId(job)}: ${cmd.map((c) => c.replace(ROOT + "/", "")).join(" ")}`);
  const child = new Deno.Command(cmd[0]!, { args: cmd.slice(1), cwd: ROOT, stdout: "piped", stderr: "piped" }).spawn();
  let tail = "";
  const dec = new TextDecoder();
  const pumpErr = (async () => {
    for await (const chunk of child.stderr) {
      await Deno.stderr.write(chunk);
      tail = (tail + dec.decode(chunk)).slice(-2000);
    }
  })();
  let out = "";
  for await (const chunk of child.stdout) out += dec.decode(chunk);
  await pumpErr;
  const status = await child.status;
  const line = out.split("\n").find((l) => l.startsWith("RESULT "));
  const command = cmd.map((c) => c.replace(ROOT + "/", "")).join(" ");
  if (line) return { ...JSON.parse(line.slice(7)), id: job.engine, command, exitCode: status.code };
  return {
    engine: job.engine,
    variant: job.variant,
    runtime: job.runtime,
    runtimeVersion: "",
    records: 0,
    // deno-lint-ignore no-explicit-any
    phases: {} as any,
    wrong: 0,
    missing: 0,
    checks: {},
    sizes: { beforeCompaction: 0, afterCompaction: null, files: [] },
    notes: [],
    error: `process exited with code ${status.code}${status.signal ? ` (signal ${status.signal})` : ""} ` +
      `without a result; last output:\n${tail}`,
    command,
    exitCode: status.code,
    id: job.engine,
  };
}

async function capture(cmd: string, args: string[]): Promise<string> {
  try {
    const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    return new TextDecoder().decode(o.stdout).trim();
  } catch {
    return "";
  }
}

/** The three load averages of /proc/loadavg ("1.18 0.73 0.44"), or "" where there is none. */
async function loadAverage(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ").slice(0, 3).join(" ");
}

async function machine(): Promise<RunReport["machine"]> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const memKb = Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? 0);
  const lmdbPkg = JSON.parse(await Deno.readTextFile(`${ROOT}/node_modules/lmdb/package.json`).catch(() => "{}"));
  return {
    nproc: Number(await capture("nproc", [])) || navigator.hardwareConcurrency,
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    ramGiB: Math.round((memKb / 1024 / 1024) * 10) / 10,
    kernel: await capture("uname", ["-r"]),
    os: (await Deno.readTextFile("/etc/os-release").catch(() => "")).match(/PRETTY_NAME="?([^"\n]*)/)?.[1] ?? "",
    deno: (await capture(`${BIN}/deno`, ["--version"])).split("\n")[0] ?? "",
    bun: await capture(`${BIN}/bun`, ["--version"]),
    lmdb: lmdbPkg.version ?? "",
    hyperfine: await capture("hyperfine", ["--version"]),
    filesystem: (await capture("df", ["-T", ROOT])).split("\n")[1]?.split(/\s+/)[1] ?? "",
  };
}

interface HyperfineRow {
  label: string;
  command: string;
  meanMs: number;
  stddevMs: number;
  minMs: number;
  runs: number;
}

async function hyperfine(label: string, commands: { name: string; cmd: string }[], runs: number) {
  const json = await Deno.makeTempFile({ suffix: ".json" });
  const args = ["--warmup", "1", "--runs", String(runs), "--export-json", json, "--style", "basic"];
  for (const c of commands) args.push("--command-name", c.name, c.cmd);
  console.error(`\n=== hyperfine: ${label}`);
  const o = await new Deno.Command("hyperfine", { args, cwd: ROOT, stdout: "inherit", stderr: "inherit" }).output();
  const rows: HyperfineRow[] = [];
  if (o.success) {
    const data = JSON.parse(await Deno.readTextFile(json));
    for (const r of data.results) {
      rows.push({
        label: r.command,
        command: commands.find((c) => c.name === r.command)?.cmd ?? r.command,
        meanMs: r.mean * 1000,
        stddevMs: r.stddev * 1000,
        minMs: r.min * 1000,
        runs: r.times.length,
      });
    }
  }
  await Deno.remove(json).catch(() => {});
  return rows;
}

async function main(): Promise<void> {
  const opts = parseArgs();
  const startedAt = new Date().toISOString();
  const loadStart = await loadAverage();
  const jobs = MATRIX.filter((j) =>
    (opts.variants || j.variant === "main") &&
    (!opts.only || opts.only.includes(jobId(j)) || opts.only.includes(`${j.engine}/${j.runtime}`))
  );
  const haveHyperfine = opts.hyperfine && (await capture("hyperfine", ["--version"])) !== "";
  const results: JobResult[] = [];
  const hyperfineRows: HyperfineRow[] = [];
  const hyperfineNotes: string[] = [];
  if (!opts.hyperfine) hyperfineNotes.push("hyperfine rows skipped (--no-hyperfine).");
  else if (!haveHyperfine) hyperfineNotes.push("hyperfine rows skipped: hyperfine is not installed.");

  for (const job of jobs) {
    const extra: string[] = [];
    if (job.engine === "deno_kv") extra.push("--reads", String(opts.kvReads));
    if (job.variant === "aes" || job.variant === "chacha") extra.push("--reads", String(opts.encryptedReads));
    const keepDir = `${ROOT}/bench/.data/keep-${job.engine}-${job.runtime}`;
    const keep = job.engine === "emdb" && job.variant === "main" && haveHyperfine;
    if (keep) extra.push("--dir", keepDir, "--keep");
    // Let the disk settle first: the previous job just deleted up to a GiB of data, and its
    // writeback and page-cache reclaim would otherwise land on whichever engine runs next.
    await capture("sync", []);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const r = await runJob(job, engineCommand(job, opts.records, extra));
    results.push(r);
    if (keep) {
      if (!r.error) {
        const db = `${keepDir}/bench.emdb`;
        const rt = job.runtime === "deno" ? "node_modules/.bin/deno run -A" : "node_modules/.bin/bun";
        const label = `emdb/${job.runtime}`;
        hyperfineRows.push(
          ...(await hyperfine(`open the benchmark database (${label})`, [
            { name: `${label}: process start + import emdb (baseline)`, cmd: `${rt} bench/open_db.ts ${db} import` },
            { name: `${label}: open from checkpoint + close`, cmd: `${rt} bench/open_db.ts ${db} checkpoint` },
            { name: `${label}: open by full replay + close`, cmd: `${rt} bench/open_db.ts ${db} replay` },
          ], 10)),
        );
      }
      await Deno.remove(keepDir, { recursive: true }).catch(() => {});
    }
  }
  if (
    haveHyperfine && jobs.some((j) => j.engine === "emdb") && (await Deno.stat(`${ROOT}/demo.ts`).catch(() => null))
  ) {
    hyperfineRows.push(
      ...(await hyperfine("the demo", [
        { name: "demo (deno)", cmd: "node_modules/.bin/deno run --allow-all demo.ts" },
        { name: "demo (bun)", cmd: "node_modules/.bin/bun demo.ts" },
      ], 10)),
    );
  }

  const indexMemory: RunReport["indexMemory"] = [];
  if (jobs.some((j) => j.engine === "emdb")) {
    for (const rt of ["deno", "bun"] as const) {
      const cmd = rt === "deno"
        ? [`${BIN}/deno`, "run", "-A", `${ROOT}/bench/index_memory.ts`, "--records", "1000000"]
        : [`${BIN}/bun`, `${ROOT}/bench/index_memory.ts`, "--records", "1000000"];
      console.error(`\n=== index memory (${rt})`);
      const o = await new Deno.Command(cmd[0]!, { args: cmd.slice(1), cwd: ROOT, stdout: "piped", stderr: "inherit" })
        .output();
      const text = new TextDecoder().decode(o.stdout);
      console.error(text.trim());
      const line = text.split("\n").find((l) => l.startsWith("{"));
      indexMemory.push(
        line ? { runtime: rt, ...JSON.parse(line) } : { runtime: rt, error: `exit code ${o.code}` },
      );
    }
  }

  const report: RunReport = {
    startedAt,
    finishedAt: new Date().toISOString(),
    command: Deno.env.get("EMDB_BENCH_COMMAND") ?? `deno run -A bench/run.ts ${Deno.args.join(" ")}`.trim(),
    records: opts.records,
    counts: streamCounts(opts.records),
    kvReads: opts.kvReads,
    machine: { ...(await machine()), loadStart, loadEnd: await loadAverage() },
    results,
    hyperfine: hyperfineRows,
    hyperfineNotes,
    indexMemory,
  };
  const md = renderMarkdown(report);
  console.log("\n" + md);
  await Deno.mkdir(opts.out, { recursive: true });
  await Deno.writeTextFile(`${opts.out}/latest.md`, md);
  await Deno.writeTextFile(`${opts.out}/latest.json`, JSON.stringify(report, null, 2) + "\n");
  console.error(`\nwrote ${opts.out}/latest.md and ${opts.out}/latest.json`);
  const failed = results.filter((r) => r.error);
  const complete = opts.records === 1_000_000 && jobs.length === MATRIX.length && failed.length === 0;
  if (opts.readme && complete) {
    await updateReadme(`${ROOT}/README.md`, report);
    console.error(`refreshed the table block of ${ROOT}/README.md`);
  } else if (opts.readme) {
    console.error("README.md left as it was: only a complete run at 1,000,000 records refreshes its table.");
  }
  if (failed.length) {
    console.error(
      `${failed.length} engine run(s) failed: ${
        failed.map((r) => `${r.engine}${r.variant && r.variant !== "main" ? `-${r.variant}` : ""}/${r.runtime}`).join(
          ", ",
        )
      }`,
    );
    Deno.exit(1);
  }
}

await main();
