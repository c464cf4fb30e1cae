// The query side of the SQLite store: builds SQL with the shared builder and runs it on the store's connection,
// keeping the prepared statements of recent query shapes.
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { EntityType, SubgraphSchema } from "../schema.ts";
import type { ChildrenQuery, EntityQuery, EntityReader } from "./query.ts";
import { QueryBuilder, type BuiltQuery } from "./sql/query-builder.ts";
import { sqliteDialect } from "./sql/sqlite-dialect.ts";
import { fromSqlite } from "./sql/sqlite-codec.ts";
import type { SqliteBackend } from "./sqlite.ts";
import type { BlockPtr, Entity, IndexingError } from "./types.ts";
import { bytesToHex, idKeyOf } from "./values.ts";

const STATEMENT_CACHE = 256;

export class SqliteReader implements EntityReader {
  readonly schema: SubgraphSchema;
  readonly #db: DatabaseSync;
  readonly #backend: SqliteBackend;
  readonly #builder: QueryBuilder;
  readonly #statements = new Map<string, StatementSync>();

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

  async find(query: EntityQuery): Promise<Entity[]> {
    const built = this.#builder.find(query);
    return this.#rows(built).map((row) => toEntity(built.entity, row, 0));
  }

  async findByIds(type: string, keys: readonly string[], block: number): Promise<Map<string, Entity>> {
    const found = new Map<string, Entity>();
    for (let i = 0; i < keys.length; i += 500) {
      const built = this.#builder.findByIds(type, keys.slice(i, i + 500), block);
      for (const row of this.#rows(built)) {
        const entity = toEntity(built.entity, row, 0);
        found.set(idKeyOf(entity.get("id")!)!, entity);
      }
    }
    return found;
  }

  async findChildren(query: ChildrenQuery): Promise<Map<string, Entity[]>> {
    const found = new Map<string, Entity[]>();
    for (let i = 0; i < query.parentKeys.length; i += 500) {
      const built = this.#builder.children({ ...query, parentKeys: query.parentKeys.slice(i, i + 500) });
      for (const row of this.#rows(built)) {
        const key = keyOf(row[0]);
        let list = found.get(key);
        if (!list) found.set(key, (list = []));
        list.push(toEntity(built.entity, row, 1));
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

function toEntity(entity: EntityType, row: unknown[], offset: number): Entity {
  const result: Entity = new Map();
  entity.stored.forEach((field, i) => {
    const value = fromSqlite(field, row[offset + i]);
    if (value !== undefined) result.set(field.name, value);
  });
  return result;
}

function keyOf(raw: unknown): string {
  if (raw instanceof Uint8Array) return bytesToHex(raw);
  return String(raw);
}
