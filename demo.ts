/**
 * The main job, on the embedded default: opens the default database
 * (`$XDG_DATA_HOME/emdb/emdb-default.emdb`, or the OS equivalent), writes a
 * records, a batch, a namespace, a record with a TTL and a transaction, reads
 * them back, checks them, compacts when half the journal is garbage, and prints
 * the stats.
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
const checks: string[] = [];
const expect = (what: string, ok: boolean) => ok || checks.push(what);

// Plain records and one all-or-nothing batch (the same 1,000 keys every run).
db.set("demo:last-run", run);
db.setMany(Array.from({ length: 1000 }, (_, i) => [`demo:item:${i}`, `value ${i} of ${run}`] as const));
db.delete("demo:item:999");

// A namespace, a record with a time to live, a transaction with a version check.
const sessions = db.namespace("demo-sessions");
sessions.set(run, "signed in", { ttl: 60_000 });
const runs = db.transaction((tx) => {
  const n = Number(tx.getString("demo:runs") ?? "0") + 1;
  tx.set("demo:runs", String(n));
  return n;
});
const entry = db.getEntry("demo:runs")!;
const stale = db.atomic().check({ key: "demo:runs", version: entry.version - 1 }).set("demo:runs", "0").commit();
db.flush(); // one fdatasync: everything above is durable

// Read back: every value, an ordered page, the conflict, the expiry.
for (let i = 0; i < 999; i++) expect(`item ${i}`, db.getString(`demo:item:${i}`) === `value ${i} of ${run}`);
expect("last-run", db.getString("demo:last-run") === run && !db.has("demo:item:999"));
const page = [...db.rangeKeys({ prefix: "demo:item:", limit: 3 })];
expect("range", page.join() === "demo:item:0,demo:item:1,demo:item:10");
expect("conflict", !stale.ok && db.getString("demo:runs") === String(runs));
expect("ttl", sessions.getString(run) === "signed in" && (sessions.ttl(run) ?? 0) > 59_000);

// Each run rewrites the same keys: compact when the garbage outweighs the data.
let compacted = "";
if (db.stats().garbageRatio > 0.5) {
  const c = db.compactSync();
  compacted = ` (compacted ${c.bytesBefore} → ${c.bytesAfter} bytes)`;
}
sessions.sweepExpired();

const s = db.stats();
console.log(`emdb demo (${runtime})`);
console.log(`  database        ${db.path}`);
console.log(`  opened from     ${s.openedFrom} in ${opened.toFixed(1)} ms`);
console.log(
  `  read back       ${checks.length === 0 ? "all records, the range, the conflict and the TTL correct" : "MISMATCH"}`,
);
console.log(`  runs so far     ${runs}`);
console.log(`  live records    ${s.liveRecords} in ${s.namespaceCount + 1} namespaces`);
console.log(`  journal         ${s.logicalSizeBytes} bytes of data, ${s.fileSizeBytes} bytes on disk${compacted}`);
console.log(`  index           ${s.indexBytes} bytes (${s.indexBytesPerKey.toFixed(1)} per key)`);
if (checks.length > 0) throw new Error(`demo read-back mismatch: ${checks.join(", ")}`);
