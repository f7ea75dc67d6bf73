/** `node:sqlite` driver (used under Deno); see `sqlite_common.ts`. @module */
import { type SqlDb, SqliteEngine } from "./sqlite_common.ts";

// A non-literal specifier: the pinned @types/node (20.x) has no `node:sqlite` typings.
const NODE_SQLITE = "node:sqlite";
const { DatabaseSync } = await import(NODE_SQLITE);

export default class NodeSqliteEngine extends SqliteEngine {
  constructor() {
    super("node:sqlite", (path) => new DatabaseSync(path) as SqlDb);
  }
}
