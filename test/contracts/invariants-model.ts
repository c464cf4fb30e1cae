// Off-chain model of Modelshare's money, for the randomized invariant test (invariants.test.ts).
//
// Written from DESIGN.md §3 and the documented split in Vault.sol, in plain bigint, without calling any contract view:
// escrow per payer, tab high-water marks, fees per account, and each holder's *exact* pro-rata entitlement per model,
// kept as a numerator over the model's (fixed) supply so the model itself never rounds a holder's share.

export const BPS = 10_000n;
/** The accumulator scale of ModelShares (documented there); used only to state the rounding bound. */
export const SCALE = 10n ** 36n;

/** Reasons `settle` skips a voucher, in IVault.RejectReason order. */
export const Reject = { None: 0, Stale: 1, Expired: 2, BadSignature: 3, SessionExpired: 4, SessionCapExceeded: 5, EmptyEscrow: 6 } as const;

// ------------------------------------------------------------------------------------------------------------------
// Seeded PRNG (sfc32 seeded by splitmix32), so a failing sequence reproduces from its seed.
// ------------------------------------------------------------------------------------------------------------------

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 16; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) >>> 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.u32() / 2 ** 32;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  /** Uniform bigint in [lo, hi] (inclusive). */
  big(lo: bigint, hi: bigint): bigint {
    const span = hi - lo + 1n;
    let r = 0n;
    for (let i = 0; i < 4; i++) r = (r << 32n) | BigInt(this.u32());
    return lo + (r % span);
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error("pick from empty list");
    return xs[this.int(xs.length)]!;
  }

  shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /** A random subset (possibly empty) in random order. */
  subset<T>(xs: readonly T[], p = 0.5): T[] {
    return this.shuffle(xs.filter(() => this.chance(p)));
  }

  /** Picks a key by weight. */
  weighted<K extends string>(weights: Record<K, number>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let x = this.float() * total;
    for (const [k, w] of entries) {
      if ((x -= w) < 0) return k;
    }
    return entries[entries.length - 1]![0];
  }

  hex32(): `0x${string}` {
    let s = "0x";
    for (let i = 0; i < 8; i++) s += this.u32().toString(16).padStart(8, "0");
    return s as `0x${string}`;
  }
}

// ------------------------------------------------------------------------------------------------------------------
// Lineage flattening (own implementation of the documented rule)
// ------------------------------------------------------------------------------------------------------------------

export interface ModelSpec {
  parents: { id: bigint; bps: bigint }[];
}

/**
 * Flattened ancestry of `id`: a parent P declared with `b` bps whose own flattened ancestry gives `a` bps to G yields
 * floor(b * a / 10000) bps to G and the rest of `b` to P; an ancestor reached along several paths gets the sum.
 */
export function flatten(specs: Map<bigint, ModelSpec>, id: bigint): Map<bigint, bigint> {
  const out = new Map<bigint, bigint>();
  const add = (k: bigint, v: bigint) => out.set(k, (out.get(k) ?? 0n) + v);
  for (const { id: parent, bps } of specs.get(id)!.parents) {
    let own = bps;
    for (const [ancestor, ancestorBps] of flatten(specs, parent)) {
      const share = (bps * ancestorBps) / BPS;
      if (share === 0n) continue;
      own -= share;
      add(ancestor, share);
    }
    if (own !== 0n) add(parent, own);
  }
  return out;
}

// ------------------------------------------------------------------------------------------------------------------
// Per-model holder book: exact entitlements
// ------------------------------------------------------------------------------------------------------------------

export class HolderBook {
  readonly supply: bigint;
  readonly balances = new Map<string, bigint>();
  /** Exact entitlement of each holder since launch, times `supply` (so entitlement = earnedNum / supply). */
  readonly earnedNum = new Map<string, bigint>();
  /** What each holder has been paid by claims (from RoyaltiesClaimed events). */
  readonly claimed = new Map<string, bigint>();
  /** Shares sent / received per holder: they widen the accumulator's sub-unit rounding (see `bound`). */
  readonly sent = new Map<string, bigint>();
  readonly received = new Map<string, bigint>();
  /** Revenue credited to this model's holders since launch (its own remainder plus royalties from descendants). */
  credited = 0n;
  claimedTotal = 0n;

  constructor(holdings: [string, bigint][]) {
    for (const [a, b] of holdings) this.balances.set(a, (this.balances.get(a) ?? 0n) + b);
    this.supply = [...this.balances.values()].reduce((s, v) => s + v, 0n);
  }

  credit(amount: bigint) {
    this.credited += amount;
    for (const [h, b] of this.balances) {
      if (b !== 0n) this.earnedNum.set(h, (this.earnedNum.get(h) ?? 0n) + amount * b);
    }
  }

  transfer(from: string, to: string, value: bigint) {
    const fb = this.balances.get(from) ?? 0n;
    if (value > fb) throw new Error("model: transfer above balance");
    if (from === to) return;
    this.balances.set(from, fb - value);
    this.balances.set(to, (this.balances.get(to) ?? 0n) + value);
    this.sent.set(from, (this.sent.get(from) ?? 0n) + value);
    this.received.set(to, (this.received.get(to) ?? 0n) + value);
  }

  claim(holder: string, amount: bigint) {
    this.claimed.set(holder, (this.claimed.get(holder) ?? 0n) + amount);
    this.claimedTotal += amount;
  }

  /** Every account that ever held shares (or got paid): the ones whose rounding the remainder can absorb. */
  accounts(): string[] {
    return [...new Set([...this.balances.keys(), ...this.earnedNum.keys(), ...this.claimed.keys()])];
  }

  /**
   * The rounding bound, per holder h, with E = exact entitlement (earnedNum / supply) and C = claimed + claimable:
   *
   *   floor(E - lo) <= C <= floor(E + hi),   lo = (balance + sent) / 1e36,   hi = received / 1e36   (units)
   *
   * Why: the accumulator is rps = floor(T * 1e36 / supply) for cumulative revenue T (dust carry), i.e. the exact value
   * minus f in [0,1) (in 1e-36 units). A holder's accrued scaled amount is Σ balance_j * Δrps over the intervals
   * between its balance changes, which telescopes to exact - f_now * balance_now + Σ_j f_j * Δbalance_j; claims
   * subtract exactly amount * 1e36. Sending shares (Δ<0) and the current balance can only lower it, by less than
   * (balance + sent) * 1e-36; receiving shares can only raise it, by less than received * 1e-36. With supplies below
   * 2^96, lo and hi stay far below 1 unit (here < 1e-6), so C is floor(E), or floor(E) - 1 only when E lies within lo
   * above an integer, or floor(E) + 1 only when E lies within hi below an integer (possible only after receiving
   * shares: ModelShares' NatSpec documents the first two cases only).
   *
   * Returns which case applies ("floor" | "below" | "above") or an error string.
   */
  check(holder: string, claimable: bigint): { kind: "floor" | "below" | "above" } | { error: string } {
    const num = this.earnedNum.get(holder) ?? 0n;
    const C = (this.claimed.get(holder) ?? 0n) + claimable;
    const floorE = num / this.supply;
    const lo = (this.balances.get(holder) ?? 0n) + (this.sent.get(holder) ?? 0n); // in 1e-36 units
    const hi = this.received.get(holder) ?? 0n;
    // C <= floor(E + hi/1e36)  <=>  C * 1e36 * supply <= num * 1e36 + hi * supply
    const upperOk = C * SCALE * this.supply <= num * SCALE + hi * this.supply;
    // C >= floor(E - lo/1e36)  <=>  (C + 1) * 1e36 * supply > num * 1e36 - lo * supply
    const lowerOk = (C + 1n) * SCALE * this.supply > num * SCALE - lo * this.supply;
    const describe = () =>
      `holder ${holder}: claimed+claimable=${C}, exact=${num}/${this.supply} (floor ${floorE}), lo=${lo}e-36, hi=${hi}e-36`;
    if (!upperOk || !lowerOk) return { error: `rounding bound violated: ${describe()}` };
    if (C < floorE - 1n || C > floorE + 1n) return { error: `off by more than one unit: ${describe()}` };
    return { kind: C === floorE ? "floor" : C < floorE ? "below" : "above" };
  }
}

// ------------------------------------------------------------------------------------------------------------------
// The vault's money
// ------------------------------------------------------------------------------------------------------------------

export interface Terms {
  operatorFeeBps: bigint;
  ancestors: Map<bigint, bigint>;
}

export interface EscrowState {
  balance: bigint;
  pending: bigint;
  unlockAt: bigint;
}

export interface TabState {
  settled: bigint;
  calls: bigint;
}

export interface ModelVoucher {
  payer: string;
  operator: string;
  modelId: bigint;
  lane: number;
  cumulativeAmount: bigint;
  cumulativeCalls: bigint;
  expiry: bigint;
  /** false when signed by someone who is not the payer (nor a session signer). */
  validSignature: boolean;
}

export type Outcome = { accepted: true; charged: bigint; settledAmount: bigint; settledCalls: bigint; shortfall: bigint } | { accepted: false; reason: number };

export class MoneyModel {
  readonly escrow = new Map<string, EscrowState>();
  readonly tabs = new Map<string, TabState>();
  /** Unclaimed fees per account. */
  readonly fees = new Map<string, bigint>();
  readonly books = new Map<bigint, HolderBook>();
  readonly terms = new Map<bigint, Terms>();
  paidIn = 0n;
  withdrawn = 0n;
  feesAccrued = 0n;
  feesClaimed = 0n;

  readonly protocolFeeBps: bigint;
  readonly treasury: string;

  constructor(protocolFeeBps: bigint, treasury: string) {
    this.protocolFeeBps = protocolFeeBps;
    this.treasury = treasury;
  }

  static tabKey(payer: string, operator: string, modelId: bigint, lane: number) {
    return `${payer}/${operator}/${modelId}/${lane}`;
  }

  escrowOf(payer: string): EscrowState {
    let e = this.escrow.get(payer);
    if (!e) this.escrow.set(payer, (e = { balance: 0n, pending: 0n, unlockAt: 0n }));
    return e;
  }

  tabOf(payer: string, operator: string, modelId: bigint, lane: number): TabState {
    const k = MoneyModel.tabKey(payer, operator, modelId, lane);
    let t = this.tabs.get(k);
    if (!t) this.tabs.set(k, (t = { settled: 0n, calls: 0n }));
    return t;
  }

  private accrue(account: string, amount: bigint) {
    if (amount === 0n) return;
    this.fees.set(account, (this.fees.get(account) ?? 0n) + amount);
    this.feesAccrued += amount;
  }

  /** The split of one payment (or one run of vouchers): fees and ancestor royalties round down, the rest to holders. */
  split(modelId: bigint, operator: string | null, gross: bigint) {
    const t = this.terms.get(modelId)!;
    const protocolFee = (gross * this.protocolFeeBps) / BPS;
    this.accrue(this.treasury, protocolFee);
    const operatorFee = operator === null ? 0n : (gross * t.operatorFeeBps) / BPS;
    if (operator !== null) this.accrue(operator, operatorFee);
    let upstream = 0n;
    for (const [ancestor, bps] of t.ancestors) {
      const royalty = (gross * bps) / BPS;
      if (royalty === 0n) continue;
      upstream += royalty;
      this.books.get(ancestor)!.credit(royalty);
    }
    const holders = gross - protocolFee - operatorFee - upstream;
    if (holders < 0n) throw new Error("model: negative holder share");
    if (holders !== 0n) this.books.get(modelId)!.credit(holders);
  }

  deposit(payer: string, amount: bigint) {
    this.escrowOf(payer).balance += amount;
    this.paidIn += amount;
  }

  requestWithdrawal(payer: string, amount: bigint, unlockAt: bigint) {
    const e = this.escrowOf(payer);
    if (amount === 0n || amount > e.balance) throw new Error("model: bad withdrawal request");
    e.pending = amount;
    e.unlockAt = unlockAt;
  }

  cancelWithdrawal(payer: string) {
    const e = this.escrowOf(payer);
    e.pending = 0n;
    e.unlockAt = 0n;
  }

  /** Pays the pending amount, or what is left of the escrow if settlements consumed part of it. */
  withdraw(payer: string): bigint {
    const e = this.escrowOf(payer);
    const amount = e.pending < e.balance ? e.pending : e.balance;
    e.balance -= amount;
    e.pending = 0n;
    e.unlockAt = 0n;
    this.withdrawn += amount;
    return amount;
  }

  exactPayment(modelId: bigint, operator: string | null, value: bigint) {
    this.paidIn += value;
    this.split(modelId, operator, value);
  }

  /**
   * settle(vouchers[]): each voucher moves min(cumulative - settled, escrow), skipping stale, expired, badly signed and
   * empty-escrow ones; consecutive accepted vouchers with the same model and operator form one run, split once.
   */
  settle(vouchers: ModelVoucher[], isExpired: (v: ModelVoucher) => boolean): Outcome[] {
    const outcomes: Outcome[] = [];
    let run: { modelId: bigint; operator: string; gross: bigint } | null = null;
    for (const v of vouchers) {
      const tab = this.tabOf(v.payer, v.operator, v.modelId, v.lane);
      const e = this.escrowOf(v.payer);
      let reason: number = Reject.None;
      if (v.cumulativeAmount <= tab.settled) reason = Reject.Stale;
      else if (v.expiry !== 0n && isExpired(v)) reason = Reject.Expired;
      else if (e.balance === 0n) reason = Reject.EmptyEscrow;
      else if (!v.validSignature) reason = Reject.BadSignature;
      if (reason !== Reject.None) {
        outcomes.push({ accepted: false, reason });
        continue;
      }
      const owed = v.cumulativeAmount - tab.settled;
      const charged = owed < e.balance ? owed : e.balance;
      e.balance -= charged;
      tab.settled += charged;
      if (charged === owed) tab.calls = v.cumulativeCalls;
      outcomes.push({ accepted: true, charged, settledAmount: tab.settled, settledCalls: tab.calls, shortfall: owed - charged });
      if (run !== null && (run.modelId !== v.modelId || run.operator !== v.operator)) {
        this.split(run.modelId, run.operator, run.gross);
        run = null;
      }
      if (run === null) run = { modelId: v.modelId, operator: v.operator, gross: 0n };
      run.gross += charged;
    }
    if (run !== null) this.split(run.modelId, run.operator, run.gross);
    return outcomes;
  }

  claimFees(account: string): bigint {
    const amount = this.fees.get(account) ?? 0n;
    this.fees.set(account, 0n);
    this.feesClaimed += amount;
    return amount;
  }

  totalEscrow(): bigint {
    let s = 0n;
    for (const e of this.escrow.values()) s += e.balance;
    return s;
  }

  totalFees(): bigint {
    let s = 0n;
    for (const f of this.fees.values()) s += f;
    return s;
  }

  totalCredited(): bigint {
    let s = 0n;
    for (const b of this.books.values()) s += b.credited;
    return s;
  }

  totalClaimed(): bigint {
    let s = 0n;
    for (const b of this.books.values()) s += b.claimedTotal;
    return s;
  }
}
