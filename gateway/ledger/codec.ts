// What both ledgers share: checking values before they are written (a bad value is refused with a clear error and
// writes nothing) and turning rows back into records. Addresses are stored lowercase (cheap to normalise on the hot
// path) and returned checksummed; amounts are stored as exact decimals (TEXT in SQLite, NUMERIC in PostgreSQL), so
// values above 2^53 — or 2^64 — never lose a unit.
import { getAddress, type Address, type Hex } from "viem";
import { LedgerError } from "./errors.ts";
import type { AcceptVoucher, ExactAuthorization, LaneKey, LaneRecord, SettledUpdate, Submission } from "./types.ts";

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HEX = /^0x(?:[0-9a-fA-F]{2})*$/;
const MAX_UINT32 = 2 ** 32 - 1;

function bad(message: string): never {
  throw new LedgerError("bad_input", message);
}

/** A lowercase address, or a bad_input error naming `what`. */
export function addressKey(value: unknown, what: string): string {
  if (typeof value !== "string" || !ADDRESS.test(value)) bad(`${what} must be a 20-byte hex address, got ${show(value)}`);
  return value.toLowerCase();
}

export function uint(value: unknown, bits: number, what: string): bigint {
  if (typeof value !== "bigint") bad(`${what} must be a bigint, got ${show(value)}`);
  if (value < 0n || value >> BigInt(bits) !== 0n) bad(`${what} must fit a uint${bits}, got ${value}`);
  return value;
}

export function laneIndex(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_UINT32) {
    bad(`lane must be an integer in [0, 2^32 − 1], got ${show(value)}`);
  }
  return value;
}

export function hex(value: unknown, what: string, bytes?: number): Hex {
  if (typeof value !== "string" || !HEX.test(value) || (bytes !== undefined && value.length !== 2 + 2 * bytes)) {
    bad(`${what} must be ${bytes === undefined ? "hex bytes" : `${bytes} bytes of hex`}, got ${show(value)}`);
  }
  return value.toLowerCase() as Hex;
}

export function unixMs(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) bad(`${what} must be Unix milliseconds, got ${show(value)}`);
  return value;
}

function show(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  const text = typeof value === "string" ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

/** The lane's identity as stored: lowercase addresses, the model id as a decimal string. */
export interface LaneKeyRow {
  payer: string;
  operator: string;
  modelId: string;
  lane: number;
}

export function laneKeyRow(key: LaneKey): LaneKeyRow {
  return {
    payer: addressKey(key.payer, "payer"),
    operator: addressKey(key.operator, "operator"),
    modelId: uint(key.modelId, 256, "modelId").toString(),
    lane: laneIndex(key.lane),
  };
}

/** An accepted voucher, checked and ready to write. */
export interface AcceptRow extends LaneKeyRow {
  expected: string;
  cumulativeAmount: string;
  cumulativeCalls: string;
  expiry: string;
  signature: string;
  signer: string;
  inputSha256: string;
  acceptedAt: number;
  /** Decimal cap on the payer's unsettled total with the operator, or null for none. */
  maxUnsettled: string | null;
}

export function acceptRow(v: AcceptVoucher): AcceptRow {
  const expected = uint(v.expectedCumulative, 256, "expectedCumulative");
  const cumulative = uint(v.cumulativeAmount, 256, "cumulativeAmount");
  if (cumulative <= expected) bad(`cumulativeAmount ${cumulative} does not advance the lane past ${expected}`);
  return {
    ...laneKeyRow(v),
    expected: expected.toString(),
    cumulativeAmount: cumulative.toString(),
    cumulativeCalls: uint(v.cumulativeCalls, 64, "cumulativeCalls").toString(),
    expiry: uint(v.expiry, 64, "expiry").toString(),
    signature: hex(v.signature, "signature"),
    signer: addressKey(v.signer, "signer"),
    inputSha256: hex(v.inputSha256, "inputSha256", 32),
    acceptedAt: unixMs(v.acceptedAt, "acceptedAt"),
    maxUnsettled: v.maxUnsettled === undefined ? null : uint(v.maxUnsettled, 256, "maxUnsettled").toString(),
  };
}

export interface ExactRow {
  from: string;
  nonce: string;
  to: string;
  value: string;
  modelId: string;
  acceptedAt: number;
}

export function exactRow(a: ExactAuthorization): ExactRow {
  return {
    from: addressKey(a.from, "from"),
    nonce: hex(a.nonce, "nonce", 32),
    to: addressKey(a.to, "to"),
    value: uint(a.value, 256, "value").toString(),
    modelId: uint(a.modelId, 256, "modelId").toString(),
    acceptedAt: unixMs(a.acceptedAt, "acceptedAt"),
  };
}

export interface SettledRow extends LaneKeyRow {
  settledAmount: bigint;
  settledCalls: bigint;
  rejected: string | null;
  at: number;
  /** Decimal cumulative of the judged voucher, or null to write `rejected` whatever the lane holds. */
  voucher: string | null;
}

export function settledRow(u: SettledUpdate, now: number): SettledRow {
  if (u.rejected !== null && (typeof u.rejected !== "string" || u.rejected.length === 0 || u.rejected.length > 64)) {
    bad(`rejected must be null or a reason name, got ${show(u.rejected)}`);
  }
  return {
    ...laneKeyRow(u),
    settledAmount: uint(u.settledAmount, 256, "settledAmount"),
    settledCalls: uint(u.settledCalls, 64, "settledCalls"),
    rejected: u.rejected,
    at: u.at === undefined ? now : unixMs(u.at, "at"),
    voucher: u.voucherCumulative === undefined ? null : uint(u.voucherCumulative, 256, "voucherCumulative").toString(),
  };
}

export function checkLock(owner: unknown, ttlMs: unknown): void {
  if (typeof owner !== "string" || owner.length === 0 || owner.length > 200) {
    bad("a settlement lock owner must be a non-empty string of at most 200 characters");
  }
  if (typeof ttlMs !== "number" || !Number.isSafeInteger(ttlMs) || ttlMs < 1) bad(`ttlMs must be a positive integer, got ${show(ttlMs)}`);
}

const STATUSES = new Set<Submission["status"]>(["sent", "mined", "failed"]);

export function status(value: unknown): Submission["status"] {
  if (!STATUSES.has(value as Submission["status"])) bad(`status must be sent, mined or failed, got ${show(value)}`);
  return value as Submission["status"];
}

export interface SubmissionRow {
  hash: string;
  from: string | null;
  nonce: number;
  raw: string;
  lanes: string;
  status: Submission["status"];
  sentAt: number;
}

export function submissionRow(s: Submission): SubmissionRow {
  if (!Number.isSafeInteger(s.nonce) || s.nonce < 0) bad(`nonce must be a non-negative integer, got ${show(s.nonce)}`);
  if (!Array.isArray(s.lanes)) bad("lanes must be an array");
  const lanes = s.lanes.map((l) => ({ ...laneKeyRow(l), cumulativeAmount: uint(l.cumulativeAmount, 256, "cumulativeAmount").toString() }));
  return {
    hash: hex(s.hash, "hash", 32),
    from: s.from === undefined ? null : addressKey(s.from, "from"),
    nonce: s.nonce,
    raw: hex(s.raw, "raw"),
    lanes: JSON.stringify(lanes),
    status: status(s.status),
    sentAt: unixMs(s.sentAt, "sentAt"),
  };
}

// getAddress hashes: remember the few thousand addresses a gateway sees instead of hashing on every read.
const checksums = new Map<string, Address>();

export function checksum(lower: string): Address {
  let found = checksums.get(lower);
  if (!found) {
    if (checksums.size >= 100_000) checksums.clear();
    found = getAddress(lower);
    checksums.set(lower, found);
  }
  return found;
}

/** SQLite gives integers as numbers, pg gives BIGINT as strings. */
const int = (value: unknown): number => (typeof value === "number" ? value : Number(value));
const intOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : int(value));

/** A `lanes` row (same column names in both databases) as a record. */
export function laneRecord(row: Record<string, unknown>): LaneRecord {
  return {
    payer: checksum(row.payer as string),
    operator: checksum(row.operator as string),
    modelId: BigInt(row.model_id as string),
    lane: int(row.lane),
    cumulativeAmount: BigInt(row.cumulative_amount as string),
    cumulativeCalls: BigInt(row.cumulative_calls as string),
    expiry: BigInt(row.expiry as string),
    signature: row.signature as Hex,
    signer: checksum(row.signer as string),
    inputSha256: row.input_sha256 as Hex,
    settledAmount: BigInt(row.settled_amount as string),
    settledCalls: BigInt(row.settled_calls as string),
    acceptedAt: int(row.accepted_at),
    unsettledSince: intOrNull(row.unsettled_since),
    rejected: (row.rejected as string | null) ?? null,
    rejectedAt: intOrNull(row.rejected_at),
  };
}

export function submissionRecord(row: Record<string, unknown>): Submission {
  const lanes = JSON.parse(row.lanes as string) as (LaneKeyRow & { cumulativeAmount: string })[];
  const submission: Submission = {
    hash: row.hash as Hex,
    nonce: int(row.nonce),
    raw: row.raw as Hex,
    lanes: lanes.map((l) => ({
      payer: checksum(l.payer),
      operator: checksum(l.operator),
      modelId: BigInt(l.modelId),
      lane: l.lane,
      cumulativeAmount: BigInt(l.cumulativeAmount),
    })),
    status: row.status as Submission["status"],
    sentAt: int(row.sent_at),
  };
  if (row.from_address) submission.from = checksum(row.from_address as string);
  return submission;
}

/** Σ (cumulative − settled), never negative per lane (the chain may be ahead of a lane this ledger knows). */
export function sumUnsettled(rows: Iterable<{ cumulative_amount: unknown; settled_amount: unknown }>): bigint {
  let total = 0n;
  for (const row of rows) {
    const owed = BigInt(row.cumulative_amount as string) - BigInt(row.settled_amount as string);
    if (owed > 0n) total += owed;
  }
  return total;
}
