// The query side of the SQLite store: builds SQL with the shared builder and runs it on the store's connection,
// keeping the prepared statements of recent query shapes.
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { SubgraphSchema } from "../schema.ts";
import type { ChildrenQuery, EntityQuery, EntityReader, EntityRow } from "./query.ts";
import { LazyRow, layoutCache } from "./sql/lazy-row.ts";
import { QueryBuilder, type BuiltQuery } from "./sql/query-builder.ts";
import { sqliteDialect } from "./sql/sqlite-dialect.ts";
import { fromSqlite } from "./sql/sqlite-codec.ts";
import type { SqliteBackend } from "./sqlite.ts";
import type { BlockPtr, IndexingError } from "./types.ts";
import { bytesToHex, idKeyOf } from "./values.ts";

const STATEMENT_CACHE = 256;

export class SqliteReader implements EntityReader {
  readonly schema: SubgraphSchema;
  readonly #db: DatabaseSync;
  readonly #backend: SqliteBackend;
  readonly #builder: QueryBuilder;
  readonly #statements = new Map<string, StatementSync>();
  readonly #layout = layoutCache(fromSqlite);

  constructor(db: DatabaseSync, schema: SubgraphSchema, backend: SqliteBackend) {
    this.#db = db;
    this.schema = schema;
    this.#backend = backend;
    this.#builder = new QueryBuilder(schema, sqliteDialect);
  }

  head(): Promise<BlockPtr | null> {
    return this.#backend.head();
  }

  blockByNumber(number: number): Promise<BlockPtr | null> {
    return this.#backend.block(number);
  }

  async blockByHash(hash: string): Promise<BlockPtr | null> {
    return this.#backend.blockByHash(hash);
  }

  failure(): Promise<IndexingError | null> {
    return this.#backend.failure();
  }

  async find(query: EntityQuery): Promise<EntityRow[]> {
    const built = this.#builder.find(query);
    const layout = this.#layout(built.entity);
    return this.#rows(built).map((row) => new LazyRow(layout, row));
  }

  async findByIds(type: string, keys: readonly string[], block: number): Promise<Map<string, EntityRow>> {
    const found = new Map<string, EntityRow>();
    for (let i = 0; i < keys.length; i += 500) {
      const built = this.#builder.findByIds(type, keys.slice(i, i + 500), block);
      const layout = this.#layout(built.entity);
      for (const raw of this.#rows(built)) {
        const row = new LazyRow(layout, raw);
        found.set(idKeyOf(row.get("id")!)!, row);
      }
    }
    return found;
  }

  async findChildren(query: ChildrenQuery): Promise<Map<string, EntityRow[]>> {
    const found = new Map<string, EntityRow[]>();
    // At most 250 parents per statement: the per-parent form is one UNION ALL part each (SQLite allows 500).
    for (let i = 0; i < query.parentKeys.length; i += 250) {
      const built = this.#builder.children({ ...query, parentKeys: query.parentKeys.slice(i, i + 250) });
      const layout = this.#layout(built.entity);
      for (const raw of this.#rows(built)) {
        const key = keyOf(raw[0]);
        let list = found.get(key);
        if (!list) found.set(key, (list = []));
        list.push(new LazyRow(layout, raw, 1));
      }
    }
    return found;
  }

  #rows(built: BuiltQuery): unknown[][] {
    let stmt = this.#statements.get(built.sql);
    if (stmt) {
      this.#statements.delete(built.sql);
    } else {
      stmt = this.#db.prepare(built.sql);
      stmt.setReadBigInts(true);
      stmt.setReturnArrays(true);
      if (this.#statements.size >= STATEMENT_CACHE) this.#statements.delete(this.#statements.keys().next().value!);
    }
    this.#statements.set(built.sql, stmt);
    return stmt.all(...(built.params as never[])) as unknown as unknown[][];
  }
}

function keyOf(raw: unknown): string {
  if (raw instanceof Uint8Array) return bytesToHex(raw);
  return String(raw);
}
