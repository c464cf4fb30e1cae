// The gateway's voucher ledger: the durable record of every voucher lane's latest accepted voucher, what of it is
// settled on-chain, the x402 `exact` authorizations already used, and the settlement transactions sent. The request
// path keeps lanes in memory and writes through this interface; the settlement worker reads from it. SQLite is the
// embedded default; PostgreSQL lets several gateway replicas share one ledger (the compare-and-set in `accept` is
// what keeps two replicas from accepting two vouchers for the same step of a lane, and its per-payer cap what keeps
// them from accepting together more than the payer's escrow covers).
import type { Address, Hex } from "viem";

/** Identifies one lane of a payer's tab with an operator for a model (the vault's tab key). */
export interface LaneKey {
  payer: Address;
  operator: Address;
  modelId: bigint;
  lane: number;
}

/** The latest voucher accepted on a lane, and what the chain has settled of that lane. */
export interface LaneRecord extends LaneKey {
  cumulativeAmount: bigint;
  cumulativeCalls: bigint;
  expiry: bigint;
  signature: Hex;
  /** Who signed: the payer itself or one of its session keys. */
  signer: Address;
  /** sha256 of the canonical input of the call this voucher paid for (lets an identical retry be answered free). */
  inputSha256: Hex;
  /** The lane's on-chain high-water mark, as last seen by the settlement worker. */
  settledAmount: bigint;
  settledCalls: bigint;
  /** Unix ms when the voucher was accepted. */
  acceptedAt: number;
  /** Unix ms of the oldest accepted voucher not yet settled on this lane; null when nothing is unsettled. */
  unsettledSince: number | null;
  /** Why the vault last skipped this lane's voucher (IVault.RejectReason name), if it did. A partial charge (the
   *  escrow ran out) is recorded as "EmptyEscrow": the rest waits for a deposit. Accepting a newer voucher clears it. */
  rejected: string | null;
  /** Unix ms when `rejected` was recorded; null when it is null. */
  rejectedAt: number | null;
}

/** A voucher to record on a lane whose cumulative is still `expectedCumulative` (0 for a lane never used). */
export interface AcceptVoucher extends LaneKey {
  expectedCumulative: bigint;
  cumulativeAmount: bigint;
  cumulativeCalls: bigint;
  expiry: bigint;
  signature: Hex;
  signer: Address;
  inputSha256: Hex;
  acceptedAt: number;
  /**
   * The most the payer may owe this operator unsettled once this voucher is accepted: Σ (cumulative − settled) over
   * all its lanes with the operator, every model, this voucher included. Checked atomically with the lane's
   * compare-and-set against what every process sharing the ledger accepted, so replicas that each check escrow in
   * memory cannot together accept more than it covers. Omitted: no cap (tools and tests recording known vouchers).
   */
  maxUnsettled?: bigint;
}

/**
 * What `accept` did: recorded the voucher; found the lane moved by another writer (`stale`); or refused it because
 * the payer's unsettled total would pass `maxUnsettled` (`over_cap`). Only "accepted" wrote anything.
 */
export type AcceptResult = "accepted" | "stale" | "over_cap";

/** An x402 `exact` (EIP-3009) authorization the gateway took as payment. */
export interface ExactAuthorization {
  nonce: Hex;
  from: Address;
  to: Address;
  value: bigint;
  modelId: bigint;
  acceptedAt: number;
}

/** A settlement transaction, recorded (signed, with its nonce) before it is broadcast so a restart can finish it. */
export interface Submission {
  hash: Hex;
  nonce: number;
  /** The signed raw transaction: re-broadcasting it after a restart cannot create a second transaction. */
  raw: Hex;
  lanes: (LaneKey & { cumulativeAmount: bigint })[];
  status: "sent" | "mined" | "failed";
  sentAt: number;
  /** The sending account (the operator); lets one ledger hold several operators' submissions. */
  from?: Address;
}

/** Which lanes the settlement worker should settle now. */
export interface SettlementQuery {
  operator: Address;
  /** Lanes whose unsettled amount (cumulative − settled) is at least this much… */
  minUnsettled: bigint;
  /** …or whose oldest unsettled voucher was accepted before this time (Unix ms)… */
  unsettledBefore: number;
  /** …or whose payer is among these (payers with a pending withdrawal). */
  payers: Address[];
  /** …or whose voucher expires (expiry ≠ 0) before this Unix time in seconds, so it is settled while it still can be. */
  expiringBefore?: bigint;
  /**
   * Lanes whose latest voucher the vault rejected are left out (retrying a bad signature only burns gas), except
   * those rejected for one of `reasons` before `before` (Unix ms): e.g. an empty escrow that may have been refilled.
   */
  retryRejected?: { reasons: string[]; before: number };
  limit: number;
}

/** One lane's on-chain outcome, as the settlement worker read it from a receipt (or from the vault). */
export interface SettledUpdate extends LaneKey {
  settledAmount: bigint;
  settledCalls: bigint;
  rejected: string | null;
  /** Unix ms of the observation (default: now); becomes `rejectedAt` when `rejected` is set. */
  at?: number;
  /** The cumulative of the voucher this outcome is about. When given, `rejected` is written only if the lane still
   *  holds that voucher: a verdict on an older voucher says nothing about a newer one the request path accepted since. */
  voucherCumulative?: bigint;
}

/**
 * Exclusive right to settle for one operator key, so a `modelshare settle` run never races a live gateway's worker
 * (two senders on one key would fight over nonces). PostgreSQL: a session advisory lock, gone when its holder's
 * connection is. SQLite: a row with owner and heartbeat, which another owner may take over once it is older than
 * the holder's ttl.
 */
export interface SettlementLock {
  readonly operator: Address;
  readonly owner: string;
  /** Renews the lock; resolves false when it was lost (taken over, or the connection holding it died). */
  heartbeat(): Promise<boolean>;
  release(): Promise<void>;
}

export interface SettlementLockHolder {
  owner: string;
  /** Unix ms of the holder's last heartbeat (or of when it took the lock). */
  heartbeatAt: number;
}

export interface Ledger {
  readonly kind: "sqlite" | "postgres";
  /** Every lane of `operator` (the request path loads them at start), or only `payer`'s. */
  lanes(operator: Address, payer?: Address): Promise<LaneRecord[]>;
  lane(key: LaneKey): Promise<LaneRecord | undefined>;
  /**
   * Durably records `voucher` if the lane's cumulative is still `expectedCumulative` and the payer stays within
   * `voucher.maxUnsettled`; otherwise resolves "stale" (another writer moved the lane first) or "over_cap", writing
   * nothing. Accepts of one payer are serialized across every process sharing the ledger. Resolves only once the
   * write is durable (calls made in the same tick may share one commit, and count against the cap in call order).
   * Rejects with a LedgerError("bad_input"), writing nothing, for a voucher that does not advance the lane
   * (cumulativeAmount ≤ expectedCumulative) or holds a value outside its Solidity type.
   */
  accept(voucher: AcceptVoucher): Promise<AcceptResult>;
  /** Records an `exact` authorization; resolves `false` if `from` used its nonce before (EIP-3009 nonces are per
   *  authorizer). Durable and group-committed like `accept`. */
  recordExact(authorization: ExactAuthorization): Promise<boolean>;
  /** Lanes to settle now, oldest first. */
  settlementCandidates(query: SettlementQuery): Promise<LaneRecord[]>;
  /** Raises lanes' on-chain high-water marks (never lowers them) and clears or sets their rejection reason. */
  recordSettled(updates: SettledUpdate[]): Promise<void>;
  /** Records a signed settlement transaction (before it is broadcast); refuses a second `sent` one for the same
   *  sender and nonce. */
  recordSubmission(submission: Submission): Promise<void>;
  updateSubmission(hash: Hex, status: Submission["status"]): Promise<void>;
  /** Submissions still `sent` (not known to be mined or failed), for a restarted worker to finish; by nonce. */
  pendingSubmissions(from?: Address): Promise<Submission[]>;
  /** Sum of cumulative − settled over the payer's lanes with `operator`. */
  unsettledOf(payer: Address, operator: Address): Promise<bigint>;
  /** Payers with something unsettled with `operator` (the worker checks their pending withdrawals). */
  unsettledPayers(operator: Address): Promise<Address[]>;
  /** What `operator` is owed beyond the chain, over all its lanes (a metric). */
  unsettledTotal(operator: Address): Promise<{ amount: bigint; lanes: number }>;
  /** Takes the settlement lock for `operator`, or resolves null when another owner holds it. */
  acquireSettlementLock(operator: Address, owner: string, ttlMs: number): Promise<SettlementLock | null>;
  /** Who holds the settlement lock for `operator`, if anyone (for error messages). */
  settlementLockHolder(operator: Address): Promise<SettlementLockHolder | null>;
  /** Flushes writes still queued, then closes; later calls fail with a LedgerError("closed"). */
  close(): Promise<void>;
}
