// The request path's in-memory view of every voucher lane this gateway serves, and the per-payer sums the escrow
// check needs (unsettled amounts, money reserved by calls in flight, and what each session key has signed for). The
// ledger is the durable truth; this book is rebuilt from it at start and kept in step with every accepted voucher
// and every settlement, so checking a voucher never waits for a disk or the chain.
import type { Address, Hex } from "viem";
import type { LaneRecord } from "../ledger/types.ts";

export interface Lane {
  payer: Address;
  modelId: bigint;
  lane: number;
  /** The latest accepted voucher on this lane (0 and no signature for a lane never used). */
  cumulativeAmount: bigint;
  cumulativeCalls: bigint;
  expiry: bigint;
  signature: Hex | undefined;
  signer: Address | undefined;
  inputSha256: Hex | undefined;
  /** The on-chain high-water mark. */
  settledAmount: bigint;
  settledCalls: bigint;
  /** A call on this lane is being served; the lane takes no other voucher meanwhile. */
  busy: boolean;
  /** Who signed the voucher of the call in flight (its reservation counts against that key's session cap). */
  holder: Address | undefined;
  /** The vault's tab key of this lane, computed once. */
  tabKey: Hex | undefined;
}

interface PayerSums {
  /** Σ (cumulative − settled) over the payer's lanes. */
  unsettled: bigint;
  /** Prices of the payer's calls in flight. */
  reserved: bigint;
  /** The same, per session key that signed them. */
  reservedBySigner: Map<string, bigint>;
  /** Per session key: Σ (cumulative − settled) over the lanes whose latest voucher it signed (the vault charges a
   *  lane's whole unsettled amount to the cap of whoever signed its latest voucher). */
  bySigner: Map<string, bigint>;
}

const laneKey = (payer: string, modelId: bigint, lane: number) => `${payer.toLowerCase()}/${modelId}/${lane}`;

export class LaneBook {
  readonly #lanes = new Map<string, Lane>();
  readonly #payers = new Map<string, PayerSums>();

  /** Loads lanes from the ledger (at start, or a lane another replica moved). */
  load(records: readonly LaneRecord[]): void {
    for (const r of records) {
      const lane = this.lane(r.payer, r.modelId, r.lane);
      this.#uncount(lane);
      Object.assign(lane, {
        cumulativeAmount: r.cumulativeAmount,
        cumulativeCalls: r.cumulativeCalls,
        expiry: r.expiry,
        signature: r.signature,
        signer: r.signer,
        inputSha256: r.inputSha256,
        settledAmount: r.settledAmount,
        settledCalls: r.settledCalls,
      });
      this.#count(lane);
    }
  }

  /** The lane, created empty on first sight. */
  lane(payer: Address, modelId: bigint, lane: number): Lane {
    const key = laneKey(payer, modelId, lane);
    let found = this.#lanes.get(key);
    if (!found) {
      found = {
        payer,
        modelId,
        lane,
        cumulativeAmount: 0n,
        cumulativeCalls: 0n,
        expiry: 0n,
        signature: undefined,
        signer: undefined,
        inputSha256: undefined,
        settledAmount: 0n,
        settledCalls: 0n,
        busy: false,
        holder: undefined,
        tabKey: undefined,
      };
      this.#lanes.set(key, found);
    }
    return found;
  }

  peek(payer: Address, modelId: bigint, lane: number): Lane | undefined {
    return this.#lanes.get(laneKey(payer, modelId, lane));
  }

  /** What the payer owes this operator beyond the chain, plus what its calls in flight may add. */
  committed(payer: Address): bigint {
    const sums = this.#payers.get(payer.toLowerCase());
    return sums ? sums.unsettled + sums.reserved : 0n;
  }

  unsettled(payer: Address): bigint {
    return this.#payers.get(payer.toLowerCase())?.unsettled ?? 0n;
  }

  /** What `signer`'s session cap is committed to: unsettled lanes whose latest voucher it signed, and its calls in
   *  flight. */
  committedBySigner(payer: Address, signer: Address): bigint {
    const sums = this.#payers.get(payer.toLowerCase());
    if (!sums) return 0n;
    const key = signer.toLowerCase();
    return (sums.bySigner.get(key) ?? 0n) + (sums.reservedBySigner.get(key) ?? 0n);
  }

  /** Marks the lane busy and reserves `price` of the payer's escrow (and of `signer`'s session cap); false if a
   *  call is already on the lane. */
  reserve(lane: Lane, price: bigint, signer: Address): boolean {
    if (lane.busy) return false;
    lane.busy = true;
    lane.holder = signer;
    const sums = this.#sums(lane.payer);
    sums.reserved += price;
    const key = signer.toLowerCase();
    sums.reservedBySigner.set(key, (sums.reservedBySigner.get(key) ?? 0n) + price);
    return true;
  }

  /** Ends a reservation without charging (the call failed, or another replica moved the lane first). */
  release(lane: Lane, price: bigint): void {
    if (!lane.busy) return;
    const sums = this.#sums(lane.payer);
    sums.reserved -= price;
    const key = lane.holder!.toLowerCase();
    const left = (sums.reservedBySigner.get(key) ?? 0n) - price;
    if (left === 0n) sums.reservedBySigner.delete(key);
    else sums.reservedBySigner.set(key, left);
    lane.busy = false;
    lane.holder = undefined;
  }

  /** Ends a reservation by recording the voucher the call was paid with (already durable in the ledger). */
  accept(
    lane: Lane,
    price: bigint,
    voucher: { cumulativeAmount: bigint; cumulativeCalls: bigint; expiry: bigint; signature: Hex; signer: Address; inputSha256: Hex },
  ): void {
    this.release(lane, price);
    this.#uncount(lane);
    Object.assign(lane, voucher);
    this.#count(lane);
  }

  /** Raises the lane's on-chain high-water mark (settlement seen on-chain); never lowers it. */
  settle(payer: Address, modelId: bigint, laneIndex: number, settledAmount: bigint, settledCalls: bigint): void {
    const lane = this.lane(payer, modelId, laneIndex);
    if (settledAmount <= lane.settledAmount) return;
    this.#uncount(lane);
    lane.settledAmount = settledAmount;
    lane.settledCalls = settledCalls;
    this.#count(lane);
  }

  /** Every lane with something unsettled. */
  *unsettledLanes(): IterableIterator<Lane> {
    for (const lane of this.#lanes.values()) if (lane.cumulativeAmount > lane.settledAmount) yield lane;
  }

  /** Total unsettled over all payers (a metric). */
  totalUnsettled(): bigint {
    let total = 0n;
    for (const sums of this.#payers.values()) total += sums.unsettled;
    return total;
  }

  #sums(payer: Address): PayerSums {
    const key = payer.toLowerCase();
    let sums = this.#payers.get(key);
    if (!sums) this.#payers.set(key, (sums = { unsettled: 0n, reserved: 0n, bySigner: new Map(), reservedBySigner: new Map() }));
    return sums;
  }

  #owed(lane: Lane): bigint {
    return lane.cumulativeAmount > lane.settledAmount ? lane.cumulativeAmount - lane.settledAmount : 0n;
  }

  #count(lane: Lane, sign: 1n | -1n = 1n): void {
    const owed = this.#owed(lane);
    if (owed === 0n) return;
    const sums = this.#sums(lane.payer);
    sums.unsettled += sign * owed;
    if (lane.signer && lane.signer.toLowerCase() !== lane.payer.toLowerCase()) {
      const key = lane.signer.toLowerCase();
      sums.bySigner.set(key, (sums.bySigner.get(key) ?? 0n) + sign * owed);
    }
  }

  #uncount(lane: Lane): void {
    this.#count(lane, -1n);
  }
}
