/**
 * emdb index memory per key: inserts N (default 1,000,000) random 24-byte keys with
 * 150-byte values from the benchmark PRNG into a fresh database and prints
 * `stats().indexBytes / liveRecords` (the typed-array hash index, outside the GC heap),
 * plus the process RSS growth for context (RSS also counts the pre-generated keys and
 * the journal's mapped pages, so it is an upper bound, not the index size).
 *
 *   deno run -A --v8-flags=--expose-gc bench/index_memory.ts [--records N]
 *   bun bench/index_memory.ts [--records N]
 *
 * @module
 */

import { mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Emdb } from "../mod.ts";
import { Stream } from "./workload.ts";

// deno-lint-ignore no-explicit-any
const G = globalThis as any;
const isBun = typeof G.Bun !== "undefined";
const args: string[] = isBun ? G.process.argv.slice(2) : G.Deno.args;
const i = args.indexOf("--records");
const N = i >= 0 ? Number(args[i + 1]) : 1_000_000;
const rss = (): number => G.process.memoryUsage().rss;

const dir = `${dirname(fileURLToPath(import.meta.url))}/.data/index-memory-${isBun ? "bun" : "deno"}-${G.process.pid}`;
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
try {
  const stream = new Stream(N);
  const chunks = [];
  for (let c = 0; c < N; c += 50_000) chunks.push(stream.pairs(c, Math.min(N, c + 50_000)));
  const rssBefore = rss();
  const db = Emdb.open(`${dir}/index.emdb`);
  for (const chunk of chunks) db.setMany(chunk);
  db.flush();
  const st = db.stats();
  const rssAfter = rss();
  db.close();
  const result = {
    runtime: isBun ? `bun ${G.Bun.version}` : `deno ${G.Deno.version.deno}`,
    keys: st.liveRecords,
    keyBytes: 24,
    indexBytes: st.indexBytes,
    indexBytesPerKey: st.indexBytes / st.liveRecords,
    statsIndexBytesPerKey: st.indexBytesPerKey,
    rssGrowthBytesPerKey: (rssAfter - rssBefore) / st.liveRecords,
  };
  console.log(
    `emdb index memory (${result.runtime}): ${result.indexBytesPerKey.toFixed(2)} B/key ` +
      `(${result.indexBytes.toLocaleString("en-US")} B for ${result.keys.toLocaleString("en-US")} keys of 24 B); ` +
      `process RSS grew ${result.rssGrowthBytesPerKey.toFixed(1)} B/key (includes mapped journal pages)`,
  );
  console.log(JSON.stringify(result));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
