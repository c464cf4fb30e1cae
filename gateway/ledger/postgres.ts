// The shared ledger for several gateway replicas: PostgreSQL, one schema. Writes are group-committed like SQLite's,
// and each flush is one call of accept_vouchers (postgres-schema.ts) for the batch's vouchers, plus a set-based
// statement over unnest()ed arrays for its exact nonces, instead of one round trip per voucher. accept_vouchers
// serializes the accepts of each (operator, payer) with an advisory lock, then per voucher sums the payer's unsettled
// amount, checks the voucher's cap and compare-and-sets the lane (`UPDATE … WHERE cumulative_amount = expected`, or
// `INSERT … ON CONFLICT DO NOTHING` for a lane's first voucher): of two replicas racing for one lane step exactly one
// wins, and together they never take a payer past its cap, whatever the timing.
import pg from "pg";
import type { Address, Hex } from "viem";
import {
  acceptRow,
  addressKey,
  checkLock,
  checksum,
  exactRow,
  hex,
  laneKeyRow,
  laneRecord,
  settledRow,
  status as checkStatus,
  submissionRecord,
  submissionRow,
  unixMs,
  type AcceptRow,
  type ExactRow,
  type SettledRow,
} from "./codec.ts";
import { LedgerError, message } from "./errors.ts";
import { GroupCommit } from "./group-commit.ts";
import { migrate, quote } from "./postgres-schema.ts";
import type {
  AcceptResult,
  AcceptVoucher,
  ExactAuthorization,
  LaneKey,
  LaneRecord,
  Ledger,
  SettledUpdate,
  SettlementLock,
  SettlementLockHolder,
  SettlementQuery,
  Submission,
} from "./types.ts";

export interface PostgresLedgerOptions {
  /** A libpq connection string (postgres://user@host:port/database). */
  connectionString: string;
  /** Schema holding the ledger's tables, created if missing (default "modelshare"). */
  schema?: string;
  /** Pool size (default 10). */
  maxConnections?: number;
  /** Give up connecting after this long (default 5 s). */
  connectTimeoutMs?: number;
}

type Write = { kind: "accept"; row: AcceptRow } | { kind: "exact"; row: ExactRow };
/** An accept's outcome, or whether an exact nonce was new. */
type WriteResult = AcceptResult | boolean;

// A deadlock (a flush and another replica's settlement bookkeeping locking overlapping lanes in different orders)
// aborts one transaction, which wrote nothing; it is simply run again.
const RETRYABLE = new Set(["40P01", "40001"]);
const MAX_ATTEMPTS = 5;

const laneId = (r: { operator: string; payer: string; model_id?: string; modelId?: string; lane: number | string }) =>
  `${r.operator}/${r.payer}/${r.model_id ?? r.modelId}/${r.lane}`;

export class PostgresLedger implements Ledger {
  readonly kind = "postgres" as const;
  readonly schema: string;
  readonly #pool: pg.Pool;
  readonly #options: PostgresLedgerOptions;
  readonly #where: string;
  readonly #writes: GroupCommit<Write, WriteResult>;
  readonly #locks = new Set<PostgresLock>();
  #closed = false;

  private constructor(pool: pg.Pool, options: PostgresLedgerOptions, schema: string, where: string) {
    this.#pool = pool;
    this.#options = options;
    this.schema = schema;
    this.#where = where;
    this.#writes = new GroupCommit((batch) => this.#commit(batch));
  }

  /** Connects, then creates or migrates the schema. Fails with `unreachable`, `not_a_ledger` or `schema_too_new`. */
  static async open(options: PostgresLedgerOptions): Promise<PostgresLedger> {
    const schema = options.schema ?? "modelshare";
    const where = describe(options.connectionString, schema);
    const pool = new pg.Pool(poolConfig(options, schema));
    // An idle connection that dies emits 'error' on the pool; the next query reports it, so only keep it from crashing.
    pool.on("error", () => {});
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      await pool.end().catch(() => {});
      throw new LedgerError("unreachable", `cannot reach the PostgreSQL ledger ${where}: ${reason(error)}`, { cause: error });
    }
    try {
      await migrate(client, schema, where);
    } catch (error) {
      client.release();
      await pool.end().catch(() => {});
      if (error instanceof LedgerError) throw error;
      throw new LedgerError("unreachable", `cannot set up the PostgreSQL ledger ${where}: ${reason(error)}`, { cause: error });
    }
    client.release();
    return new PostgresLedger(pool, options, schema, where);
  }

  /** Transactions written by group commit so far. */
  get commits(): number {
    return this.#writes.batches;
  }

  async lanes(operator: Address, payer?: Address): Promise<LaneRecord[]> {
    const op = addressKey(operator, "operator");
    const { rows } =
      payer === undefined
        ? await this.#query(`${SELECT_LANE} WHERE operator = $1 ORDER BY payer, model_id, lane`, [op])
        : await this.#query(`${SELECT_LANE} WHERE operator = $1 AND payer = $2 ORDER BY model_id, lane`, [op, addressKey(payer, "payer")]);
    return rows.map(laneRecord);
  }

  async lane(key: LaneKey): Promise<LaneRecord | undefined> {
    const k = laneKeyRow(key);
    const { rows } = await this.#query(`${SELECT_LANE} WHERE operator = $1 AND payer = $2 AND model_id = $3 AND lane = $4`, [
      k.operator,
      k.payer,
      k.modelId,
      k.lane,
    ]);
    return rows[0] ? laneRecord(rows[0]) : undefined;
  }

  accept(voucher: AcceptVoucher): Promise<AcceptResult> {
    return this.#write(() => ({ kind: "accept", row: acceptRow(voucher) })) as Promise<AcceptResult>;
  }

  recordExact(authorization: ExactAuthorization): Promise<boolean> {
    return this.#write(() => ({ kind: "exact", row: exactRow(authorization) })) as Promise<boolean>;
  }

  async settlementCandidates(query: SettlementQuery): Promise<LaneRecord[]> {
    const limit = query.limit;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new LedgerError("bad_input", `limit must be a positive integer, got ${limit}`);
    const { rows } = await this.#query(
      `${SELECT_LANE}
       WHERE operator = $1 AND unsettled_since IS NOT NULL
         AND (rejected IS NULL OR (rejected = ANY($6::text[]) AND rejected_at < $7))
         AND (cumulative_amount - settled_amount >= $2::numeric
           OR unsettled_since < $3
           OR payer = ANY($4::text[])
           OR (expiry <> 0 AND expiry < $5::numeric))
       ORDER BY unsettled_since, payer, model_id, lane
       LIMIT $8`,
      [
        addressKey(query.operator, "operator"),
        query.minUnsettled.toString(),
        unixMs(query.unsettledBefore, "unsettledBefore"),
        query.payers.map((p) => addressKey(p, "payer")),
        query.expiringBefore === undefined ? null : query.expiringBefore.toString(),
        query.retryRejected?.reasons ?? [],
        query.retryRejected ? unixMs(query.retryRejected.before, "retryRejected.before") : 0,
        limit,
      ],
    );
    return rows.map(laneRecord);
  }

  async recordSettled(updates: SettledUpdate[]): Promise<void> {
    const now = Date.now();
    const merged = mergeByLane(updates.map((u) => settledRow(u, now)));
    if (merged.length === 0) return;
    // GREATEST in SQL: the high-water mark only rises, even against another replica's worker writing at once.
    await this.#query(
      `UPDATE lanes AS l SET
         settled_amount = GREATEST(l.settled_amount, u.settled_amount),
         settled_calls = GREATEST(l.settled_calls, u.settled_calls),
         unsettled_since = CASE WHEN GREATEST(l.settled_amount, u.settled_amount) >= l.cumulative_amount THEN NULL ELSE l.unsettled_since END,
         rejected = CASE WHEN u.voucher IS NULL OR u.voucher = l.cumulative_amount THEN u.rejected ELSE l.rejected END,
         rejected_at = CASE WHEN u.voucher IS NULL OR u.voucher = l.cumulative_amount
           THEN (CASE WHEN u.rejected IS NULL THEN NULL ELSE u.at END) ELSE l.rejected_at END
       FROM unnest($1::text[], $2::text[], $3::numeric[], $4::bigint[], $5::numeric[], $6::numeric[], $7::text[], $8::bigint[], $9::numeric[])
         AS u(operator, payer, model_id, lane, settled_amount, settled_calls, rejected, at, voucher)
       WHERE l.operator = u.operator AND l.payer = u.payer AND l.model_id = u.model_id AND l.lane = u.lane`,
      [
        merged.map((u) => u.operator),
        merged.map((u) => u.payer),
        merged.map((u) => u.modelId),
        merged.map((u) => u.lane),
        merged.map((u) => u.settledAmount.toString()),
        merged.map((u) => u.settledCalls.toString()),
        merged.map((u) => u.rejected),
        merged.map((u) => u.at),
        merged.map((u) => u.voucher),
      ],
    );
  }

  async recordSubmission(submission: Submission): Promise<void> {
    const s = submissionRow(submission);
    try {
      await this.#query(
        "INSERT INTO submissions (hash, from_address, nonce, raw, lanes, status, sent_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [s.hash, s.from, s.nonce, s.raw, s.lanes, s.status, s.sentAt, Date.now()],
      );
    } catch (error) {
      if ((error as { code?: string }).code === "23505") {
        throw new LedgerError("conflict", `a settlement transaction ${s.hash} or another one with nonce ${s.nonce} from ${s.from} is already recorded`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  async updateSubmission(hash: Hex, status: Submission["status"]): Promise<void> {
    const h = hex(hash, "hash", 32);
    const { rowCount } = await this.#query("UPDATE submissions SET status = $1, updated_at = $2 WHERE hash = $3", [checkStatus(status), Date.now(), h]);
    if (rowCount === 0) throw new LedgerError("bad_input", `no settlement transaction ${h} is recorded`);
  }

  async pendingSubmissions(from?: Address): Promise<Submission[]> {
    const { rows } =
      from === undefined
        ? await this.#query("SELECT * FROM submissions WHERE status = 'sent' ORDER BY nonce, sent_at")
        : await this.#query("SELECT * FROM submissions WHERE status = 'sent' AND from_address = $1 ORDER BY nonce, sent_at", [addressKey(from, "from")]);
    return rows.map(submissionRecord);
  }

  async unsettledOf(payer: Address, operator: Address): Promise<bigint> {
    const { rows } = await this.#query(
      `SELECT COALESCE(SUM(GREATEST(cumulative_amount - settled_amount, 0)), 0)::text AS owed
       FROM lanes WHERE operator = $1 AND payer = $2 AND unsettled_since IS NOT NULL`,
      [addressKey(operator, "operator"), addressKey(payer, "payer")],
    );
    return BigInt(rows[0]!.owed as string);
  }

  async unsettledPayers(operator: Address): Promise<Address[]> {
    const { rows } = await this.#query(
      "SELECT DISTINCT payer FROM lanes WHERE operator = $1 AND unsettled_since IS NOT NULL ORDER BY payer",
      [addressKey(operator, "operator")],
    );
    return rows.map((r) => checksum(r.payer as string));
  }

  async unsettledTotal(operator: Address): Promise<{ amount: bigint; lanes: number }> {
    const { rows } = await this.#query(
      `SELECT COALESCE(SUM(GREATEST(cumulative_amount - settled_amount, 0)), 0)::text AS owed, count(*)::int AS lanes
       FROM lanes WHERE operator = $1 AND unsettled_since IS NOT NULL`,
      [addressKey(operator, "operator")],
    );
    return { amount: BigInt(rows[0]!.owed as string), lanes: rows[0]!.lanes as number };
  }

  async acquireSettlementLock(operator: Address, owner: string, ttlMs: number): Promise<SettlementLock | null> {
    this.#open();
    const op = addressKey(operator, "operator");
    checkLock(owner, ttlMs);
    // A session advisory lock lives as long as the connection that took it: a dedicated client, outside the pool.
    const client = new pg.Client(poolConfig(this.#options, this.schema));
    client.on("error", () => {});
    try {
      await client.connect();
      const { rows } = await client.query("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS taken", [this.#lockName(op)]);
      if (!rows[0]!.taken) {
        await client.end();
        return null;
      }
      await client.query(
        `INSERT INTO settlement_locks (operator, owner, heartbeat_at, ttl_ms) VALUES ($1, $2, $3, $4)
         ON CONFLICT (operator) DO UPDATE SET owner = excluded.owner, heartbeat_at = excluded.heartbeat_at, ttl_ms = excluded.ttl_ms`,
        [op, owner, Date.now(), ttlMs],
      );
    } catch (error) {
      await client.end().catch(() => {});
      throw new LedgerError("unreachable", `cannot take the settlement lock in ${this.#where}: ${reason(error)}`, { cause: error });
    }
    const lock = new PostgresLock(client, checksum(op), op, owner, () => this.#locks.delete(lock));
    this.#locks.add(lock);
    return lock;
  }

  async settlementLockHolder(operator: Address): Promise<SettlementLockHolder | null> {
    const op = addressKey(operator, "operator");
    const client = await this.#connect();
    try {
      // Whether anyone holds it is what the advisory lock says; the row only names the holder.
      const { rows } = await client.query("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS free", [this.#lockName(op)]);
      if (rows[0]!.free) {
        await client.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [this.#lockName(op)]);
        return null;
      }
      const holder = await client.query("SELECT owner, heartbeat_at FROM settlement_locks WHERE operator = $1", [op]);
      const row = holder.rows[0];
      return row ? { owner: row.owner as string, heartbeatAt: Number(row.heartbeat_at) } : { owner: "unknown", heartbeatAt: 0 };
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#writes.drain();
    for (const lock of [...this.#locks]) await lock.release();
    this.#closed = true;
    await this.#pool.end();
  }

  #lockName(operator: string): string {
    return `modelshare-settlement:${this.schema}:${operator}`;
  }

  #open(): void {
    if (this.#closed) throw new LedgerError("closed", `the ledger ${this.#where} is closed`);
  }

  async #connect(): Promise<pg.PoolClient> {
    this.#open();
    try {
      return await this.#pool.connect();
    } catch (error) {
      throw new LedgerError("unreachable", `cannot reach the PostgreSQL ledger ${this.#where}: ${reason(error)}`, { cause: error });
    }
  }

  async #query(text: string, values?: unknown[]): Promise<pg.QueryResult<Record<string, unknown>>> {
    const client = await this.#connect();
    try {
      return await client.query(text, values);
    } catch (error) {
      if ((error as { code?: string }).code === "23505") throw error;
      throw new LedgerError("db_error", `the PostgreSQL ledger ${this.#where} failed: ${reason(error)}`, { cause: error });
    } finally {
      client.release();
    }
  }

  #write(build: () => Write): Promise<WriteResult> {
    try {
      this.#open();
      return this.#writes.submit(build());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async #commit(batch: Write[]): Promise<WriteResult[]> {
    const client = await this.#connect();
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          return await writeBatch(client, batch);
        } catch (error) {
          await client.query("ROLLBACK").catch(() => {});
          if (attempt < MAX_ATTEMPTS && RETRYABLE.has((error as { code?: string }).code ?? "")) continue;
          throw new LedgerError("db_error", `the PostgreSQL ledger ${this.#where} refused a write: ${reason(error)}`, { cause: error });
        }
      }
    } finally {
      client.release();
    }
  }
}

const SELECT_LANE = `SELECT operator, payer, model_id::text, lane, cumulative_amount::text, cumulative_calls::text, expiry::text, signature,
  signer, input_sha256, settled_amount::text, settled_calls::text, accepted_at, unsettled_since, rejected, rejected_at FROM lanes`;

const ACCEPT_RESULTS: AcceptResult[] = ["accepted", "stale", "over_cap"];

/**
 * Writes a batch in one transaction: its vouchers in one call of accept_vouchers (which applies them in order), its
 * exact nonces in rounds holding at most one write per nonce (a repeated nonce must see the first one's insert).
 * A batch of vouchers only is a single statement: one round trip, no BEGIN/COMMIT.
 */
async function writeBatch(client: pg.PoolClient, batch: Write[]): Promise<WriteResult[]> {
  const results: WriteResult[] = new Array(batch.length).fill(false);
  const accepts = batch.flatMap((w, i) => (w.kind === "accept" ? [i] : []));
  const rounds = exactRounds(batch);
  const transaction = (accepts.length > 0 ? 1 : 0) + rounds.length > 1;
  if (transaction) await client.query("BEGIN");
  if (accepts.length > 0) {
    const { rows } = await client.query(ACCEPT, acceptColumns(accepts.map((i) => batch[i]!.row as AcceptRow)));
    const codes = rows[0]!.results as number[];
    accepts.forEach((i, j) => (results[i] = ACCEPT_RESULTS[codes[j]!]!));
  }
  for (const round of rounds) {
    const rows = round.map((i) => batch[i]!.row as ExactRow);
    const inserted = await client.query(INSERT_EXACT, [
      rows.map((r) => r.from),
      rows.map((r) => r.nonce),
      rows.map((r) => r.to),
      rows.map((r) => r.value),
      rows.map((r) => r.modelId),
      rows.map((r) => r.acceptedAt),
    ]);
    const done = new Set(inserted.rows.map((r) => `${r.from_address}/${r.nonce}`));
    for (const i of round) results[i] = done.has(exactKey(batch[i]!.row as ExactRow));
  }
  if (transaction) await client.query("COMMIT");
  return results;
}

/** The batch's exact writes, cut into rounds with at most one write per nonce. */
function exactRounds(batch: Write[]): number[][] {
  const rounds: number[][] = [];
  const lastRound = new Map<string, number>();
  batch.forEach((write, i) => {
    if (write.kind !== "exact") return;
    const key = exactKey(write.row);
    const r = (lastRound.get(key) ?? -1) + 1;
    lastRound.set(key, r);
    (rounds[r] ??= []).push(i);
  });
  return rounds;
}

const exactKey = (row: ExactRow) => `${row.from}/${row.nonce}`;

const ACCEPT = `SELECT accept_vouchers($1::text[], $2::text[], $3::numeric[], $4::bigint[], $5::numeric[], $6::numeric[], $7::numeric[],
  $8::text[], $9::text[], $10::text[], $11::bigint[], $12::numeric[], $13::numeric[]) AS results`;

const INSERT_EXACT = `
  INSERT INTO exact_authorizations (from_address, nonce, to_address, value, model_id, accepted_at)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::numeric[], $6::bigint[])
  ON CONFLICT DO NOTHING
  RETURNING from_address, nonce`;

function acceptColumns(rows: AcceptRow[]): unknown[] {
  return [
    rows.map((r) => r.operator),
    rows.map((r) => r.payer),
    rows.map((r) => r.modelId),
    rows.map((r) => r.lane),
    rows.map((r) => r.cumulativeAmount),
    rows.map((r) => r.cumulativeCalls),
    rows.map((r) => r.expiry),
    rows.map((r) => r.signature),
    rows.map((r) => r.signer),
    rows.map((r) => r.inputSha256),
    rows.map((r) => r.acceptedAt),
    rows.map((r) => r.expected),
    rows.map((r) => r.maxUnsettled),
  ];
}

/** UPDATE … FROM applies one input row per lane: merge repeats (highest marks, latest rejection). */
function mergeByLane(rows: SettledRow[]): SettledRow[] {
  const byLane = new Map<string, SettledRow>();
  for (const row of rows) {
    const key = laneId(row);
    const seen = byLane.get(key);
    byLane.set(
      key,
      seen
        ? {
            ...row,
            settledAmount: row.settledAmount > seen.settledAmount ? row.settledAmount : seen.settledAmount,
            settledCalls: row.settledCalls > seen.settledCalls ? row.settledCalls : seen.settledCalls,
          }
        : row,
    );
  }
  return [...byLane.values()];
}

class PostgresLock implements SettlementLock {
  readonly operator: Address;
  readonly owner: string;
  readonly #client: pg.Client;
  readonly #key: string;
  readonly #forget: () => void;
  #lost = false;
  #released = false;

  constructor(client: pg.Client, operator: Address, key: string, owner: string, forget: () => void) {
    this.#client = client;
    this.operator = operator;
    this.#key = key;
    this.owner = owner;
    this.#forget = forget;
    // The connection is the lock: once it is gone, so is the lock.
    client.on("error", () => (this.#lost = true));
    client.on("end", () => (this.#lost = true));
  }

  async heartbeat(): Promise<boolean> {
    if (this.#released || this.#lost) return false;
    try {
      await this.#client.query("UPDATE settlement_locks SET heartbeat_at = $1 WHERE operator = $2 AND owner = $3", [Date.now(), this.#key, this.owner]);
      return true;
    } catch {
      this.#lost = true;
      return false;
    }
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#forget();
    if (!this.#lost) {
      await this.#client.query("DELETE FROM settlement_locks WHERE operator = $1 AND owner = $2", [this.#key, this.owner]).catch(() => {});
    }
    // Closing the session releases the advisory lock.
    await this.#client.end().catch(() => {});
  }
}

function poolConfig(options: PostgresLedgerOptions, schema: string): pg.PoolConfig {
  return {
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    options: `-c search_path=${quote(schema)}`,
  };
}

/** host:port/database and schema, never the password. */
function describe(connectionString: string, schema: string): string {
  try {
    const url = new URL(connectionString);
    return `postgres://${url.host}${url.pathname} (schema ${schema})`;
  } catch {
    return `(schema ${schema})`;
  }
}

function reason(error: unknown): string {
  const e = error as { code?: string; message?: string; errors?: unknown[] };
  // pg reports a refused connection to every resolved address as an AggregateError with an empty message.
  if (!e.message && Array.isArray(e.errors) && e.errors.length > 0) return reason(e.errors[0]);
  return message(error) || e.code || "unknown error";
}
