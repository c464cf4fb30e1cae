// The settlement worker: every `intervalMs` it settles, from the operator key, the lanes whose unsettled amount,
// age, coming expiry or payer's pending withdrawal says so. A round:
//   1. finishes the transactions an earlier round or process left in flight (see Sender.finish), because nonces
//      must be used in order and those vouchers may already be settled;
//   2. asks the ledger for candidates and cuts them into batches sorted by model and operator;
//   3. signs, records and broadcasts each batch, then waits for the receipts;
//   4. records on each lane what the vault says happened to its voucher (VoucherSettled / VoucherRejected).
// A failed round (RPC down, database error) is retried with exponential backoff; nothing is lost in between, since
// the ledger holds every voucher and every transaction sent. Only one process settles for a key at a time: the
// worker holds the ledger's settlement lock while it runs.
import type { Address, LocalAccount, PublicClient } from "viem";
import { vaultAbi } from "../../sdk/contracts.ts";
import { newLockOwner } from "../ledger/lock-owner.ts";
import type { LaneKey, Ledger, SettledUpdate, SettlementLock, Submission } from "../ledger/types.ts";
import { buildBatches } from "./batches.ts";
import { SettlementLockedError } from "./errors.ts";
import { silentLogger, type Logger } from "./logger.ts";
import { SettlementMetrics } from "./metrics.ts";
import { readOutcomes } from "./outcomes.ts";
import { emptyRound, type RejectedVoucher, type SettlementRound } from "./result.ts";
import { AccountNonces, describe, isTransportError, Sender, type Finished, type NonceSource } from "./sender.ts";
import { WithdrawalWatcher } from "./withdrawals.ts";

export interface SettlementWorkerOptions {
  ledger: Ledger;
  /** Reads the chain and broadcasts. Give it the retry policy you want for single calls; rounds retry on top. */
  client: PublicClient;
  /** The operator key: vouchers name it as operator, and it signs and pays for the settle transactions. */
  account: LocalAccount;
  /**
   * Where the key's nonces come from. Pass the sender everything else the key sends goes through (the gateway's
   * OperatorSender), so settlements never race other transactions; by default the worker has the key to itself.
   */
  nonces?: NonceSource;
  vault: Address;
  /** Time between rounds (default 10 s). */
  intervalMs?: number;
  /** Settle a lane once it owes at least this much, in base units (default 1,000,000: one USDC). */
  threshold?: bigint;
  /** …or once its oldest unsettled voucher is this old (default one hour)… */
  maxAgeMs?: number;
  /** …or once its voucher expires within this many seconds (default one hour). */
  expiryMarginSec?: number;
  /** Vouchers per settle transaction (default 100). */
  maxBatch?: number;
  /** Transactions per round (default 10); the rest waits for the next round. */
  maxBatchesPerRound?: number;
  /** Retry a lane rejected for an empty escrow or an exhausted session cap after this long (default 10 min). */
  rejectionRetryMs?: number;
  /** Leave a transaction to the next round when its receipt takes longer than this (default 2 min). */
  receiptTimeoutMs?: number;
  /** Backoff after a failed round: initialMs × 2^(failures−1), at most maxMs (defaults 1 s, 1 min). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** The settlement lock's ttl; it is renewed every ttl/3 (default 30 s). */
  lockTtlMs?: number;
  /** Names this worker in the settlement lock (default host:pid:random). */
  owner?: string;
  /** Block range per eth_getLogs when following withdrawals (default 2,000). */
  maxBlockRange?: number;
  logger?: Logger;
  /** Told of every lane whose on-chain state the worker learned, so the request path keeps its lanes in step. A
   *  rejection carries settledAmount 0 (a high-water mark never goes down: ignore values below the known one). */
  onSettled?: (updates: readonly SettledUpdate[]) => void;
}

export interface RunOptions {
  /** Settle every lane that owes anything, and retry every lane rejected for a reason that may have cleared. */
  all?: boolean;
}

/** Rejections that a deposit or a new session cap may fix; the others (bad signature, expired) never settle. */
const RETRYABLE_REJECTIONS = ["EmptyEscrow", "SessionCapExceeded"];

export class SettlementWorker {
  readonly metrics = new SettlementMetrics();
  readonly ledger: Ledger;
  readonly operator: Address;
  readonly owner: string;
  readonly #o: Required<Omit<SettlementWorkerOptions, "onSettled" | "backoff" | "nonces">> & Pick<SettlementWorkerOptions, "onSettled">;
  readonly #backoff: { initialMs: number; maxMs: number };
  readonly #sender: Sender;
  /** Set when the worker owns the key's nonces (no shared sender): re-read from the chain before each round. */
  readonly #ownNonces: AccountNonces | undefined;
  readonly #withdrawals: WithdrawalWatcher;
  readonly #log: Logger;
  readonly #recentRejections: RejectedVoucher[] = [];
  #lock: SettlementLock | null = null;
  #heartbeat: NodeJS.Timeout | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #stopped = false;
  #failures = 0;
  /** Rounds run one after another, whoever asks. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: SettlementWorkerOptions) {
    this.#o = {
      intervalMs: 10_000,
      threshold: 1_000_000n,
      maxAgeMs: 3_600_000,
      expiryMarginSec: 3_600,
      maxBatch: 100,
      maxBatchesPerRound: 10,
      rejectionRetryMs: 600_000,
      receiptTimeoutMs: 120_000,
      lockTtlMs: 30_000,
      owner: newLockOwner(),
      maxBlockRange: 2_000,
      logger: silentLogger,
      ...(definedOnly(options) as SettlementWorkerOptions),
    };
    this.#backoff = { initialMs: options.backoff?.initialMs ?? 1_000, maxMs: options.backoff?.maxMs ?? 60_000 };
    if (!Number.isInteger(this.#o.maxBatch) || this.#o.maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${this.#o.maxBatch}`);
    this.ledger = options.ledger;
    this.operator = options.account.address;
    this.owner = this.#o.owner;
    this.#log = this.#o.logger;
    this.#ownNonces = options.nonces ? undefined : new AccountNonces(options.client, options.account.address);
    this.#sender = new Sender({
      nonces: options.nonces ?? this.#ownNonces!,
      client: options.client,
      account: options.account,
      vault: options.vault,
      ledger: options.ledger,
      logger: this.#log,
      receiptTimeoutMs: this.#o.receiptTimeoutMs,
    });
    this.#withdrawals = new WithdrawalWatcher(options.client, options.vault, { maxBlockRange: this.#o.maxBlockRange });
  }

  /** Runs a round now, then every `intervalMs` (after a failed round: after a backoff that grows with each failure). */
  start(): void {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    this.#schedule(0);
  }

  /**
   * Runs one round (after any round in progress) and resolves with what it did. Rejects with SettlementLockedError
   * when another process holds the settlement lock, or with the error that stopped the round.
   */
  runOnce(options: RunOptions = {}): Promise<SettlementRound> {
    const round = this.#queue.then(() => this.#round(options));
    this.#queue = round.catch(() => {});
    return round;
  }

  /** Stops the loop, lets the current round finish, and releases the settlement lock. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#running = false;
    clearTimeout(this.#timer);
    await this.#queue;
    await this.#releaseLock();
  }

  /** The latest rejected vouchers (at most 100), newest last: money the operator may not get. */
  rejections(): readonly RejectedVoucher[] {
    return this.#recentRejections;
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => void this.#tick(), delayMs);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    let delay = this.#o.intervalMs;
    try {
      await this.runOnce();
      this.#failures = 0;
    } catch (error) {
      if (error instanceof SettlementLockedError) {
        this.#log.info({ holder: error.holder?.owner }, "settlement: another process holds the settlement lock; waiting");
      } else {
        this.#failures++;
        delay = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** (this.#failures - 1));
        this.#log.warn({ error: describe(error), failures: this.#failures, retryInMs: delay }, "settlement: round failed; retrying");
      }
    }
    if (this.#running) this.#schedule(delay);
  }

  async #round(options: RunOptions): Promise<SettlementRound> {
    if (this.#stopped) throw new Error("the settlement worker is stopped");
    const result = emptyRound();
    this.metrics.rounds++;
    try {
      await this.#holdLock();
      await this.#finishInFlight(result);
      if (result.pending === 0) await this.#settleCandidates(options, result);
      this.metrics.pending = result.pending;
      this.metrics.lastSuccessAt = Date.now();
      this.metrics.lastError = null;
      if (result.batches > 0 || result.rejected.length > 0) {
        this.#log.info(
          { batches: result.batches, vouchers: result.vouchers, charged: result.charged.toString(), rejected: result.rejected.length, pending: result.pending },
          "settlement: round done",
        );
      }
      return result;
    } catch (error) {
      if (!(error instanceof SettlementLockedError)) {
        this.metrics.failedRounds++;
        this.metrics.lastError = describe(error);
        if (!isTransportError(error)) this.#log.error({ error: describe(error) }, "settlement: round failed");
      }
      throw error;
    }
  }

  /** Step 1: transactions recorded as sent by an earlier round, or by a process that died. */
  async #finishInFlight(result: SettlementRound): Promise<void> {
    for (const submission of await this.ledger.pendingSubmissions(this.operator)) {
      const finished = await this.#sender.finish(submission);
      if (finished.state !== "pending") result.recovered++;
      await this.#conclude(submission, finished, result);
    }
  }

  /** Steps 2–4. */
  async #settleCandidates(options: RunOptions, result: SettlementRound): Promise<void> {
    const now = Date.now();
    await this.#withdrawals.refresh(await this.ledger.unsettledPayers(this.operator));
    const candidates = await this.ledger.settlementCandidates({
      operator: this.operator,
      minUnsettled: options.all ? 1n : this.#o.threshold,
      unsettledBefore: now - this.#o.maxAgeMs,
      payers: this.#withdrawals.payers(),
      expiringBefore: BigInt(Math.floor(now / 1000) + this.#o.expiryMarginSec),
      retryRejected: { reasons: RETRYABLE_REJECTIONS, before: options.all ? now + 1 : now - this.#o.rejectionRetryMs },
      limit: this.#o.maxBatch * this.#o.maxBatchesPerRound,
    });
    if (candidates.length === 0) return;
    // Nothing of ours is in flight now: the chain's count is the truth (the key may have been used elsewhere).
    this.#ownNonces?.resync();
    const sent: Submission[] = [];
    for (const batch of buildBatches(candidates, this.#o.maxBatch)) {
      if (!this.#lock) throw new SettlementLockedError(this.operator, await this.ledger.settlementLockHolder(this.operator));
      sent.push(await this.#sender.send(batch));
    }
    for (const submission of sent) await this.#conclude(submission, await this.#sender.wait(submission), result);
  }

  /** Records how a transaction ended: lanes from its receipt, and the submission's status. */
  async #conclude(submission: Submission, finished: Finished, result: SettlementRound): Promise<void> {
    const where = { hash: submission.hash, nonce: submission.nonce };
    switch (finished.state) {
      case "pending":
        result.pending++;
        this.#log.warn(where, "settlement: transaction not mined yet; the next round finishes it");
        return;
      case "replaced":
        result.replaced++;
        this.#log.warn(where, "settlement: another transaction used this nonce; its vouchers will be settled again");
        await this.ledger.updateSubmission(submission.hash, "failed");
        return;
      case "reverted":
        result.reverted++;
        this.#log.error(where, "settlement: transaction reverted; its vouchers will be settled again");
        await this.ledger.updateSubmission(submission.hash, "failed");
        return;
      case "mined":
        await this.#recordReceipt(submission, finished, result);
        await this.ledger.updateSubmission(submission.hash, "mined");
    }
  }

  async #recordReceipt(submission: Submission, mined: Extract<Finished, { state: "mined" }>, result: SettlementRound): Promise<void> {
    const at = Date.now();
    const updates: SettledUpdate[] = [];
    let charged = 0n;
    let shortfall = 0n;
    for (const outcome of readOutcomes(mined.receipt.logs, this.#o.vault, submission)) {
      const key = laneKey(outcome.lane);
      if (outcome.kind === "settled") {
        result.settled++;
        charged += outcome.charged;
        shortfall += outcome.shortfall;
        // A partial charge: the escrow ran dry, and the rest waits for a deposit like an EmptyEscrow rejection.
        const short = outcome.shortfall > 0n;
        const voucherCumulative = outcome.lane.cumulativeAmount;
        updates.push({ ...key, settledAmount: outcome.settledAmount, settledCalls: outcome.settledCalls, rejected: short ? "EmptyEscrow" : null, at, voucherCumulative });
        if (short) this.#rejected(result, { ...key, reason: "EmptyEscrow", unsettled: outcome.shortfall }, "partly charged: the escrow ran out");
      } else if (outcome.reason === "Stale") {
        // The chain is already at or past this voucher (settled before, maybe by an earlier attempt): record its mark.
        const [settledAmount, settledCalls] = await this.#readTab(key);
        updates.push({ ...key, settledAmount, settledCalls, rejected: null, at, voucherCumulative: outcome.lane.cumulativeAmount });
      } else {
        const lane = await this.ledger.lane(key);
        const unsettled = lane ? lane.cumulativeAmount - lane.settledAmount : outcome.lane.cumulativeAmount;
        updates.push({ ...key, settledAmount: 0n, settledCalls: 0n, rejected: outcome.reason, at, voucherCumulative: outcome.lane.cumulativeAmount });
        this.#rejected(result, { ...key, reason: outcome.reason, unsettled }, "voucher rejected by the vault");
      }
    }
    await this.ledger.recordSettled(updates);
    result.batches++;
    result.vouchers += submission.lanes.length;
    result.charged += charged;
    result.shortfall += shortfall;
    result.transactions.push(submission.hash);
    this.metrics.batches++;
    this.metrics.vouchers += submission.lanes.length;
    this.metrics.charged += charged;
    this.metrics.shortfall += shortfall;
    this.#o.onSettled?.(updates);
  }

  #rejected(result: SettlementRound, rejection: RejectedVoucher, message: string): void {
    result.rejected.push(rejection);
    this.metrics.reject(rejection.reason);
    this.#recentRejections.push(rejection);
    if (this.#recentRejections.length > 100) this.#recentRejections.shift();
    this.#log.warn(
      { payer: rejection.payer, modelId: rejection.modelId.toString(), lane: rejection.lane, reason: rejection.reason, unsettled: rejection.unsettled.toString() },
      `settlement: ${message}`,
    );
  }

  #readTab(key: LaneKey): Promise<readonly [bigint, bigint]> {
    return this.#o.client.readContract({
      address: this.#o.vault,
      abi: vaultAbi,
      functionName: "tabOf",
      args: [key.payer, key.operator, key.modelId, key.lane],
    });
  }

  async #holdLock(): Promise<void> {
    if (this.#lock) return;
    const lock = await this.ledger.acquireSettlementLock(this.operator, this.owner, this.#o.lockTtlMs);
    if (!lock) throw new SettlementLockedError(this.operator, await this.ledger.settlementLockHolder(this.operator));
    this.#lock = lock;
    this.#heartbeat = setInterval(() => void this.#beat(), Math.max(1, Math.floor(this.#o.lockTtlMs / 3)));
    this.#heartbeat.unref();
  }

  async #beat(): Promise<void> {
    const lock = this.#lock;
    if (!lock) return;
    const alive = await lock.heartbeat().catch(() => false);
    if (!alive && this.#lock === lock) {
      this.#log.warn({ owner: this.owner }, "settlement: lost the settlement lock; stopping until it can be taken again");
      clearInterval(this.#heartbeat);
      this.#lock = null;
    }
  }

  async #releaseLock(): Promise<void> {
    clearInterval(this.#heartbeat);
    const lock = this.#lock;
    this.#lock = null;
    await lock?.release().catch(() => {});
  }
}

function laneKey(lane: LaneKey): LaneKey {
  return { payer: lane.payer, operator: lane.operator, modelId: lane.modelId, lane: lane.lane };
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
