/**
 * The main job, on the embedded default: opens the default database
 * (`$XDG_DATA_HOME/emdb/emdb-default.emdb`, or the OS equivalent), writes a
 * few records and a batch, reads them back, checks them, and prints the stats.
 *
 * Run with `deno run --allow-ffi --allow-env --allow-read --allow-write demo.ts` or
 * `bun demo.ts` (`npm run demo` runs both). README "The demo's database" says where
 * the database lives and how to remove it.
 *
 * @module
 */
import { Emdb } from "./mod.ts";

const runtime = "Bun" in globalThis ? "bun" : "deno";
const started = performance.now();
using db = Emdb.openDefault();
const opened = performance.now() - started;
const run = `${runtime}-${Date.now()}`;

db.set("demo:last-run", run);
db.setMany(Array.from({ length: 1000 }, (_, i) => [`demo:item:${i}`, `value ${i} of ${run}`] as const));
db.delete("demo:item:999");
db.flush();

let ok = db.getString("demo:last-run") === run && !db.has("demo:item:999");
for (let i = 0; i < 999; i++) ok &&= db.getString(`demo:item:${i}`) === `value ${i} of ${run}`;

const s = db.stats();
console.log(`emdb demo (${runtime})`);
console.log(`  database        ${db.path}`);
console.log(`  opened from     ${s.openedFrom} in ${opened.toFixed(1)} ms`);
console.log(`  read back       ${ok ? "all 1,000 records correct" : "MISMATCH"}`);
console.log(`  live records    ${s.liveRecords}`);
console.log(`  journal         ${s.logicalSizeBytes} bytes of data, ${s.fileSizeBytes} bytes on disk`);
console.log(`  index           ${s.indexBytes} bytes (${s.indexBytesPerKey.toFixed(1)} per key)`);
if (!ok) throw new Error("demo read-back mismatch");
