/** `bun:sqlite` driver (Bun only); see `sqlite_common.ts`. @module */
import { type SqlDb, SqliteEngine } from "./sqlite_common.ts";

// A non-literal specifier, so that `deno check bench/` does not try to resolve `bun:sqlite`.
const BUN_SQLITE = "bun:sqlite";
const { Database } = await import(BUN_SQLITE);

export default class BunSqliteEngine extends SqliteEngine {
  constructor() {
    super("bun:sqlite", (path) => new Database(path) as SqlDb);
  }
}
