// The embedded ledger: one SQLite file in WAL mode with synchronous=FULL, so a commit is on disk when it returns.
// Writes from the request path (accept, recordExact) are group-committed: everything submitted in one tick shares
// one transaction, written by a thread of its own (sqlite-writer.ts) because node:sqlite's commit blocks for the
// fsync and a busy disk takes milliseconds — on the main thread that would stall every request. Other writes
// (settlement bookkeeping, locks) are rare and stay on the main connection; the two connections, and other
// processes (a `modelshare settle` run), take turns on SQLite's write lock (busy timeout).
import { mkdirSync } from "node:fs";
import path from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { Worker } from "node:worker_threads";
import type { Address, Hex } from "viem";
import {
  acceptRow,
  addressKey,
  exactRow,
  hex,
  laneKeyRow,
  laneRecord,
  settledRow,
  status as checkStatus,
  submissionRecord,
  submissionRow,
  sumUnsettled,
  unixMs,
  checksum,
  checkLock,
} from "./codec.ts";
import { LedgerError, message } from "./errors.ts";
import { lockOwnerIsGone } from "./lock-owner.ts";
import { GroupCommit } from "./group-commit.ts";
import { batchWriter, type Write, type WriteResult } from "./sqlite-batch.ts";
import { migrate } from "./sqlite-schema.ts";
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

export interface SqliteLedgerOptions {
  /** How long a write waits for another process holding SQLite's write lock (default 5 s). */
  busyTimeoutMs?: number;
  /** Where group-committed writes run: a thread of their own (default) or the calling thread. */
  writer?: "thread" | "inline";
}

const SELECT_LANE = "SELECT * FROM lanes";

export class SqliteLedger implements Ledger {
  readonly kind = "sqlite" as const;
  readonly file: string;
  readonly #db: DatabaseSync;
  readonly #writes: GroupCommit<Write, WriteResult>;
  readonly #locks = new Set<SqliteLock>();
  #closed = false;
  readonly #writer: BatchWriter;
  readonly #sql: {
    lane: StatementSync;
    lanes: StatementSync;
    payerLanes: StatementSync;
    owed: StatementSync;
    candidates: StatementSync;
  };

  /** Opens (creating if needed) the ledger at `file`; see `openSqliteLedger` for the error cases. */
  constructor(file: string, options: SqliteLedgerOptions = {}) {
    this.file = file;
    this.#db = open(file, options.busyTimeoutMs ?? 5_000);
    try {
      migrate(this.#db, file);
    } catch (error) {
      this.#db.close();
      throw error instanceof LedgerError ? error : new LedgerError("not_a_ledger", `${file} is not a Modelshare ledger: ${message(error)}`, { cause: error });
    }
    // Candidate selection compares uint256 differences, which SQLite's 64-bit integers cannot hold.
    this.#db.function("owes_at_least", { deterministic: true }, (cumulative, settled, min) =>
      BigInt(cumulative as string) - BigInt(settled as string) >= BigInt(min as string) ? 1 : 0,
    );
    this.#sql = {
      lane: this.#db.prepare(`${SELECT_LANE} WHERE operator = ? AND payer = ? AND model_id = ? AND lane = ?`),
      lanes: this.#db.prepare(`${SELECT_LANE} WHERE operator = ? ORDER BY payer, model_id, lane`),
      payerLanes: this.#db.prepare(`${SELECT_LANE} WHERE operator = ? AND payer = ? ORDER BY model_id, lane`),
      owed: this.#db.prepare(
        "SELECT cumulative_amount, settled_amount FROM lanes WHERE operator = ? AND payer = ? AND unsettled_since IS NOT NULL",
      ),
      candidates: this.#db.prepare(`
        ${SELECT_LANE}
        WHERE operator = $operator AND unsettled_since IS NOT NULL
          AND (rejected IS NULL OR (rejected IN (SELECT value FROM json_each($retryReasons)) AND rejected_at < $retryBefore))
          AND (owes_at_least(cumulative_amount, settled_amount, $minUnsettled)
            OR unsettled_since < $unsettledBefore
            OR payer IN (SELECT value FROM json_each($payers))
            OR (expiry != '0' AND CAST(expiry AS REAL) < $expiringBefore))
        ORDER BY unsettled_since, payer, model_id, lane
        LIMIT $limit`),
    };
    this.#writer =
      options.writer === "inline" || file === ":memory:"
        ? inlineWriter(this.#db)
        : new ThreadWriter(file, options.busyTimeoutMs ?? 5_000);
    this.#writes = new GroupCommit(async (batch) => {
      try {
        return await this.#writer.commit(batch);
      } catch (error) {
        throw writeFailed(error);
      }
    });
  }

  /** Transactions written by group commit so far. */
  get commits(): number {
    return this.#writes.batches;
  }

  async lanes(operator: Address, payer?: Address): Promise<LaneRecord[]> {
    this.#open();
    const op = addressKey(operator, "operator");
    const rows = payer === undefined ? this.#sql.lanes.all(op) : this.#sql.payerLanes.all(op, addressKey(payer, "payer"));
    return rows.map((r) => laneRecord(r as Record<string, unknown>));
  }

  async lane(key: LaneKey): Promise<LaneRecord | undefined> {
    this.#open();
    const k = laneKeyRow(key);
    const row = this.#sql.lane.get(k.operator, k.payer, k.modelId, k.lane);
    return row ? laneRecord(row as Record<string, unknown>) : undefined;
  }

  accept(voucher: AcceptVoucher): Promise<AcceptResult> {
    return this.#write(() => ({ kind: "accept", row: acceptRow(voucher) })) as Promise<AcceptResult>;
  }

  recordExact(authorization: ExactAuthorization): Promise<boolean> {
    return this.#write(() => ({ kind: "exact", row: exactRow(authorization) })) as Promise<boolean>;
  }

  async settlementCandidates(query: SettlementQuery): Promise<LaneRecord[]> {
    this.#open();
    const limit = query.limit;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new LedgerError("bad_input", `limit must be a positive integer, got ${limit}`);
    const rows = this.#sql.candidates.all({
      operator: addressKey(query.operator, "operator"),
      minUnsettled: query.minUnsettled.toString(),
      unsettledBefore: unixMs(query.unsettledBefore, "unsettledBefore"),
      payers: JSON.stringify(query.payers.map((p) => addressKey(p, "payer"))),
      expiringBefore: query.expiringBefore === undefined ? null : Number(query.expiringBefore),
      retryReasons: JSON.stringify(query.retryRejected?.reasons ?? []),
      retryBefore: query.retryRejected ? unixMs(query.retryRejected.before, "retryRejected.before") : 0,
      limit,
    });
    return rows.map((r) => laneRecord(r as Record<string, unknown>));
  }

  async recordSettled(updates: SettledUpdate[]): Promise<void> {
    this.#open();
    const now = Date.now();
    const rows = updates.map((u) => settledRow(u, now));
    const read = this.#db.prepare(
      "SELECT cumulative_amount, settled_amount, settled_calls, unsettled_since, rejected, rejected_at FROM lanes WHERE operator = ? AND payer = ? AND model_id = ? AND lane = ?",
    );
    const write = this.#db.prepare(`
      UPDATE lanes SET settled_amount = ?, settled_calls = ?, unsettled_since = ?, rejected = ?, rejected_at = ?
      WHERE operator = ? AND payer = ? AND model_id = ? AND lane = ?`);
    this.#transaction(() => {
      for (const u of rows) {
        const current = read.get(u.operator, u.payer, u.modelId, u.lane) as Record<string, string | number | null> | undefined;
        if (!current) continue;
        // High-water marks only rise: a receipt processed late (or twice) must not undo a newer settlement.
        const oldAmount = BigInt(current.settled_amount as string);
        const oldCalls = BigInt(current.settled_calls as string);
        const amount = u.settledAmount > oldAmount ? u.settledAmount : oldAmount;
        const calls = u.settledCalls > oldCalls ? u.settledCalls : oldCalls;
        const settledAll = amount >= BigInt(current.cumulative_amount as string);
        const judged = u.voucher === null || u.voucher === current.cumulative_amount;
        write.run(
          amount.toString(),
          calls.toString(),
          settledAll ? null : (current.unsettled_since ?? null),
          judged ? u.rejected : (current.rejected ?? null),
          judged ? (u.rejected === null ? null : u.at) : (current.rejected_at ?? null),
          u.operator,
          u.payer,
          u.modelId,
          u.lane,
        );
      }
    });
  }

  async recordSubmission(submission: Submission): Promise<void> {
    this.#open();
    const s = submissionRow(submission);
    try {
      this.#db
        .prepare(
          "INSERT INTO submissions (hash, from_address, nonce, raw, lanes, status, sent_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .run(s.hash, s.from, s.nonce, s.raw, s.lanes, s.status, s.sentAt, Date.now());
    } catch (error) {
      if (/UNIQUE constraint failed/.test(message(error))) {
        throw new LedgerError("conflict", `a settlement transaction ${s.hash} or another one with nonce ${s.nonce} from ${s.from} is already recorded`, {
          cause: error,
        });
      }
      throw writeFailed(error);
    }
  }

  async updateSubmission(hash: Hex, status: Submission["status"]): Promise<void> {
    this.#open();
    const h = hex(hash, "hash", 32);
    const { changes } = this.#db
      .prepare("UPDATE submissions SET status = ?, updated_at = ? WHERE hash = ?")
      .run(checkStatus(status), Date.now(), h);
    if (changes === 0) throw new LedgerError("bad_input", `no settlement transaction ${h} is recorded`);
  }

  async pendingSubmissions(from?: Address): Promise<Submission[]> {
    this.#open();
    const rows =
      from === undefined
        ? this.#db.prepare("SELECT * FROM submissions WHERE status = 'sent' ORDER BY nonce, sent_at").all()
        : this.#db.prepare("SELECT * FROM submissions WHERE status = 'sent' AND from_address = ? ORDER BY nonce, sent_at").all(addressKey(from, "from"));
    return rows.map((r) => submissionRecord(r as Record<string, unknown>));
  }

  async unsettledOf(payer: Address, operator: Address): Promise<bigint> {
    this.#open();
    return sumUnsettled(this.#sql.owed.all(addressKey(operator, "operator"), addressKey(payer, "payer")) as never);
  }

  async unsettledPayers(operator: Address): Promise<Address[]> {
    this.#open();
    const rows = this.#db
      .prepare("SELECT DISTINCT payer FROM lanes WHERE operator = ? AND unsettled_since IS NOT NULL ORDER BY payer")
      .all(addressKey(operator, "operator")) as { payer: string }[];
    return rows.map((r) => checksum(r.payer));
  }

  async unsettledTotal(operator: Address): Promise<{ amount: bigint; lanes: number }> {
    this.#open();
    const rows = this.#db
      .prepare("SELECT cumulative_amount, settled_amount FROM lanes WHERE operator = ? AND unsettled_since IS NOT NULL")
      .all(addressKey(operator, "operator")) as never[];
    return { amount: sumUnsettled(rows), lanes: rows.length };
  }

  async acquireSettlementLock(operator: Address, owner: string, ttlMs: number): Promise<SettlementLock | null> {
    this.#open();
    const op = addressKey(operator, "operator");
    checkLock(owner, ttlMs);
    const taken = this.#transaction(() => {
      const now = Date.now();
      const row = this.#db.prepare("SELECT owner, heartbeat_at, ttl_ms FROM settlement_locks WHERE operator = ?").get(op) as
        | { owner: string; heartbeat_at: number; ttl_ms: number }
        | undefined;
      // A holder that stopped heartbeating for longer than its own ttl is presumed dead, and so is one whose process
      // on this machine is gone (killed, say): its lease need not be waited out.
      if (row && row.owner !== owner && row.heartbeat_at + row.ttl_ms > now && !lockOwnerIsGone(row.owner)) return false;
      this.#db
        .prepare(
          "INSERT INTO settlement_locks (operator, owner, heartbeat_at, ttl_ms) VALUES (?, ?, ?, ?) ON CONFLICT (operator) DO UPDATE SET owner = excluded.owner, heartbeat_at = excluded.heartbeat_at, ttl_ms = excluded.ttl_ms",
        )
        .run(op, owner, now, ttlMs);
      return true;
    });
    if (!taken) return null;
    const lock = new SqliteLock(this, this.#db, checksum(op), op, owner, () => this.#locks.delete(lock));
    this.#locks.add(lock);
    return lock;
  }

  async settlementLockHolder(operator: Address): Promise<SettlementLockHolder | null> {
    this.#open();
    const row = this.#db.prepare("SELECT owner, heartbeat_at, ttl_ms FROM settlement_locks WHERE operator = ?").get(addressKey(operator, "operator")) as
      | { owner: string; heartbeat_at: number; ttl_ms: number }
      | undefined;
    if (!row || row.heartbeat_at + row.ttl_ms <= Date.now() || lockOwnerIsGone(row.owner)) return null;
    return { owner: row.owner, heartbeatAt: row.heartbeat_at };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#writes.drain();
    for (const lock of [...this.#locks]) await lock.release();
    this.#closed = true;
    await this.#writer.close();
    this.#db.close();
  }

  get closed(): boolean {
    return this.#closed;
  }

  #open(): void {
    if (this.#closed) throw new LedgerError("closed", `the ledger ${this.file} is closed`);
  }

  #write(build: () => Write): Promise<WriteResult> {
    try {
      this.#open();
      // Checked before queueing: a bad value fails alone and never takes the rest of its batch down.
      return this.#writes.submit(build());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #transaction<T>(body: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    let result: T;
    try {
      result = body();
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
    this.#db.exec("COMMIT");
    return result;
  }
}

interface BatchWriter {
  commit(batch: Write[]): Promise<WriteResult[]>;
  close(): Promise<void>;
}

function inlineWriter(db: DatabaseSync): BatchWriter {
  const commit = batchWriter(db);
  return { commit: async (batch) => commit(batch), close: async () => {} };
}

/** Sends batches to the writer thread and resolves each with its results once committed. */
class ThreadWriter implements BatchWriter {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (results: WriteResult[]) => void; reject: (error: Error) => void }>();
  #next = 0;

  constructor(file: string, busyTimeoutMs: number) {
    this.#worker = new Worker(new URL("./sqlite-writer.ts", import.meta.url), { workerData: { file, busyTimeoutMs } });
    this.#worker.on("message", (m: { id: number; results?: WriteResult[]; error?: string }) => {
      const waiting = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (m.error !== undefined) waiting?.reject(new Error(m.error));
      else waiting?.resolve(m.results!);
    });
    this.#worker.on("error", (error) => this.#failAll(error));
    this.#worker.on("exit", () => this.#failAll(new Error("the ledger's writer thread stopped")));
  }

  commit(batch: Write[]): Promise<WriteResult[]> {
    return new Promise((resolve, reject) => {
      const id = this.#next++;
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, batch });
    });
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.#worker.once("exit", resolve));
    this.#worker.postMessage({ close: true });
    await exited;
  }

  #failAll(error: Error): void {
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
  }
}

class SqliteLock implements SettlementLock {
  readonly operator: Address;
  readonly owner: string;
  readonly #ledger: SqliteLedger;
  readonly #db: DatabaseSync;
  readonly #key: string;
  readonly #forget: () => void;
  #released = false;

  constructor(ledger: SqliteLedger, db: DatabaseSync, operator: Address, key: string, owner: string, forget: () => void) {
    this.#ledger = ledger;
    this.#db = db;
    this.operator = operator;
    this.#key = key;
    this.owner = owner;
    this.#forget = forget;
  }

  async heartbeat(): Promise<boolean> {
    if (this.#released || this.#ledger.closed) return false;
    const { changes } = this.#db
      .prepare("UPDATE settlement_locks SET heartbeat_at = ? WHERE operator = ? AND owner = ?")
      .run(Date.now(), this.#key, this.owner);
    return changes === 1;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#forget();
    if (this.#ledger.closed) return;
    this.#db.prepare("DELETE FROM settlement_locks WHERE operator = ? AND owner = ?").run(this.#key, this.owner);
  }
}

function open(file: string, busyTimeoutMs: number): DatabaseSync {
  let db: DatabaseSync;
  try {
    if (file !== ":memory:") mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    db = new DatabaseSync(file, { timeout: busyTimeoutMs });
  } catch (error) {
    throw new LedgerError("unreachable", `cannot open the ledger ${file}: ${message(error)}`, { cause: error });
  }
  try {
    // The first statement reads the header: this is where a file that is not a database is found out.
    const mode = db.prepare("PRAGMA journal_mode = WAL").get() as { journal_mode: string };
    if (file !== ":memory:" && mode.journal_mode !== "wal") throw new Error(`WAL mode unavailable (journal_mode=${mode.journal_mode})`);
    db.exec("PRAGMA synchronous = FULL");
  } catch (error) {
    db.close();
    const text = message(error);
    if (/not a database|file is encrypted/i.test(text)) {
      throw new LedgerError("not_a_ledger", `${file} is not a SQLite database, so not a Modelshare ledger`, { cause: error });
    }
    throw new LedgerError("unreachable", `cannot open the ledger ${file}: ${text}`, { cause: error });
  }
  return db;
}

function writeFailed(error: unknown): LedgerError {
  return error instanceof LedgerError ? error : new LedgerError("db_error", `the ledger refused a write: ${message(error)}`, { cause: error });
}
