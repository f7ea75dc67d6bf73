/**
 * Writes the README's benchmark block (between `<!-- bench:start -->` and `<!-- bench:end -->`)
 * from a run: the main table, the targets by issue and the hyperfine rows, then formats the
 * README with `deno fmt` (which aligns the tables). `bench/run.ts` calls it after a complete run
 * at 1,000,000 records; by hand, from a saved run:
 *
 *   deno run -A bench/readme.ts [bench/results/latest.json]
 *
 * @module
 */

import { hyperfineTable, type RunReport } from "./report.ts";
import { mainTable } from "./report_table.ts";
import { targetsTable } from "./report_targets.ts";
import { int, Results } from "./report_util.ts";

const START = "<!-- bench:start -->";
const END = "<!-- bench:end -->";

/** The block's markdown (without the markers). */
export function readmeBlock(rep: RunReport): string {
  const res = new Results(rep);
  const minutes = (Date.parse(rep.finishedAt) - Date.parse(rep.startedAt)) / 60000;
  const load = rep.machine.loadStart ? `; load average ${rep.machine.loadStart} at the start` : "";
  const out = [
    `Latest run (emdb benchmark — ${int(rep.records)} records, ${rep.startedAt.slice(0, 10)}, ${
      minutes.toFixed(0)
    } minutes${load}; the full report with the details of rows 7d, 13 and 14 is \`bench/results/latest.md\`):`,
    "",
    ...mainTable(res),
    "",
    "Targets, by issue (ratio = fastest peer's time ÷ emdb's, same runtime; issue 3's reads against lmdb-js):",
    "",
    ...targetsTable(res),
  ];
  if (rep.hyperfine.length) {
    out.push(
      "",
      "Whole processes, timed with hyperfine (the database above at its end state, warm page cache):",
      "",
      ...hyperfineTable(rep).slice(2),
    );
  }
  return out.join("\n");
}

/**
 * Replaces the block in `path` and formats the file.
 *
 * @param path The README.
 * @param rep The run.
 */
export async function updateReadme(path: string, rep: RunReport): Promise<void> {
  // deno-lint-ignore no-explicit-any
  const D = (globalThis as any).Deno;
  const text: string = await D.readTextFile(path);
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${path} has no ${START} … ${END} block`);
  await D.writeTextFile(path, `${text.slice(0, a + START.length)}\n\n${readmeBlock(rep)}\n\n${text.slice(b)}`);
  const deno = new URL("../node_modules/.bin/deno", import.meta.url).pathname;
  const fmt = await new D.Command(deno, { args: ["fmt", "--quiet", path], stdout: "inherit", stderr: "inherit" })
    .output();
  if (!fmt.success) throw new Error(`deno fmt ${path} failed`);
}

if (import.meta.main) {
  // deno-lint-ignore no-explicit-any
  const D = (globalThis as any).Deno;
  const file = D.args[0] ?? new URL("./results/latest.json", import.meta.url).pathname;
  const rep = JSON.parse(await D.readTextFile(file)) as RunReport;
  await updateReadme(new URL("../README.md", import.meta.url).pathname, rep);
  console.log("README.md: benchmark block refreshed");
}
