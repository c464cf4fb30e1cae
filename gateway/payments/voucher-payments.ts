// The voucher scheme, gateway side: the hot path of every voucher-paid call. Everything is checked in memory —
// fields, the lane's step (cumulative = last + price), the EIP-712 signature (native libsecp256k1), the signer
// (payer, live session key within its cap, or an ERC-1271 wallet), and the escrow (minus pending withdrawals,
// unsettled vouchers and calls in flight) — and the lane is held while the call runs. Only a payer or session key
// never seen before costs a round trip to the chain.
import { isAddress, type Address, type Hex } from "viem";
import type { AcceptResult, Ledger } from "../ledger/types.ts";
import { voucherTabKey } from "../../sdk/receipts.ts";
import type { Voucher } from "../../sdk/vouchers.ts";
import { OUT_OF_SYNC, type LaneState } from "../../sdk/x402/voucher-scheme.ts";
import { ApiError, PaymentError } from "../http/errors.ts";
import type { Committed, PaymentHold } from "./hold.ts";
import type { Lane, LaneBook } from "./lanes.ts";
import type { Escrow, PayerBook } from "./payers.ts";
import { recoverAddress } from "./secp256k1.ts";
import type { SecpPool } from "./secp-pool.ts";
import { createVoucherHasher, toHexDigest } from "./voucher-hash.ts";

export interface VoucherPaymentsOptions {
  chainId: number;
  network: string;
  vault: Address;
  operator: Address;
  maxLanes: number;
  /** A voucher (and a session key) must stay settleable at least this long (seconds). */
  minLifetimeSeconds: number;
  /** While the chain cannot be read, a payer's unsettled amount may not exceed this. */
  creditLimit: bigint;
  /** False while the chain watcher has not heard from the chain for too long. */
  chainIsFresh: () => boolean;
  lanes: LaneBook;
  payers: PayerBook;
  ledger: Ledger;
  /** Recovers signers on worker threads under load (default: inline on the event loop). */
  secp?: Pick<SecpPool, "recover">;
  now?: () => number;
}

export interface VoucherCall {
  modelId: bigint;
  price: bigint;
  inputSha256: Hex;
}

/** The most a payer may owe unsettled once a call is accepted, as #checkEscrow computed it. */
interface EscrowCap {
  maxUnsettled: bigint;
  /** The credit limit (chain stale) set it, not the escrow. */
  byCredit: boolean;
  escrow: Escrow;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const UINT = /^(0|[1-9]\d{0,77})$/;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;
const UINT64_MAX = 2n ** 64n - 1n;

const same = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

function invalid(message: string): PaymentError {
  return new PaymentError("invalid_voucher", message);
}

function uint(value: unknown, field: string, max?: bigint): bigint {
  if (typeof value !== "string" || !UINT.test(value)) throw invalid(`voucher.${field} must be a decimal integer string`);
  const n = BigInt(value);
  if (max !== undefined && n > max) throw invalid(`voucher.${field} is above its maximum ${max}`);
  return n;
}

/** Reads `{ voucher, signature }` strictly: every field present and of the right form. */
export function parseVoucherPayload(payload: Record<string, unknown>): { voucher: Voucher; signature: Hex; signatureBytes: Uint8Array } {
  const v = payload.voucher;
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw invalid("the payload has no voucher object");
  const fields = v as Record<string, unknown>;
  const { payer, operator, lane } = fields;
  const signature = payload.signature;
  if (typeof payer !== "string" || !ADDRESS.test(payer)) throw invalid("voucher.payer must be an address");
  if (typeof operator !== "string" || !ADDRESS.test(operator)) throw invalid("voucher.operator must be an address");
  // Mixed case is an EIP-55 checksum and must be right: a typo is refused here, never sent to the chain. viem caches
  // the result per address, so a known payer costs a map lookup.
  if (!isAddress(payer, { strict: true })) throw invalid("voucher.payer has a wrong EIP-55 checksum (send it checksummed or all lowercase)");
  if (!isAddress(operator, { strict: true })) throw invalid("voucher.operator has a wrong EIP-55 checksum (send it checksummed or all lowercase)");
  if (typeof lane !== "number" || !Number.isInteger(lane) || lane < 0 || lane > 0xffffffff) throw invalid("voucher.lane must be an integer from 0 to 2^32 − 1");
  if (typeof signature !== "string" || !SIGNATURE.test(signature)) throw invalid("signature must be 65 bytes of 0x-prefixed hex");
  const voucher: Voucher = {
    payer: payer as Address,
    operator: operator as Address,
    modelId: uint(fields.modelId, "modelId"),
    lane,
    cumulativeAmount: uint(fields.cumulativeAmount, "cumulativeAmount"),
    cumulativeCalls: uint(fields.cumulativeCalls, "cumulativeCalls", UINT64_MAX),
    expiry: uint(fields.expiry, "expiry", UINT64_MAX),
  };
  return { voucher, signature: signature as Hex, signatureBytes: Buffer.from(signature.slice(2), "hex") };
}

export function laneState(lane: Lane): LaneState {
  return {
    lane: lane.lane,
    cumulativeAmount: lane.cumulativeAmount.toString(),
    cumulativeCalls: lane.cumulativeCalls.toString(),
    expiry: lane.expiry.toString(),
    ...(lane.signature ? { signature: lane.signature } : {}),
  };
}

export class VoucherPayments {
  readonly #o: VoucherPaymentsOptions;
  readonly #hash: ReturnType<typeof createVoucherHasher>;
  readonly #now: () => number;
  readonly #recover: (digest: Uint8Array, signature: Uint8Array) => Promise<Address | undefined> | Address | undefined;

  constructor(options: VoucherPaymentsOptions) {
    this.#o = options;
    this.#hash = createVoucherHasher(options.chainId, options.vault);
    this.#now = options.now ?? Date.now;
    this.#recover = options.secp ? options.secp.recover.bind(options.secp) : recoverAddress;
  }

  /** Checks a voucher for one call and holds its lane; throws PaymentError (402, or 409 for a busy lane). */
  async check(payload: Record<string, unknown>, call: VoucherCall): Promise<PaymentHold> {
    const o = this.#o;
    const { voucher: v, signature, signatureBytes } = parseVoucherPayload(payload);
    if (!same(v.operator, o.operator)) throw new PaymentError("wrong_operator", `the voucher names operator ${v.operator}, but this gateway's operator is ${o.operator}`);
    if (v.modelId !== call.modelId) throw new PaymentError("wrong_model", `the voucher is for model ${v.modelId}, but the request is for model ${call.modelId}`);
    if (v.lane >= o.maxLanes) throw new PaymentError("lane_out_of_range", `lane ${v.lane} is beyond this gateway's ${o.maxLanes} lanes (0 … ${o.maxLanes - 1})`);
    const nowSeconds = BigInt(Math.floor(this.#now() / 1000));
    if (v.expiry !== 0n && v.expiry < nowSeconds + BigInt(o.minLifetimeSeconds)) {
      throw new PaymentError("voucher_expires_too_soon", `the voucher expires at ${v.expiry}; it must stay settleable for ${o.minLifetimeSeconds} s (or have expiry 0)`);
    }

    let lane = o.lanes.lane(v.payer, v.modelId, v.lane);
    if (lane.signature === signature && lane.cumulativeAmount === v.cumulativeAmount && lane.inputSha256 === call.inputSha256) {
      return this.#replay(lane, v);
    }
    if (lane.busy) throw this.#busy(v);
    if (!this.#inStep(lane, v, call.price)) {
      // With a shared ledger another replica may have moved the lane: look before calling the client stale.
      const record = await o.ledger.lane({ payer: v.payer, operator: o.operator, modelId: v.modelId, lane: v.lane });
      if (record && !lane.busy) o.lanes.load([record]);
      lane = o.lanes.lane(v.payer, v.modelId, v.lane);
      if (lane.busy) throw this.#busy(v);
      if (!this.#inStep(lane, v, call.price)) throw this.#outOfSync(lane, v, call.price);
    }

    const digest = this.#hash(v);
    const signer = await this.#recover(digest, signatureBytes);
    if (!signer) throw new PaymentError("bad_signature", "the voucher's signature is malformed or malleable (high s)");
    await this.#authorize(v, lane, signer, digest, signature, call.price, nowSeconds);
    const cap = await this.#checkEscrow(v.payer, call.price);

    // The awaits above may have let another call onto this lane.
    if (!this.#inStep(lane, v, call.price)) throw this.#outOfSync(lane, v, call.price);
    if (!o.lanes.reserve(lane, call.price, signer)) throw this.#busy(v);
    return this.#hold(lane, v, signature, signer, call, cap);
  }

  #inStep(lane: Lane, v: Voucher, price: bigint): boolean {
    return v.cumulativeAmount === lane.cumulativeAmount + price && v.cumulativeCalls === lane.cumulativeCalls + 1n;
  }

  #busy(v: Voucher): PaymentError {
    return new PaymentError("lane_busy", `lane ${v.lane} already has a call in flight; use another lane for concurrent calls`, { status: 409 });
  }

  #outOfSync(lane: Lane, v: Voucher, price: bigint): PaymentError {
    return new PaymentError(
      OUT_OF_SYNC,
      `lane ${v.lane} is at ${lane.cumulativeAmount} (${lane.cumulativeCalls} calls): the next voucher must carry ` +
        `${lane.cumulativeAmount + price} and ${lane.cumulativeCalls + 1n} calls, not ${v.cumulativeAmount} and ${v.cumulativeCalls}`,
      { resync: { payer: v.payer, tabs: [laneState(lane)] } },
    );
  }

  async #authorize(v: Voucher, lane: Lane, signer: Address, digest: Uint8Array, signature: Hex, price: bigint, nowSeconds: bigint): Promise<void> {
    const o = this.#o;
    if (same(signer, v.payer)) return;
    let session = o.payers.cachedSession(v.payer, signer);
    if (!session) {
      try {
        session = await o.payers.session(v.payer, signer);
      } catch {
        throw new ApiError(503, "chain_unavailable", "cannot check the voucher's session key: the chain's RPC is unreachable");
      }
    }
    if (session.expiry !== 0n) {
      if (session.expiry < nowSeconds + BigInt(o.minLifetimeSeconds)) {
        throw new PaymentError("session_expired", `session key ${signer} expires at ${session.expiry}, too soon for this voucher to be settled`);
      }
      // The vault charges a lane's whole unsettled amount to whoever signed its latest voucher.
      const ownedBefore = same(lane.signer, signer) ? lane.cumulativeAmount - lane.settledAmount : 0n;
      const committed = o.lanes.committedBySigner(v.payer, signer) - ownedBefore + (v.cumulativeAmount - lane.settledAmount);
      if (session.spent + committed > session.cap) {
        throw new PaymentError("session_cap_exceeded", `session key ${signer} would pass its cap of ${session.cap} (spent ${session.spent}, ${committed} more signed)`);
      }
      return;
    }
    if (await o.payers.isValidContractSignature(v.payer, toHexDigest(digest), signature)) return;
    throw new PaymentError("bad_signature", `the voucher is signed by ${signer}, which is neither the payer nor one of its session keys`);
  }

  /** Refuses a call the payer's escrow (or, while the chain is stale, credit) cannot cover, as far as this gateway
   *  knows; returns the limit for the ledger to enforce against every replica sharing it. */
  async #checkEscrow(payer: Address, price: bigint): Promise<EscrowCap> {
    const o = this.#o;
    let escrow = o.payers.escrow(payer);
    if (!escrow) {
      try {
        escrow = await o.payers.load(payer);
      } catch {
        throw new ApiError(503, "chain_unavailable", "cannot read this payer's escrow: the chain's RPC is unreachable");
      }
    }
    const needed = o.lanes.committed(payer) + price;
    const available = escrow.balance - escrow.pendingWithdrawal;
    if (needed > available) {
      throw new PaymentError(
        "insufficient_escrow",
        `escrow ${escrow.balance}` +
          (escrow.pendingWithdrawal ? ` minus a pending withdrawal of ${escrow.pendingWithdrawal}` : "") +
          ` does not cover ${needed} (unsettled calls, calls in flight and this one): deposit more`,
      );
    }
    const stale = !o.chainIsFresh();
    if (stale && needed > o.creditLimit) {
      throw new PaymentError("credit_limit_reached", `the chain cannot be read right now and this payer's unsettled ${needed} would pass the credit limit of ${o.creditLimit}; retry later`);
    }
    const byCredit = stale && o.creditLimit < available;
    return { maxUnsettled: byCredit ? o.creditLimit : available, byCredit, escrow };
  }

  /** The ledger refused the voucher: with it, the payer's unsettled amount over every replica would pass `cap`. */
  #overCap(cap: EscrowCap): PaymentError {
    const others = "counting calls answered by other gateways sharing this ledger";
    if (cap.byCredit) {
      return new PaymentError("credit_limit_reached", `the chain cannot be read right now and this call would take the payer's unsettled amount past the credit limit of ${cap.maxUnsettled} (${others}); retry later`);
    }
    return new PaymentError(
      "insufficient_escrow",
      `escrow ${cap.escrow.balance}` +
        (cap.escrow.pendingWithdrawal ? ` minus a pending withdrawal of ${cap.escrow.pendingWithdrawal}` : "") +
        ` does not cover this call on top of the payer's unsettled calls (${others}): deposit more`,
    );
  }

  #tabKey(lane: Lane): Hex {
    lane.tabKey ??= voucherTabKey(lane.payer, this.#o.operator, lane.modelId, lane.lane);
    return lane.tabKey;
  }

  #committed(lane: Lane, price: bigint): Committed {
    // The client sent the signature itself: echoing it back would only make every answer bigger.
    const { signature: _signature, ...state } = laneState(lane);
    return {
      response: { success: true, transaction: "", network: this.#o.network as `${string}:${string}`, payer: lane.payer, amount: price.toString(), extra: { lane: state } },
      summary: { scheme: "modelshare-voucher", payer: lane.payer, amount: price.toString(), ...state },
    };
  }

  /** The lane's last call again (a client retrying after a lost answer): answered, not charged a second time. */
  #replay(lane: Lane, v: Voucher): PaymentHold {
    return {
      scheme: "modelshare-voucher",
      payer: v.payer,
      amount: 0n,
      replay: true,
      receipt: { payment: this.#tabKey(lane), cumulativeAmount: lane.cumulativeAmount, callIndex: lane.cumulativeCalls },
      commit: async () => {
        const committed = this.#committed(lane, 0n);
        return { ...committed, summary: { ...committed.summary, replay: true } };
      },
      release: () => ({ charged: false, lane: lane.lane, nextCumulativeAmount: lane.cumulativeAmount.toString() }),
    };
  }

  #hold(lane: Lane, v: Voucher, signature: Hex, signer: Address, call: VoucherCall, cap: EscrowCap): PaymentHold {
    const o = this.#o;
    const expected = lane.cumulativeAmount;
    let open = true;
    return {
      scheme: "modelshare-voucher",
      payer: v.payer,
      amount: call.price,
      replay: false,
      // What the lane will hold once this voucher is accepted.
      receipt: { payment: this.#tabKey(lane), cumulativeAmount: v.cumulativeAmount, callIndex: v.cumulativeCalls },
      commit: async () => {
        open = false;
        let result: AcceptResult;
        try {
          result = await o.ledger.accept({
            payer: v.payer,
            operator: o.operator,
            modelId: v.modelId,
            lane: v.lane,
            expectedCumulative: expected,
            cumulativeAmount: v.cumulativeAmount,
            cumulativeCalls: v.cumulativeCalls,
            expiry: v.expiry,
            signature,
            signer,
            inputSha256: call.inputSha256,
            acceptedAt: this.#now(),
            maxUnsettled: cap.maxUnsettled,
          });
        } catch {
          o.lanes.release(lane, call.price);
          throw new ApiError(503, "ledger_unavailable", "the voucher could not be recorded, so the answer is withheld and nothing is charged");
        }
        if (result === "over_cap") {
          o.lanes.release(lane, call.price);
          // Other replicas took the rest: learn their lanes, so that this one refuses the payer's next call before
          // running it. A lane with a call in flight here keeps its state until that call ends.
          const records = await o.ledger.lanes(o.operator, v.payer).catch(() => []);
          o.lanes.load(records.filter((r) => !o.lanes.peek(r.payer, r.modelId, r.lane)?.busy));
          throw this.#overCap(cap);
        }
        if (result === "stale") {
          o.lanes.release(lane, call.price);
          const record = await o.ledger.lane({ payer: v.payer, operator: o.operator, modelId: v.modelId, lane: v.lane }).catch(() => undefined);
          if (record) o.lanes.load([record]);
          throw this.#outOfSync(lane, v, call.price);
        }
        o.lanes.accept(lane, call.price, {
          cumulativeAmount: v.cumulativeAmount,
          cumulativeCalls: v.cumulativeCalls,
          expiry: v.expiry,
          signature,
          signer,
          inputSha256: call.inputSha256,
        });
        return this.#committed(lane, call.price);
      },
      release: () => {
        if (open) o.lanes.release(lane, call.price);
        open = false;
        return { charged: false, lane: v.lane, nextCumulativeAmount: (lane.cumulativeAmount + call.price).toString() };
      },
    };
  }
}
