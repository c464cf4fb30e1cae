// The store for scale: PostgreSQL, one schema per subgraph, same layout and behaviour as the SQLite store.
//
// Block reads must be synchronous (WebAssembly imports cannot await). They go through a write-through cache of
// current entities (filled by reads and by every durable commit, cleared by reverts); a miss is answered
// synchronously by a worker thread that owns its own connection (postgres-sync.ts). Everything asynchronous — commits,
// reverts, GraphQL queries — uses a normal connection pool.
//
// A run of committed blocks is written by one statement (data-modifying CTEs: close the current versions, insert the
// new ones, record the blocks), so a commit costs one round trip. The one-current-version rule is an exclusion
// constraint checked at commit, as the statement's parts run in no fixed order.
import pg from "pg";
import { createHash } from "node:crypto";
import type { EntityField, EntityType, SubgraphSchema } from "../schema.ts";
import type { StoreBackend } from "./backend.ts";
import type { FlushPlan } from "./changes.ts";
import { SyncPostgres } from "./postgres-sync.ts";
import type { ChildrenQuery, EntityQuery, EntityReader, EntityRow, QueryableStore } from "./query.ts";
import { LazyRow, layoutCache } from "./sql/lazy-row.ts";
import { BLOCKS_TABLE, DATA_SOURCES_TABLE, LAYOUT_VERSION, META_TABLE, indexName, indexedFields, quote } from "./sql/layout.ts";
import { CAST_TYPE, exactTypes, fromPostgres, postgresColumnType, postgresScalar, toPostgres } from "./sql/postgres-codec.ts";
import { BYTES_PREFIX, TEXT_PREFIX, postgresDialect, prefixIndexed } from "./sql/postgres-dialect.ts";
import { QueryBuilder, type BuiltQuery } from "./sql/query-builder.ts";
import type { BlockPtr, DynamicDataSource, Entity, IndexingError } from "./types.ts";
import { bytesToHex, entityFromJson, entityToJson, hexToBytes, idKeyOf } from "./values.ts";
import { VersionedStore, type VersionedStoreOptions } from "./versioned.ts";

export interface PostgresStoreOptions extends VersionedStoreOptions {
  /** postgres://user@host:port/database */
  connectionString: string;
  schema: SubgraphSchema;
  /** The PostgreSQL schema holding this subgraph's tables (letters, digits, _; default "subgraph"). */
  pgSchema?: string;
  /** Blocks without changes older than this many blocks below the head are forgotten (default 1000). */
  keepBlocks?: number;
  /** Most current entities kept in memory for block reads (default 100,000). */
  cacheSize?: number;
  /** Connections for commits and GraphQL queries (default 4). */
  poolSize?: number;
}

export class PostgresStore extends VersionedStore implements QueryableStore {
  readonly reader: EntityReader;

  constructor(backend: PostgresBackend, head: number | null, options: VersionedStoreOptions) {
    super(backend, head, options);
    this.reader = new PostgresReader(backend);
  }
}

export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const pgSchema = options.pgSchema ?? "subgraph";
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(pgSchema)) {
    throw new Error(`invalid PostgreSQL schema name ${JSON.stringify(pgSchema)}: use lowercase letters, digits and _`);
  }
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.poolSize ?? 4, types: exactTypes });
  pool.on("error", () => {});
  try {
    await pool.query("SELECT 1");
  } catch (error) {
    await pool.end().catch(() => {});
    throw new Error(`cannot connect to PostgreSQL at ${redact(options.connectionString)}: ${(error as Error).message}`);
  }
  let sync: SyncPostgres | undefined;
  try {
    await createOrCheck(pool, options.schema, pgSchema);
    sync = SyncPostgres.open({ connectionString: options.connectionString });
    const backend = new PostgresBackend(pool, sync, options, pgSchema);
    const head = await backend.head();
    backend.startPruningFrom(head);
    return new PostgresStore(backend, head?.number ?? null, options);
  } catch (error) {
    await sync?.close();
    await pool.end().catch(() => {});
    throw error;
  }
}

async function createOrCheck(pool: pg.Pool, schema: SubgraphSchema, pgSchema: string): Promise<void> {
  const s = quote(pgSchema);
  const client = await pool.connect();
  try {
    // Two stores opening the same schema at once must not both create it.
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`modelshare-subgraph:${pgSchema}`]);
    const exists = await client.query("SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2", [
      pgSchema,
      META_TABLE,
    ]);
    if (exists.rowCount) {
      const meta = new Map(
        (await client.query(`SELECT key, value FROM ${s}.${META_TABLE} WHERE key IN ('layout', 'schema')`)).rows.map((r) => [
          r.key as string,
          r.value as string,
        ]),
      );
      await client.query("COMMIT");
      if (meta.get("layout") !== LAYOUT_VERSION) {
        throw new Error(`PostgreSQL schema ${pgSchema} was written by another store layout; index into a new schema`);
      }
      if (meta.get("schema") !== schema.fingerprint) {
        throw new Error(`PostgreSQL schema ${pgSchema} holds a subgraph with a different schema.graphql; index into a new schema (or drop it)`);
      }
      return;
    }
    for (const sql of postgresDdl(schema, pgSchema)) await client.query(sql);
    await client.query(`INSERT INTO ${s}.${META_TABLE} (key, value) VALUES ('layout', $1), ('schema', $2)`, [
      LAYOUT_VERSION,
      schema.fingerprint,
    ]);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

export function postgresDdl(schema: SubgraphSchema, pgSchema: string): string[] {
  const s = quote(pgSchema);
  const ddl = [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `CREATE TABLE ${s}.${META_TABLE} (key text PRIMARY KEY, value text NOT NULL)`,
    `CREATE TABLE ${s}.${BLOCKS_TABLE} (number int4 PRIMARY KEY, hash text NOT NULL, parent_hash text NOT NULL, timestamp int8 NOT NULL, changed boolean NOT NULL)`,
    `CREATE INDEX ${quote(indexName(BLOCKS_TABLE, "hash"))} ON ${s}.${BLOCKS_TABLE} (hash)`,
    `CREATE TABLE ${s}.${DATA_SOURCES_TABLE} (vid bigserial PRIMARY KEY, template text NOT NULL, address text NOT NULL, context text NOT NULL, created_at_block int4 NOT NULL)`,
  ];
  for (const entity of schema.entities.values()) {
    const table = `${s}.${quote(entity.name)}`;
    const columns = entity.stored.map((f) => `${quote(f.name)} ${postgresColumnType(f)}${f.name === "id" ? " NOT NULL" : ""}`);
    ddl.push(
      `CREATE TABLE ${table} (vid bigserial PRIMARY KEY, ${columns.join(", ")}, block_from int4 NOT NULL, block_to int4,` +
        ` CONSTRAINT ${quote(indexName(entity.name, "current"))} EXCLUDE USING btree ("id" WITH =) WHERE (block_to IS NULL) DEFERRABLE INITIALLY DEFERRED)`,
    );
    ddl.push(`CREATE INDEX ${quote(indexName(entity.name, "id"))} ON ${table} ("id", block_from)`);
    ddl.push(`CREATE INDEX ${quote(indexName(entity.name, "from"))} ON ${table} (block_from)`);
    if (!entity.immutable) ddl.push(`CREATE INDEX ${quote(indexName(entity.name, "to"))} ON ${table} (block_to) WHERE block_to IS NOT NULL`);
    for (const field of indexedFields(entity)) {
      const column = quote(field.name);
      const key = !prefixIndexed(field)
        ? `${column}, "id"`
        : field.kind === "String"
          ? `left(${column}, ${TEXT_PREFIX})`
          : `substring(${column} from 1 for ${BYTES_PREFIX})`;
      ddl.push(`CREATE INDEX ${quote(indexName(entity.name, field.name))} ON ${table} (${key})`);
    }
  }
  return ddl;
}

/** A statement and its parameters, numbered from $1. */
interface Statement {
  sql: string;
  params: unknown[];
}

const MAX_PARAMS = 60_000;

export class PostgresBackend implements StoreBackend {
  readonly schema: SubgraphSchema;
  readonly pool: pg.Pool;
  readonly pgSchema: string;
  readonly #sync: SyncPostgres;
  readonly #s: string;
  readonly #keepBlocks: number;
  readonly #cacheSize: number;
  /** Current committed entities by type and key (null: known absent), most recently used last. */
  readonly #cache = new Map<string, Entity | null>();
  readonly #selectCurrent = new Map<string, { sql: string; name: string }>();
  #prunedBelow = 0;
  /** Rows inserted per table since its statistics were refreshed, and the size they were refreshed at. */
  readonly #analyzed = new Map<string, { since: number; at: number }>();

  constructor(pool: pg.Pool, sync: SyncPostgres, options: PostgresStoreOptions, pgSchema: string) {
    this.pool = pool;
    this.#sync = sync;
    this.schema = options.schema;
    this.pgSchema = pgSchema;
    this.#s = quote(pgSchema);
    this.#keepBlocks = options.keepBlocks ?? 1000;
    this.#cacheSize = options.cacheSize ?? 100_000;
    for (const entity of this.schema.entities.values()) {
      const sql = `SELECT ${columnList(entity)} FROM ${this.table(entity.name)} WHERE "id" = $1 AND block_to IS NULL`;
      this.#selectCurrent.set(entity.name, { sql, name: statementName(sql) });
    }
  }

  table(entity: string): string {
    return `${this.#s}.${quote(entity)}`;
  }

  startPruningFrom(head: BlockPtr | null): void {
    if (head) this.#prunedBelow = Math.max(0, head.number - this.#keepBlocks);
  }

  readCurrent(entity: EntityType, key: string): Entity | null {
    const cacheKey = `${entity.name}\u0000${key}`;
    const cached = this.#cache.get(cacheKey);
    if (cached !== undefined) {
      this.#cache.delete(cacheKey);
      this.#cache.set(cacheKey, cached);
      return cached;
    }
    const { sql, name } = this.#selectCurrent.get(entity.name)!;
    const row = this.#sync.query(sql, [idParam(entity.idKind, key)], name)[0];
    const found = row ? rowToEntity(entity, row, 0) : null;
    this.#remember(cacheKey, found);
    return found;
  }

  readRelated(child: EntityType, field: EntityField, parentKey: string): Entity[] {
    const column = quote(field.name);
    const param = idParam(field.kind, parentKey);
    const where = field.list ? `$1::${CAST_TYPE[field.kind]} = ANY(${column})` : `${column} = $1`;
    const sql = `SELECT ${columnList(child)} FROM ${this.table(child.name)} WHERE ${where} AND block_to IS NULL ORDER BY "id"`;
    return this.#sync.query(sql, [param], statementName(sql)).map((row) => rowToEntity(child, row, 0));
  }

  async flush(plan: FlushPlan): Promise<void> {
    const statements = this.#flushStatements(plan);
    const total = statements.reduce((n, s) => n + s.params.length, 0);
    if (total <= MAX_PARAMS) {
      // One statement: atomic by itself, one round trip.
      const combined = combine(statements);
      await this.pool.query(combined.sql, combined.params);
    } else {
      const client = await this.pool.connect();
      try {
        await client.query("BEGIN");
        for (const s of statements) await client.query(s.sql, s.params);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    }
    this.#afterFlush(plan);
  }

  #flushStatements(plan: FlushPlan): Statement[] {
    const out: Statement[] = [];
    for (const [type, table] of plan.tables) {
      const entity = this.schema.entities.get(type)!;
      if (!entity.immutable && table.close.size > 0) {
        const keys = [...table.close.keys()];
        out.push({
          sql:
            `UPDATE ${this.table(type)} t SET block_to = v.b FROM unnest($1::${CAST_TYPE[entity.idKind]}[], $2::int4[]) AS v(id, b)` +
            ` WHERE t."id" = v.id AND t.block_to IS NULL`,
          params: [keys.map((k) => idParam(entity.idKind, k)), keys.map((k) => table.close.get(k)!)],
        });
      }
      const columns = entity.stored;
      const perRow = columns.length + 2;
      const rowsPerStatement = Math.max(1, Math.floor(MAX_PARAMS / perRow));
      for (let i = 0; i < table.insert.length; i += rowsPerStatement) {
        const rows = table.insert.slice(i, i + rowsPerStatement);
        const params: unknown[] = [];
        const values = rows.map((row) => {
          const start = params.length;
          for (const f of columns) params.push(toPostgres(f, row.entity.get(f.name)));
          params.push(row.from, row.to);
          return `(${Array.from({ length: perRow }, (_, j) => `$${start + j + 1}`).join(", ")})`;
        });
        out.push({
          sql: `INSERT INTO ${this.table(type)} (${columnList(entity)}, block_from, block_to) VALUES ${values.join(", ")}`,
          params,
        });
      }
    }
    const blocks = plan.blocks;
    out.push({
      sql:
        `INSERT INTO ${this.#s}.${BLOCKS_TABLE} (number, hash, parent_hash, timestamp, changed)` +
        ` SELECT * FROM unnest($1::int4[], $2::text[], $3::text[], $4::int8[], $5::boolean[])` +
        ` ON CONFLICT (number) DO UPDATE SET hash = excluded.hash, parent_hash = excluded.parent_hash, timestamp = excluded.timestamp, changed = excluded.changed`,
      params: [
        blocks.map((b) => b.ptr.number),
        blocks.map((b) => b.ptr.hash),
        blocks.map((b) => b.ptr.parentHash),
        blocks.map((b) => String(b.ptr.timestamp)),
        blocks.map((b) => b.changed),
      ],
    });
    if (plan.dataSources.length > 0) {
      const ds = plan.dataSources;
      out.push({
        sql:
          `INSERT INTO ${this.#s}.${DATA_SOURCES_TABLE} (template, address, context, created_at_block)` +
          // WITH ORDINALITY ... ORDER BY keeps the vids in creation order.
          ` SELECT template, address, context, created_at_block FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[])` +
          ` WITH ORDINALITY AS d(template, address, context, created_at_block, n) ORDER BY n`,
        params: [ds.map((d) => d.template), ds.map((d) => d.address), ds.map((d) => JSON.stringify(entityToJson(d.context))), ds.map((d) => d.createdAtBlock)],
      });
    }
    out.push({
      sql: `INSERT INTO ${this.#s}.${META_TABLE} (key, value) VALUES ('first_block', $1) ON CONFLICT (key) DO NOTHING`,
      params: [String(blocks[0]!.ptr.number)],
    });
    const pruneBelow = plan.head.number - this.#keepBlocks;
    if (pruneBelow > this.#prunedBelow) {
      out.push({
        sql: `DELETE FROM ${this.#s}.${BLOCKS_TABLE} WHERE number >= $1 AND number < $2 AND NOT changed`,
        params: [this.#prunedBelow, pruneBelow],
      });
    }
    return out;
  }

  #afterFlush(plan: FlushPlan): void {
    const pruneBelow = plan.head.number - this.#keepBlocks;
    if (pruneBelow > this.#prunedBelow) this.#prunedBelow = pruneBelow;
    // Write-through: the cache now holds what the run left current.
    for (const [type, table] of plan.tables) {
      const current = new Map<string, Entity | null>();
      for (const key of table.close.keys()) current.set(key, null);
      for (const row of table.insert) if (row.to === null) current.set(row.key, row.entity);
      for (const [key, entity] of current) this.#remember(`${type}\u0000${key}`, entity);
    }
    this.#keepStatisticsFresh(plan);
  }

  /**
   * ANALYZEs a table once it has grown by a tenth (and at least 1,000 rows) since it was last analyzed, so queries get
   * good plans right after a burst of indexing rather than when autovacuum gets to it. Runs beside the indexer.
   */
  #keepStatisticsFresh(plan: FlushPlan): void {
    for (const [type, table] of plan.tables) {
      const stats = this.#analyzed.get(type) ?? { since: 0, at: 0 };
      stats.since += table.insert.length;
      this.#analyzed.set(type, stats);
      if (stats.since < Math.max(1000, stats.at / 10)) continue;
      stats.at += stats.since;
      stats.since = 0;
      this.pool.query(`ANALYZE ${this.table(type)}`).catch(() => {});
    }
  }

  #remember(cacheKey: string, entity: Entity | null): void {
    this.#cache.delete(cacheKey);
    this.#cache.set(cacheKey, entity);
    if (this.#cache.size > this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
  }

  async head(): Promise<BlockPtr | null> {
    const r = await this.pool.query(`SELECT number, hash, parent_hash, timestamp FROM ${this.#s}.${BLOCKS_TABLE} ORDER BY number DESC LIMIT 1`);
    return toBlock(r.rows[0]);
  }

  async block(number: number): Promise<BlockPtr | null> {
    const r = await this.pool.query(`SELECT number, hash, parent_hash, timestamp FROM ${this.#s}.${BLOCKS_TABLE} WHERE number = $1`, [number]);
    return toBlock(r.rows[0]);
  }

  async blockByHash(hash: string): Promise<BlockPtr | null> {
    const r = await this.pool.query(`SELECT number, hash, parent_hash, timestamp FROM ${this.#s}.${BLOCKS_TABLE} WHERE hash = $1`, [
      hash.toLowerCase(),
    ]);
    return toBlock(r.rows[0]);
  }

  async revertTo(number: number): Promise<BlockPtr | null> {
    const head = await this.head();
    if (!head || number >= head.number) return head;
    const target = await this.block(number);
    const firstRow = await this.pool.query(`SELECT value FROM ${this.#s}.${META_TABLE} WHERE key = 'first_block'`);
    const first = Number(firstRow.rows[0]?.value ?? NaN);
    if (!target && !(number < first)) {
      throw new Error(`cannot revert to block ${number}: the store no longer remembers it (it keeps ${this.#keepBlocks} blocks below the head); index into a new schema`);
    }
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      for (const entity of this.schema.entities.values()) {
        await client.query(`DELETE FROM ${this.table(entity.name)} WHERE block_from > $1`, [number]);
        if (!entity.immutable) await client.query(`UPDATE ${this.table(entity.name)} SET block_to = NULL WHERE block_to > $1`, [number]);
      }
      await client.query(`DELETE FROM ${this.#s}.${BLOCKS_TABLE} WHERE number > $1`, [number]);
      await client.query(`DELETE FROM ${this.#s}.${DATA_SOURCES_TABLE} WHERE created_at_block > $1`, [number]);
      if (!target) await client.query(`DELETE FROM ${this.#s}.${META_TABLE} WHERE key = 'first_block'`);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
      this.#cache.clear();
    }
    this.#prunedBelow = Math.min(this.#prunedBelow, Math.max(0, number - this.#keepBlocks));
    return target;
  }

  async dataSources(): Promise<DynamicDataSource[]> {
    const r = await this.pool.query(`SELECT template, address, context, created_at_block FROM ${this.#s}.${DATA_SOURCES_TABLE} ORDER BY vid`);
    return r.rows.map((row) => ({
      template: row.template as string,
      address: row.address as string,
      context: entityFromJson(JSON.parse(row.context as string)),
      createdAtBlock: Number(row.created_at_block),
    }));
  }

  async setFailure(error: IndexingError | null): Promise<void> {
    if (error) {
      await this.pool.query(
        `INSERT INTO ${this.#s}.${META_TABLE} (key, value) VALUES ('failure', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [JSON.stringify(error)],
      );
    } else {
      await this.pool.query(`DELETE FROM ${this.#s}.${META_TABLE} WHERE key = 'failure'`);
    }
  }

  async failure(): Promise<IndexingError | null> {
    const r = await this.pool.query(`SELECT value FROM ${this.#s}.${META_TABLE} WHERE key = 'failure'`);
    return r.rows[0] ? (JSON.parse(r.rows[0].value as string) as IndexingError) : null;
  }

  async close(): Promise<void> {
    await this.#sync.close();
    await this.pool.end();
  }
}

class PostgresReader implements EntityReader {
  readonly schema: SubgraphSchema;
  readonly #backend: PostgresBackend;
  readonly #builder: QueryBuilder;
  readonly #layout = layoutCache(fromPostgres);

  constructor(backend: PostgresBackend) {
    this.#backend = backend;
    this.schema = backend.schema;
    this.#builder = new QueryBuilder(backend.schema, postgresDialect(backend.pgSchema));
  }

  head(): Promise<BlockPtr | null> {
    return this.#backend.head();
  }

  blockByNumber(number: number): Promise<BlockPtr | null> {
    return this.#backend.block(number);
  }

  blockByHash(hash: string): Promise<BlockPtr | null> {
    return this.#backend.blockByHash(hash);
  }

  failure(): Promise<IndexingError | null> {
    return this.#backend.failure();
  }

  async find(query: EntityQuery): Promise<EntityRow[]> {
    const built = this.#builder.find(query);
    const layout = this.#layout(built.entity);
    return (await this.#rows(built)).map((row) => new LazyRow(layout, row));
  }

  async findByIds(type: string, keys: readonly string[], block: number): Promise<Map<string, EntityRow>> {
    const found = new Map<string, EntityRow>();
    for (let i = 0; i < keys.length; i += 1000) {
      const built = this.#builder.findByIds(type, keys.slice(i, i + 1000), block);
      const layout = this.#layout(built.entity);
      for (const raw of await this.#rows(built)) {
        const row = new LazyRow(layout, raw);
        found.set(idKeyOf(row.get("id")!)!, row);
      }
    }
    return found;
  }

  async findChildren(query: ChildrenQuery): Promise<Map<string, EntityRow[]>> {
    const found = new Map<string, EntityRow[]>();
    for (let i = 0; i < query.parentKeys.length; i += 1000) {
      const built = this.#builder.children({ ...query, parentKeys: query.parentKeys.slice(i, i + 1000) });
      const layout = this.#layout(built.entity);
      for (const raw of await this.#rows(built)) {
        const parent = raw[0];
        const key = parent instanceof Uint8Array ? bytesToHex(parent) : String(parent);
        let list = found.get(key);
        if (!list) found.set(key, (list = []));
        list.push(new LazyRow(layout, raw, 1));
      }
    }
    return found;
  }

  async #rows(built: BuiltQuery): Promise<unknown[][]> {
    const result = await this.#backend.pool.query({ text: built.sql, values: built.params, rowMode: "array", name: statementName(built.sql) });
    return result.rows as unknown[][];
  }
}

function columnList(entity: EntityType): string {
  return entity.stored.map((f) => quote(f.name)).join(", ");
}

function rowToEntity(entity: EntityType, row: unknown[], offset: number): Entity {
  const result: Entity = new Map();
  entity.stored.forEach((field, i) => {
    const value = fromPostgres(field, row[offset + i]);
    if (value !== undefined) result.set(field.name, value);
  });
  return result;
}

function idParam(kind: string, key: string): unknown {
  if (kind === "Bytes") return postgresScalar("Bytes", hexToBytes(key)!);
  return key; // text and int8 (as decimal text) alike
}

function combine(statements: Statement[]): Statement {
  if (statements.length === 1) return statements[0]!;
  const params: unknown[] = [];
  const parts = statements.map((s, i) => {
    const offset = params.length;
    params.push(...s.params);
    return `s${i} AS (${s.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`)})`;
  });
  return { sql: `WITH ${parts.join(", ")} SELECT 1`, params };
}

function statementName(sql: string): string {
  return "q" + createHash("sha1").update(sql).digest("hex").slice(0, 20);
}

function toBlock(row: Record<string, unknown> | undefined): BlockPtr | null {
  if (!row) return null;
  return { number: Number(row.number), hash: row.hash as string, parentHash: row.parent_hash as string, timestamp: Number(row.timestamp) };
}

function redact(connectionString: string): string {
  return connectionString.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}
