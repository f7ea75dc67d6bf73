/**
 * The SQLite driver shared by `bun:sqlite` (Bun) and `node:sqlite` (Deno): one
 * `(key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID` table, WAL, prepared statements,
 * `synchronous=FULL` for the durable phases and `OFF` for the nosync phase,
 * a 256 MiB page cache (`cache_size=-262144`; the 2 MiB default would make the
 * random-key B-tree inserts re-read pages through syscalls), compaction = `VACUUM`.
 * - bulk: one transaction per 50,000-record chunk (each COMMIT is durable under FULL);
 * - individual: one autocommit `INSERT` (one WAL commit + fsync) per write;
 * - batch: BEGIN, 1,000 INSERTs, COMMIT;
 * - nosync: `synchronous=OFF`, one autocommit INSERT per record; batched nosync: one
 *   transaction of 50,000;
 * - reads: prepared `SELECT value FROM kv WHERE key = ?` `.get`;
 * - removals: one transaction per 50,000 DELETEs;
 * - iteration: `SELECT key FROM kv ORDER BY key` through `iterate()`; ranges: `SELECT key, value
 *   FROM kv WHERE key >= ? AND key < ? ORDER BY key LIMIT ?` through `all()` (faster than
 *   `iterate()` for 10 and for 10,000 rows);
 * - transactions: BEGIN, 10 × (SELECT value + INSERT OR REPLACE), COMMIT, under
 *   `synchronous=NORMAL` (a WAL commit without fsync) and `FULL` for the last one, whose WAL
 *   fsync makes every earlier commit durable too: one durable flush at the end. The one
 *   connection holds the write lock from the first INSERT, so the reads need no version check.
 *
 * @module
 */

import type { Pair } from "../workload.ts";
import type { Engine, EntrySink, OpenMode } from "./types.ts";

/** The subset of bun:sqlite `Database` / node:sqlite `DatabaseSync` used here. */
export interface SqlDb {
  exec(sql: string): unknown;
  prepare(sql: string): SqlStmt;
  close(): unknown;
}
export interface SqlStmt {
  run(...args: unknown[]): unknown;
  get(...args: unknown[]): unknown;
  all(...args: unknown[]): unknown[];
  iterate(...args: unknown[]): IterableIterator<unknown>;
}

type Row = { key: Uint8Array; value: Uint8Array };

const CHUNK = 50_000;

export class SqliteEngine implements Engine {
  readonly asyncGet = false;
  readonly hasReplay = false;
  readonly notes: string[];
  private db!: SqlDb;
  private path = "";
  private ins!: SqlStmt;
  private sel!: SqlStmt;
  private del!: SqlStmt;
  private begin!: SqlStmt;
  private commit!: SqlStmt;
  private scanKeys!: SqlStmt;
  private rangeBetween!: SqlStmt;
  private rangeFrom!: SqlStmt;

  constructor(readonly name: string, private readonly openDb: (path: string) => SqlDb) {
    this.notes = [
      `${name}: WITHOUT ROWID table, WAL, prepared statements, cache_size 256 MiB; synchronous=FULL ` +
      "for durable phases (bulk = one txn per 50,000; individual = autocommit INSERT; batch = one txn of 1,000), " +
      "OFF for nosync (autocommit INSERT each; batched nosync = one txn of 50,000); removals = one txn per 50,000 " +
      "DELETEs; compaction = VACUUM. Size = db + -wal + -shm after close. Iteration = SELECT key … ORDER BY key " +
      "(iterate()); ranges = SELECT key, value … WHERE key >= ? AND key < ? ORDER BY key LIMIT ? (all()); " +
      "transactions = BEGIN, 10 × (SELECT + INSERT OR REPLACE), COMMIT under synchronous=NORMAL, FULL for the " +
      "last (its WAL fsync makes all durable).",
    ];
  }

  open(dir: string, _mode: OpenMode): void {
    this.path = `${dir}/bench.sqlite`;
    const db = this.openDb(this.path);
    db.exec("PRAGMA journal_mode=WAL");
    db.exec("PRAGMA synchronous=FULL");
    db.exec("PRAGMA cache_size=-262144");
    db.exec("CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID");
    this.db = db;
    this.ins = db.prepare("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)");
    this.sel = db.prepare("SELECT value FROM kv WHERE key = ?");
    this.del = db.prepare("DELETE FROM kv WHERE key = ?");
    this.begin = db.prepare("BEGIN");
    this.commit = db.prepare("COMMIT");
    this.scanKeys = db.prepare("SELECT key FROM kv ORDER BY key");
    this.rangeBetween = db.prepare("SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key LIMIT ?");
    this.rangeFrom = db.prepare("SELECT key, value FROM kv WHERE key >= ? ORDER BY key LIMIT ?");
  }
  private txnInsert(pairs: Pair[]): void {
    const ins = this.ins;
    this.begin.run();
    for (let i = 0; i < pairs.length; i++) ins.run(pairs[i]![0], pairs[i]![1]);
    this.commit.run();
  }
  bulkChunk(pairs: Pair[]): void {
    this.txnInsert(pairs);
  }
  sync(): void {
    // Every COMMIT under synchronous=FULL in WAL mode already fsyncs the WAL.
  }
  putDurable(key: Uint8Array, value: Uint8Array): void {
    this.ins.run(key, value);
  }
  batchDurable(pairs: Pair[]): void {
    this.txnInsert(pairs);
  }
  beginNoSync(): void {
    this.db.exec("PRAGMA synchronous=OFF");
  }
  putNoSync(key: Uint8Array, value: Uint8Array): void {
    this.ins.run(key, value);
  }
  settleNoSync(): void {}
  batchNoSync(pairs: Pair[]): void {
    this.txnInsert(pairs);
  }
  endNoSync(): void {
    this.db.exec("PRAGMA synchronous=FULL");
    this.db.exec("PRAGMA wal_checkpoint(FULL)");
  }
  get(key: Uint8Array): Uint8Array | undefined {
    const row = this.sel.get(key) as { value: Uint8Array } | null | undefined;
    return row ? row.value : undefined;
  }
  iterateKeys(sink: (key: Uint8Array) => void, limit: number): void {
    let n = 0;
    for (const row of this.scanKeys.iterate()) {
      if (n++ === limit) break;
      sink((row as Row).key);
    }
  }
  range(start: Uint8Array, end: Uint8Array | undefined, _prefix: boolean, limit: number, sink: EntrySink): void {
    const rows = (end ? this.rangeBetween.all(start, end, limit) : this.rangeFrom.all(start, limit)) as Row[];
    for (let i = 0; i < rows.length; i++) sink(rows[i]!.key, rows[i]!.value);
  }
  beginTransactions(): void {
    this.db.exec("PRAGMA synchronous=NORMAL");
  }
  transaction(
    keys: Uint8Array[],
    values: Uint8Array[],
    last: boolean,
    onRead: (value: Uint8Array | undefined) => void,
  ): void {
    if (last) this.db.exec("PRAGMA synchronous=FULL");
    const sel = this.sel;
    const ins = this.ins;
    this.begin.run();
    for (let i = 0; i < keys.length; i++) {
      const row = sel.get(keys[i]) as Row | null | undefined;
      onRead(row ? row.value : undefined);
      ins.run(keys[i], values[i]);
    }
    this.commit.run();
  }
  removeAll(keys: Uint8Array[]): void {
    const del = this.del;
    for (let c = 0; c < keys.length; c += CHUNK) {
      const end = Math.min(keys.length, c + CHUNK);
      this.begin.run();
      for (let i = c; i < end; i++) del.run(keys[i]);
      this.commit.run();
    }
  }
  compact(): boolean {
    this.db.exec("VACUUM");
    return true;
  }
  close(): void {
    this.db.close();
  }
  files(): string[] {
    return [this.path, `${this.path}-wal`, `${this.path}-shm`];
  }
}
