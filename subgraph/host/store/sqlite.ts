// The embedded default store: one SQLite file (node:sqlite, WAL) per subgraph. Reads are synchronous by nature, so
// the runtime's block reads go straight to prepared statements; commits are grouped by the versioned store and
// written in one transaction each.
//
// Durability: WAL with synchronous=NORMAL by default — a committed block survives a crash of the process; after a
// power loss the last blocks may be missing, consistently (entities and head together), and are indexed again.
// `synchronous: "full"` makes every commit survive power loss too, at the cost of an fsync per transaction.
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { EntityField, EntityType, SubgraphSchema } from "../schema.ts";
import type { StoreBackend } from "./backend.ts";
import type { FlushPlan } from "./changes.ts";
import type { QueryableStore } from "./query.ts";
import { SqliteReader } from "./sqlite-reader.ts";
import {
  BLOCKS_TABLE,
  DATA_SOURCES_TABLE,
  LAYOUT_VERSION,
  META_TABLE,
  indexName,
  indexedFields,
  quote,
} from "./sql/layout.ts";
import { fromSqlite, listElement, sqliteColumnType, toSqlite, type SqliteValue } from "./sql/sqlite-codec.ts";
import type { BlockPtr, DynamicDataSource, Entity, IndexingError } from "./types.ts";
import { entityFromJson, entityToJson, hexToBytes } from "./values.ts";
import { VersionedStore, type VersionedStoreOptions } from "./versioned.ts";

export interface SqliteStoreOptions extends VersionedStoreOptions {
  /** The database file (created with its folder when missing), or ":memory:". */
  file: string;
  schema: SubgraphSchema;
  /** "normal" (default): durable across process crashes; "full": across power loss as well. */
  synchronous?: "normal" | "full";
  /** Blocks without changes older than this many blocks below the head are forgotten (default 1000). */
  keepBlocks?: number;
}

const OPTIMIZE_EVERY_ROWS = 50_000;

export class SqliteStore extends VersionedStore implements QueryableStore {
  /** The query side (GraphQL) over the same connection. */
  readonly reader: SqliteReader;

  constructor(backend: SqliteBackend, head: number | null, options: VersionedStoreOptions) {
    super(backend, head, options);
    this.reader = new SqliteReader(backend.db, backend.schema, backend);
  }
}

export async function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  if (options.file !== ":memory:") mkdirSync(path.dirname(path.resolve(options.file)), { recursive: true });
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(options.file);
  } catch (error) {
    throw new Error(`cannot open the SQLite database ${options.file}: ${(error as Error).message}`);
  }
  try {
    const backend = new SqliteBackend(db, options);
    const head = await backend.head();
    return new SqliteStore(backend, head?.number ?? null, options);
  } catch (error) {
    db.close();
    throw error;
  }
}

interface TableStatements {
  entity: EntityType;
  columns: readonly EntityField[];
  selectCurrent: StatementSync;
  close: StatementSync;
  insert: StatementSync;
  related: Map<string, StatementSync>;
  revertDelete: StatementSync;
  revertReopen: StatementSync;
}

export class SqliteBackend implements StoreBackend {
  readonly schema: SubgraphSchema;
  readonly db: DatabaseSync;
  readonly #tables = new Map<string, TableStatements>();
  readonly #keepBlocks: number;
  #prunedBelow = 0;
  /** Rows written since the planner's statistics were last refreshed. */
  #rowsSinceOptimize = 0;
  readonly #stmt: Record<string, StatementSync>;

  constructor(db: DatabaseSync, options: SqliteStoreOptions) {
    this.db = db;
    this.schema = options.schema;
    this.#keepBlocks = options.keepBlocks ?? 1000;
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(`PRAGMA synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`);
    db.exec("PRAGMA busy_timeout = 5000");
    // Queries read many rows at random: keep more pages in memory (64 MiB) and map the file.
    db.exec("PRAGMA cache_size = -65536");
    db.exec("PRAGMA mmap_size = 268435456");
    db.exec("PRAGMA temp_store = MEMORY");
    db.exec("PRAGMA analysis_limit = 1000");
    db.exec("PRAGMA optimize = 0x10002");
    db.exec("PRAGMA foreign_keys = OFF");
    this.#createOrCheck();
    for (const entity of this.schema.entities.values()) this.#tables.set(entity.name, this.#prepareTable(entity));
    this.#stmt = {
      head: db.prepare(`SELECT number, hash, parent_hash, timestamp FROM ${BLOCKS_TABLE} ORDER BY number DESC LIMIT 1`),
      block: db.prepare(`SELECT number, hash, parent_hash, timestamp FROM ${BLOCKS_TABLE} WHERE number = ?`),
      blockByHash: db.prepare(`SELECT number, hash, parent_hash, timestamp FROM ${BLOCKS_TABLE} WHERE hash = ?`),
      insertBlock: db.prepare(
        `INSERT OR REPLACE INTO ${BLOCKS_TABLE} (number, hash, parent_hash, timestamp, changed) VALUES (?, ?, ?, ?, ?)`,
      ),
      prune: db.prepare(`DELETE FROM ${BLOCKS_TABLE} WHERE number >= ? AND number < ? AND changed = 0`),
      insertDataSource: db.prepare(
        `INSERT INTO ${DATA_SOURCES_TABLE} (template, address, context, created_at_block) VALUES (?, ?, ?, ?)`,
      ),
      dataSources: db.prepare(`SELECT template, address, context, created_at_block FROM ${DATA_SOURCES_TABLE} ORDER BY vid`),
      getMeta: db.prepare(`SELECT value FROM ${META_TABLE} WHERE key = ?`),
      setMeta: db.prepare(`INSERT OR REPLACE INTO ${META_TABLE} (key, value) VALUES (?, ?)`),
      deleteMeta: db.prepare(`DELETE FROM ${META_TABLE} WHERE key = ?`),
      revertBlocks: db.prepare(`DELETE FROM ${BLOCKS_TABLE} WHERE number > ?`),
      revertDataSources: db.prepare(`DELETE FROM ${DATA_SOURCES_TABLE} WHERE created_at_block > ?`),
    };
    const head = this.#stmt.head!.get() as { number: number } | undefined;
    if (head) this.#prunedBelow = Math.max(0, Number(head.number) - this.#keepBlocks);
  }

  #createOrCheck(): void {
    const exists = this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(META_TABLE);
    if (exists) {
      const get = this.db.prepare(`SELECT value FROM ${META_TABLE} WHERE key = ?`);
      const layout = (get.get("layout") as { value: string } | undefined)?.value;
      const fingerprint = (get.get("schema") as { value: string } | undefined)?.value;
      if (layout !== LAYOUT_VERSION) {
        throw new Error(`this database was written by another store layout (${layout ?? "none"}, expected ${LAYOUT_VERSION}); index into a new database`);
      }
      if (fingerprint !== this.schema.fingerprint) {
        throw new Error("this database holds a subgraph with a different schema.graphql; index into a new database (or delete this one)");
      }
      return;
    }
    this.db.exec("BEGIN");
    try {
      for (const sql of sqliteDdl(this.schema)) this.db.exec(sql);
      const set = this.db.prepare(`INSERT INTO ${META_TABLE} (key, value) VALUES (?, ?)`);
      set.run("layout", LAYOUT_VERSION);
      set.run("schema", this.schema.fingerprint);
      this.db.exec("COMMIT");
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
  }

  #prepareTable(entity: EntityType): TableStatements {
    const table = quote(entity.name);
    const columns = entity.stored;
    const list = columns.map((f) => quote(f.name)).join(", ");
    const selectCurrent = this.db.prepare(`SELECT ${list} FROM ${table} WHERE "id" = ? AND block_to IS NULL`);
    selectCurrent.setReadBigInts(true);
    const related = new Map<string, StatementSync>();
    for (const field of columns) {
      if (field.base !== "entity") continue;
      const where = field.list
        ? `EXISTS (SELECT 1 FROM json_each(${quote(field.name)}) WHERE value = ?)`
        : `${quote(field.name)} = ?`;
      const stmt = this.db.prepare(`SELECT ${list} FROM ${table} WHERE ${where} AND block_to IS NULL ORDER BY "id"`);
      stmt.setReadBigInts(true);
      related.set(field.name, stmt);
    }
    return {
      entity,
      columns,
      selectCurrent,
      related,
      close: this.db.prepare(`UPDATE ${table} SET block_to = ? WHERE "id" = ? AND block_to IS NULL`),
      insert: this.db.prepare(
        `INSERT INTO ${table} (${list}, block_from, block_to) VALUES (${columns.map(() => "?").join(", ")}, ?, ?)`,
      ),
      revertDelete: this.db.prepare(`DELETE FROM ${table} WHERE block_from > ?`),
      revertReopen: this.db.prepare(`UPDATE ${table} SET block_to = NULL WHERE block_to > ?`),
    };
  }

  readCurrent(entity: EntityType, key: string): Entity | null {
    const t = this.#tables.get(entity.name)!;
    const row = t.selectCurrent.all(idParam(entity, key))[0] as Record<string, unknown> | undefined;
    return row ? rowToEntity(t.columns, row) : null;
  }

  readRelated(child: EntityType, field: EntityField, parentKey: string): Entity[] {
    const t = this.#tables.get(child.name)!;
    const param = field.list ? listElement(field.kind, keyPayload(field.kind, parentKey)) : idParamOfKind(field.kind, parentKey);
    return (t.related.get(field.name)!.all(param as SqliteValue) as Record<string, unknown>[]).map((row) =>
      rowToEntity(t.columns, row),
    );
  }

  async flush(plan: FlushPlan): Promise<void> {
    const db = this.db;
    db.exec("BEGIN");
    try {
      for (const [type, table] of plan.tables) {
        const t = this.#tables.get(type)!;
        if (!t.entity.immutable) {
          for (const [key, block] of table.close) t.close.run(block, idParam(t.entity, key));
        }
        for (const row of table.insert) {
          const values: SqliteValue[] = t.columns.map((f) => toSqlite(f, row.entity.get(f.name)));
          values.push(row.from, row.to);
          t.insert.run(...values);
        }
      }
      for (const { ptr, changed } of plan.blocks) {
        this.#stmt.insertBlock!.run(ptr.number, ptr.hash, ptr.parentHash, ptr.timestamp, changed ? 1 : 0);
      }
      for (const ds of plan.dataSources) {
        this.#stmt.insertDataSource!.run(ds.template, ds.address, JSON.stringify(entityToJson(ds.context)), ds.createdAtBlock);
      }
      if (this.#stmt.getMeta!.get("first_block") === undefined) {
        this.#stmt.setMeta!.run("first_block", String(plan.blocks[0]!.ptr.number));
      }
      const pruneBelow = plan.head.number - this.#keepBlocks;
      if (pruneBelow > this.#prunedBelow) {
        this.#stmt.prune!.run(this.#prunedBelow, pruneBelow);
        this.#prunedBelow = pruneBelow;
      }
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
    for (const table of plan.tables.values()) this.#rowsSinceOptimize += table.insert.length;
    if (this.#rowsSinceOptimize >= OPTIMIZE_EVERY_ROWS) {
      // Fresh statistics let the planner pick the right index for filtered and ordered queries; bounded cost.
      this.#rowsSinceOptimize = 0;
      db.exec("PRAGMA optimize");
    }
  }

  async head(): Promise<BlockPtr | null> {
    return toBlock(this.#stmt.head!.get());
  }

  async block(number: number): Promise<BlockPtr | null> {
    return toBlock(this.#stmt.block!.get(number));
  }

  blockByHash(hash: string): BlockPtr | null {
    return toBlock(this.#stmt.blockByHash!.get(hash.toLowerCase()));
  }

  async revertTo(number: number): Promise<BlockPtr | null> {
    const head = await this.head();
    if (!head || number >= head.number) return head;
    const target = await this.block(number);
    const first = Number((this.#stmt.getMeta!.get("first_block") as { value: string } | undefined)?.value ?? NaN);
    if (!target && !(number < first)) {
      throw new Error(`cannot revert to block ${number}: the store no longer remembers it (it keeps ${this.#keepBlocks} blocks below the head); index into a new database`);
    }
    this.db.exec("BEGIN");
    try {
      for (const t of this.#tables.values()) {
        t.revertDelete.run(number);
        t.revertReopen.run(number);
      }
      this.#stmt.revertBlocks!.run(number);
      this.#stmt.revertDataSources!.run(number);
      if (!target) this.#stmt.deleteMeta!.run("first_block");
      this.db.exec("COMMIT");
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
    this.#prunedBelow = Math.min(this.#prunedBelow, Math.max(0, number - this.#keepBlocks));
    return target;
  }

  async dataSources(): Promise<DynamicDataSource[]> {
    return (this.#stmt.dataSources!.all() as Record<string, unknown>[]).map((row) => ({
      template: row.template as string,
      address: row.address as string,
      context: entityFromJson(JSON.parse(row.context as string)),
      createdAtBlock: Number(row.created_at_block),
    }));
  }

  async setFailure(error: IndexingError | null): Promise<void> {
    if (error) this.#stmt.setMeta!.run("failure", JSON.stringify(error));
    else this.#stmt.deleteMeta!.run("failure");
  }

  async failure(): Promise<IndexingError | null> {
    const row = this.#stmt.getMeta!.get("failure") as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as IndexingError) : null;
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }
}

export function sqliteDdl(schema: SubgraphSchema): string[] {
  const ddl: string[] = [
    `CREATE TABLE ${META_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
    `CREATE TABLE ${BLOCKS_TABLE} (number INTEGER PRIMARY KEY, hash TEXT NOT NULL, parent_hash TEXT NOT NULL, timestamp INTEGER NOT NULL, changed INTEGER NOT NULL)`,
    `CREATE INDEX ${quote(indexName(BLOCKS_TABLE, "hash"))} ON ${BLOCKS_TABLE} (hash)`,
    `CREATE TABLE ${DATA_SOURCES_TABLE} (vid INTEGER PRIMARY KEY, template TEXT NOT NULL, address TEXT NOT NULL, context TEXT NOT NULL, created_at_block INTEGER NOT NULL)`,
  ];
  for (const entity of schema.entities.values()) {
    const table = quote(entity.name);
    const columns = entity.stored.map((f) => `${quote(f.name)} ${sqliteColumnType(f)}${f.name === "id" ? " NOT NULL" : ""}`);
    ddl.push(`CREATE TABLE ${table} (vid INTEGER PRIMARY KEY, ${columns.join(", ")}, block_from INTEGER NOT NULL, block_to INTEGER)`);
    // One current version per id; lookups of the current version use it.
    ddl.push(`CREATE UNIQUE INDEX ${quote(indexName(entity.name, "current"))} ON ${table} ("id") WHERE block_to IS NULL`);
    // Time travel by id, reverts and `_change_block` filters.
    ddl.push(`CREATE INDEX ${quote(indexName(entity.name, "id"))} ON ${table} ("id", block_from)`);
    ddl.push(`CREATE INDEX ${quote(indexName(entity.name, "from"))} ON ${table} (block_from)`);
    if (!entity.immutable) ddl.push(`CREATE INDEX ${quote(indexName(entity.name, "to"))} ON ${table} (block_to) WHERE block_to IS NOT NULL`);
    // Filters and ordering on attributes and references, with the id as tie-breaker.
    for (const field of indexedFields(entity)) {
      ddl.push(`CREATE INDEX ${quote(indexName(entity.name, field.name))} ON ${table} (${quote(field.name)}, "id")`);
    }
  }
  return ddl;
}

function rowToEntity(columns: readonly EntityField[], row: Record<string, unknown>): Entity {
  const entity: Entity = new Map();
  for (const field of columns) {
    const value = fromSqlite(field, row[field.name]);
    if (value !== undefined) entity.set(field.name, value);
  }
  return entity;
}

function idParam(entity: EntityType, key: string): SqliteValue {
  return idParamOfKind(entity.idKind, key);
}

function idParamOfKind(kind: string, key: string): SqliteValue {
  if (kind === "Bytes") return hexToBytes(key)!;
  if (kind === "Int8") return BigInt(key);
  return key;
}

function keyPayload(kind: string, key: string): unknown {
  if (kind === "Bytes") return hexToBytes(key)!;
  if (kind === "Int8") return BigInt(key);
  return key;
}

function toBlock(row: unknown): BlockPtr | null {
  if (!row) return null;
  const r = row as Record<string, unknown>;
  return { number: Number(r.number), hash: r.hash as string, parentHash: r.parent_hash as string, timestamp: Number(r.timestamp) };
}
