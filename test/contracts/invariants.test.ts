// Money invariants under randomized sequences (DESIGN.md §9 "Contract invariants, checked by randomized sequences").
//
// A seeded random walk over deposits, vouchers (signed off-chain, settled in random subsets, orders and batch sizes,
// old ones re-settled), x402 `exact` payments (single and batched), stray transfers + sweep, share transfers, claims,
// fee claims, withdrawal requests / cancellations / withdrawals racing settlement, price and operator-fee changes and
// time warps, over 6 holder accounts, 3 payers, 2 operators and 3 models with lineage (M3's parents are M1 and M2, so
// flattening matters). After every step, contract state is compared with an independent off-chain model
// (invariants-model.ts) — see `checkInvariants` for the four invariants and HolderBook.check for the rounding bound.
//
// Reproduce: INVARIANT_SEED=<seed> [INVARIANT_STEPS=<n>] npx hardhat test nodejs test/contracts/invariants.test.ts
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { parseEventLogs, type Address, type Hex } from "viem";
import { deployProtocol, mintModel, signAuthorization, signVoucher, type Protocol } from "../helpers/protocol.ts";
import { HolderBook, MoneyModel, Reject, Rng, flatten, type ModelSpec, type ModelVoucher, type Outcome } from "./invariants-model.ts";

const SEED = process.env.INVARIANT_SEED !== undefined ? Number(process.env.INVARIANT_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const STEPS = process.env.INVARIANT_STEPS !== undefined ? Number(process.env.INVARIANT_STEPS) : 500;
const PROTOCOL_FEE_BPS = 137n;
const WITHDRAWAL_DELAY = 3_600n;
const E18 = 10n ** 18n;
const DAY = 86_400n;
const PAYER_MINT = 10n ** 15n;

console.log(`invariants: INVARIANT_SEED=${SEED} INVARIANT_STEPS=${STEPS}`);

type Wallet = Protocol["deployer"];
interface Signed {
  v: ModelVoucher;
  signature: Hex;
}

describe(`money invariants under randomized sequences (seed ${SEED}, ${STEPS} steps)`, async () => {
  const connection = await network.create();
  const { viem, networkHelpers } = connection;

  async function setup() {
    const p = await deployProtocol(viem, { protocolFeeBps: Number(PROTOCOL_FEE_BPS), withdrawalDelay: WITHDRAWAL_DELAY });
    const o = p.others;
    const holders = o.slice(0, 6); // H5 starts with no shares anywhere and becomes a holder through transfers
    const payers = o.slice(6, 9);
    const operators = o.slice(9, 11);
    const [H0, H1, H2, H3, H4] = holders.map((w) => w.account.address);

    // Three models: M1 root, M2 child of M1, M3 child of M1 and M2. Uneven splits, including dust-sized holdings.
    const plans = [
      { price: 1_000n, opBps: 250n, parents: [] as { idx: number; bps: bigint }[], split: [[H0, 1_000_003n * E18 + 7n], [H1, 250_000n * E18], [H2, 17n], [H3, 3_333_333n * E18 + 333n]] },
      { price: 2_500n, opBps: 1_234n, parents: [{ idx: 0, bps: 1_250n }], split: [[H1, 7n * E18], [H2, 999_999n], [H4, 123_456_789n * E18 / 1_000n]] },
      { price: 7_777n, opBps: 2_999n, parents: [{ idx: 0, bps: 777n }, { idx: 1, bps: 2_333n }], split: [[H0, 1n], [H2, 50n * E18], [H3, 49n * E18 + 1n], [H4, 1_000n]] },
    ] as const;
    const models: { id: bigint; shares: Awaited<ReturnType<typeof mintModel>>["shares"] }[] = [];
    const specs = new Map<bigint, ModelSpec>();
    const model = new MoneyModel(PROTOCOL_FEE_BPS, p.treasury.account.address);
    const price = new Map<bigint, bigint>();
    for (const [i, plan] of plans.entries()) {
      const parents = plan.parents.map((x) => ({ id: models[x.idx]!.id, bps: Number(x.bps) }));
      const m = await mintModel(p, viem, {
        price: plan.price,
        operatorFeeBps: Number(plan.opBps),
        parents,
        holders: plan.split.map(([address, amount]) => ({ address: address as Address, amount: amount as bigint })),
        label: `invariants-M${i + 1}`,
      });
      models.push({ id: m.modelId, shares: m.shares });
      specs.set(m.modelId, { parents: plan.parents.map((x) => ({ id: models[x.idx]!.id, bps: x.bps })) });
      model.books.set(m.modelId, new HolderBook(plan.split.map(([a, b]) => [a as string, b as bigint])));
      model.terms.set(m.modelId, { operatorFeeBps: plan.opBps, ancestors: flatten(specs, m.modelId) });
      price.set(m.modelId, plan.price);
    }

    for (const w of payers) {
      await p.usdc.write.mint([w.account.address, PAYER_MINT]);
      await p.usdc.write.approve([p.vault.address, 2n ** 256n - 1n], { account: w.account });
    }
    return { p, holders, payers, operators, models, specs, model, price };
  }

  it(`keeps every vault unit owed and every holder within [floor(E - (bal+sent)/1e36), floor(E + received/1e36)] of its exact share E`, { timeout: 600_000 }, async () => {
    const started = Date.now();
    const rng = new Rng(SEED);
    const fx = await setup();
    const { p, holders, payers, operators, models, model, price } = fx;
    const vault = p.vault;
    const usdc = p.usdc;
    const owner = p.deployer;
    const treasury = p.treasury;
    const feeAccounts: Wallet[] = [treasury, ...operators];
    const modelIds = models.map((m) => m.id);
    const sharesOf = new Map(models.map((m) => [m.id, m.shares]));
    const sharesAddr = new Map(models.map((m) => [m.shares.address.toLowerCase(), m.id]));
    const addr = (w: Wallet) => w.account.address;

    // Sanity: our own flattening agrees with what the registry recorded at mint (M3: M1 777 + floor(2333*1250/1e4)).
    for (const id of modelIds) {
      const onchain = await p.registry.read.ancestorsOf([id]);
      const mine = model.terms.get(id)!.ancestors;
      assert.deepEqual(new Map(onchain.map((a) => [BigInt(a.modelId), BigInt(a.bps)])), mine, `flattened lineage of model ${id}`);
    }
    assert.deepEqual(model.terms.get(modelIds[2]!)!.ancestors, new Map([[modelIds[0]!, 777n + 291n], [modelIds[1]!, 2_333n - 291n]]));

    // Expected wallet balances (stablecoin outside the vault), tracked by the model.
    const wallet = new Map<string, bigint>();
    for (const w of [...holders, ...feeAccounts]) wallet.set(addr(w), 0n);
    for (const w of payers) wallet.set(addr(w), PAYER_MINT);
    const addWallet = (a: string, d: bigint) => wallet.set(a, wallet.get(a)! + d);

    // Off-chain voucher state: what each payer has signed per tab, the latest voucher the operator keeps, and history.
    const signedCum = new Map<string, { amount: bigint; calls: bigint }>();
    const latest = new Map<string, Signed>();
    const history: Signed[] = [];
    const forged: Signed[] = [];

    // Two lanes per (payer, operator, model): lanes are independent tabs, as a payer with calls in flight uses them.
    const LANES = [0, 1];
    const tabsList: { payer: Wallet; operator: Wallet; modelId: bigint; lane: number }[] = [];
    for (const payer of payers) for (const operator of operators) for (const modelId of modelIds) for (const lane of LANES) tabsList.push({ payer, operator, modelId, lane });

    const tally = { floor: 0, below: 0, above: 0 };
    // What the walk exercised: settled runs, partial charges, each reject reason, short withdrawals (raced by settlement).
    const seenStats = { accepted: 0, partial: 0, stale: 0, expired: 0, badSignature: 0, emptyEscrow: 0, withdrawShort: 0, reverts: 0 };
    const counts: Record<string, number> = {};
    const recent: string[] = [];
    let claimableNow = new Map<string, bigint>(); // `${modelId}/${holder}` -> on-chain claimable after the last step
    const ck = (id: bigint, h: string) => `${id}/${h}`;

    async function receiptOf(hash: Hex) {
      const r = await p.publicClient.getTransactionReceipt({ hash });
      assert.equal(r.status, "success");
      return r;
    }
    async function blockTime(blockNumber: bigint) {
      return (await p.publicClient.getBlock({ blockNumber })).timestamp;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Invariants
    // ---------------------------------------------------------------------------------------------------------------
    async function checkInvariants(step: number) {
      const ctx = `seed ${SEED}, step ${step}`;
      const [vaultBal, escrows, fees, tabs, claimables, balances, revenue, strays, wallets] = await Promise.all([
        usdc.read.balanceOf([vault.address]),
        Promise.all(payers.map((w) => vault.read.escrowOf([addr(w)]))),
        Promise.all(feeAccounts.map((w) => vault.read.feesOf([addr(w)]))),
        Promise.all(tabsList.map((t) => vault.read.tabOf([addr(t.payer), addr(t.operator), t.modelId, t.lane]))),
        Promise.all(modelIds.map((id) => Promise.all(holders.map((h) => sharesOf.get(id)!.read.claimable([addr(h)]))))),
        Promise.all(modelIds.map((id) => Promise.all(holders.map((h) => sharesOf.get(id)!.read.balanceOf([addr(h)]))))),
        Promise.all(modelIds.map((id) => sharesOf.get(id)!.read.totalRevenue())),
        Promise.all(models.map((m) => usdc.read.balanceOf([m.shares.address]))),
        Promise.all([...holders, ...payers, ...feeAccounts].map((w) => usdc.read.balanceOf([addr(w)]))),
      ]);

      // (3) escrow, fees, tabs, share balances and wallets equal the model exactly.
      let sumEscrow = 0n;
      payers.forEach((w, i) => {
        const [balance, pending, unlockAt] = escrows[i]!;
        const e = model.escrowOf(addr(w));
        assert.deepEqual({ balance, pending, unlockAt: BigInt(unlockAt) }, { balance: e.balance, pending: e.pending, unlockAt: e.unlockAt }, `${ctx}: escrow of payer ${i}`);
        sumEscrow += balance;
      });
      let sumFees = 0n;
      feeAccounts.forEach((w, i) => {
        assert.equal(fees[i], model.fees.get(addr(w)) ?? 0n, `${ctx}: fees of ${i === 0 ? "treasury" : `operator ${i - 1}`}`);
        sumFees += fees[i]!;
      });
      tabsList.forEach((t, i) => {
        const [settledAmount, settledCalls] = tabs[i]!;
        const m = model.tabOf(addr(t.payer), addr(t.operator), t.modelId, t.lane);
        assert.deepEqual({ settledAmount, settledCalls: BigInt(settledCalls) }, { settledAmount: m.settled, settledCalls: m.calls }, `${ctx}: tab ${i}`);
        // No settlement above the signed cumulative.
        const signed = signedCum.get(MoneyModel.tabKey(addr(t.payer), addr(t.operator), t.modelId, t.lane))?.amount ?? 0n;
        assert.ok(settledAmount <= signed, `${ctx}: tab ${i} settled ${settledAmount} above signed ${signed}`);
      });
      [...holders, ...payers, ...feeAccounts].forEach((w, i) => assert.equal(wallets[i], wallet.get(addr(w)), `${ctx}: wallet of ${addr(w)}`));

      // (2) each holder's claimed + claimable vs its exact entitlement, within the stated bound.
      const next = new Map<string, bigint>();
      let owedToHolders = 0n;
      modelIds.forEach((id, mi) => {
        const book = model.books.get(id)!;
        assert.equal(revenue[mi], book.credited, `${ctx}: revenue credited to model ${id}`);
        assert.equal(strays[mi], 0n, `${ctx}: no stablecoin left on model ${id}'s share token`);
        let sumClaimable = 0n;
        holders.forEach((h, hi) => {
          assert.equal(balances[mi]![hi], book.balances.get(addr(h)) ?? 0n, `${ctx}: shares of holder ${hi} in model ${id}`);
          const c = claimables[mi]![hi]!;
          next.set(ck(id, addr(h)), c);
          sumClaimable += c;
          const r = book.check(addr(h), c);
          if ("error" in r) assert.fail(`${ctx}: model ${id}, ${r.error}`);
          tally[r.kind]++;
        });
        // (1) per model: what is still owed to holders = Σ claimable + carried remainder, 0 <= remainder <= #accounts.
        const unpaid = book.credited - book.claimedTotal;
        const remainder = unpaid - sumClaimable;
        const n = BigInt(book.accounts().length);
        assert.ok(remainder >= 0n && remainder < n + 1n, `${ctx}: model ${id} remainder ${remainder} outside [0, ${n}]`);
        owedToHolders += unpaid;
      });
      claimableNow = next;

      // (1) the vault's balance is exactly everything it owes: escrow + fees + Σ claimable + carried remainders.
      assert.equal(vaultBal, sumEscrow + sumFees + owedToHolders, `${ctx}: vault balance vs escrow ${sumEscrow} + fees ${sumFees} + owed to holders ${owedToHolders}`);
      assert.equal(sumEscrow, model.totalEscrow(), `${ctx}: Σ escrow`);
      assert.equal(sumFees, model.totalFees(), `${ctx}: Σ fees`);
      // (4) total paid in == escrow + fees (unclaimed + claimed) + royalties credited + withdrawn.
      const sumRevenue = revenue.reduce((s, x) => s + x, 0n);
      assert.equal(model.paidIn, sumEscrow + sumFees + model.feesClaimed + sumRevenue + model.withdrawn, `${ctx}: paid in vs accounted`);
      assert.equal(model.feesAccrued, sumFees + model.feesClaimed, `${ctx}: fees accrued`);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Actions. Each returns a description, or null when it does not apply in the current state (another is drawn).
    // ---------------------------------------------------------------------------------------------------------------
    const pickModel = () => rng.pick(modelIds);

    async function deposit(): Promise<string | null> {
      const from = rng.pick(payers);
      const to = rng.chance(0.2) ? rng.pick(payers) : from;
      const amount = rng.chance(0.3) ? rng.big(1n, 1_000n) : rng.big(1_000n, 3_000_000n);
      if (to === from) await vault.write.deposit([amount], { account: from.account });
      else await vault.write.depositFor([addr(to), amount], { account: from.account });
      model.deposit(addr(to), amount);
      addWallet(addr(from), -amount);
      return `deposit ${amount} by ${addr(from)} for ${addr(to)}`;
    }

    async function signVouchers(): Promise<string | null> {
      const n = 1 + rng.int(3);
      const parts: string[] = [];
      for (let i = 0; i < n; i++) {
        const payer = rng.pick(payers);
        const operator = rng.pick(operators);
        const modelId = pickModel();
        const lane = rng.pick(LANES);
        const key = MoneyModel.tabKey(addr(payer), addr(operator), modelId, lane);
        const cum = signedCum.get(key) ?? { amount: 0n, calls: 0n };
        // Mostly a few calls; sometimes a burst that outruns the escrow, so settlements go partial.
        const k = BigInt(rng.chance(0.15) ? 50 + rng.int(350) : 1 + rng.int(20));
        const expiry = rng.chance(0.2) ? (await networkHelpers.time.latest().then(BigInt)) + rng.pick([DAY, 2n * DAY]) : 0n;
        const v: ModelVoucher = {
          payer: addr(payer),
          operator: addr(operator),
          modelId,
          lane,
          cumulativeAmount: cum.amount + price.get(modelId)! * k,
          cumulativeCalls: cum.calls + k,
          expiry,
          validSignature: true,
        };
        const voucher = { payer: addr(payer), operator: addr(operator), modelId, lane, cumulativeAmount: v.cumulativeAmount, cumulativeCalls: v.cumulativeCalls, expiry };
        if (rng.chance(0.06)) {
          // A forged voucher (signed by the operator, not the payer) for far more than owed: kept apart, never accepted.
          v.cumulativeAmount += 10n ** 12n;
          voucher.cumulativeAmount = v.cumulativeAmount;
          const signature = await signVoucher(p, operator, voucher);
          forged.push({ v: { ...v, validSignature: false }, signature });
          parts.push(`forged ${key} ${v.cumulativeAmount}`);
          continue;
        }
        const signature = await signVoucher(p, payer, voucher);
        signedCum.set(key, { amount: v.cumulativeAmount, calls: v.cumulativeCalls });
        latest.set(key, { v, signature });
        history.push({ v, signature });
        parts.push(`${key} +${price.get(modelId)! * k}${expiry ? ` exp ${expiry}` : ""}`);
      }
      return `sign ${parts.join(", ")}`;
    }

    async function settle(): Promise<string | null> {
      const pool = [...latest.values()];
      if (pool.length === 0) return null;
      let batch = rng.subset(pool, 0.4);
      if (history.length && rng.chance(0.5)) for (let i = rng.int(4); i >= 0; i--) batch.push(rng.pick(history)); // old ones
      if (forged.length && rng.chance(0.2)) batch.push(rng.pick(forged));
      if (batch.length && rng.chance(0.15)) batch.push(rng.pick(batch)); // the same voucher twice
      if (batch.length === 0) batch.push(rng.pick(pool));
      batch = rng.shuffle(batch).slice(0, 1 + rng.int(batch.length));
      const sender = rng.chance(0.8) ? rng.pick(operators) : rng.pick(holders);
      const args = batch.map((s) => ({
        voucher: { payer: s.v.payer as Address, operator: s.v.operator as Address, modelId: s.v.modelId, lane: s.v.lane, cumulativeAmount: s.v.cumulativeAmount, cumulativeCalls: s.v.cumulativeCalls, expiry: s.v.expiry },
        signature: s.signature,
      }));
      const receipt = await receiptOf(await vault.write.settle([args], { account: sender.account }));
      const ts = await blockTime(receipt.blockNumber);
      const outcomes = model.settle(batch.map((s) => s.v), (v) => ts > v.expiry);
      // Per voucher, the contract emits exactly one VoucherSettled or VoucherRejected, in order: compare with the model.
      const events = parseEventLogs({ abi: vault.abi, logs: receipt.logs, eventName: ["VoucherSettled", "VoucherRejected"] });
      const seen: Outcome[] = events.map((e) =>
        e.eventName === "VoucherSettled"
          ? { accepted: true, charged: e.args.charged, settledAmount: e.args.settledAmount, settledCalls: BigInt(e.args.settledCalls), shortfall: e.args.shortfall }
          : { accepted: false, reason: Number(e.args.reason) },
      );
      assert.deepEqual(seen, outcomes, `seed ${SEED}: settle outcomes`);
      for (const o of outcomes) {
        if (o.accepted) {
          seenStats.accepted++;
          if (o.shortfall > 0n) seenStats.partial++;
        } else if (o.reason === Reject.Stale) seenStats.stale++;
        else if (o.reason === Reject.Expired) seenStats.expired++;
        else if (o.reason === Reject.BadSignature) seenStats.badSignature++;
        else if (o.reason === Reject.EmptyEscrow) seenStats.emptyEscrow++;
      }
      const desc = outcomes.map((o) => (o.accepted ? `+${o.charged}${o.shortfall ? `(short ${o.shortfall})` : ""}` : `rej${o.reason}`));
      return `settle ${batch.length} [${desc.join(" ")}]`;
    }

    async function exact(): Promise<string | null> {
      const n = rng.chance(0.25) ? 2 + rng.int(3) : 1;
      const operator = rng.pick(operators);
      const payments = [];
      for (let i = 0; i < n; i++) {
        const from = rng.pick(payers);
        const modelId = pickModel();
        const value = rng.chance(0.2) ? rng.big(1n, 99n) : price.get(modelId)! * BigInt(1 + rng.int(10));
        const auth = { from: addr(from), to: sharesOf.get(modelId)!.address, value, validAfter: 0n, validBefore: 2n ** 40n, nonce: rng.hex32() };
        const signature = await signAuthorization(p, from, auth);
        payments.push({ modelId, from: auth.from, value, validAfter: auth.validAfter, validBefore: auth.validBefore, nonce: auth.nonce, signature });
      }
      if (n === 1 && rng.chance(0.7)) await vault.write.payExact([payments[0]!], { account: operator.account });
      else await vault.write.payExactBatch([payments], { account: operator.account });
      for (const x of payments) {
        model.exactPayment(x.modelId, addr(operator), x.value);
        addWallet(x.from, -x.value);
      }
      return `exact x${n} by ${addr(operator)}: ${payments.map((x) => `M${x.modelId}:${x.value}`).join(" ")}`;
    }

    async function straySweep(): Promise<string | null> {
      const from = rng.pick(payers);
      const modelId = pickModel();
      const value = rng.big(1n, 50_000n);
      await usdc.write.transfer([sharesOf.get(modelId)!.address, value], { account: from.account });
      addWallet(addr(from), -value);
      model.paidIn += value;
      await vault.write.sweep([modelId], { account: rng.pick(holders).account });
      model.split(modelId, null, value);
      return `stray ${value} to M${modelId}, swept`;
    }

    async function transferShares(): Promise<string | null> {
      const modelId = pickModel();
      const book = model.books.get(modelId)!;
      const candidates = holders.filter((h) => (book.balances.get(addr(h)) ?? 0n) > 0n);
      if (candidates.length === 0) return null;
      const from = rng.pick(candidates);
      const bal = book.balances.get(addr(from))!;
      const to = rng.chance(0.1) ? from : rng.pick(holders);
      const r = rng.float();
      const value = r < 0.15 ? bal : r < 0.22 ? 0n : r < 0.4 ? rng.big(1n, 1_000n) % (bal + 1n) : rng.big(1n, bal);
      await sharesOf.get(modelId)!.write.transfer([addr(to), value], { account: from.account });
      book.transfer(addr(from), addr(to), value);
      return `transfer M${modelId} ${value} ${addr(from)} -> ${addr(to)}`;
    }

    async function claim(): Promise<string | null> {
      const h = rng.pick(holders);
      let ids = rng.subset(modelIds, 0.6);
      if (ids.length === 0) ids = [pickModel()];
      if (rng.chance(0.1)) ids.push(rng.pick(ids)); // a model listed twice pays once
      const expected = [...new Set(ids)].reduce((s, id) => s + claimableNow.get(ck(id, addr(h)))!, 0n);
      if (expected === 0n) {
        await viem.assertions.revertWithCustomError(vault.write.claim([ids], { account: h.account }), vault, "NothingToClaim");
        return `claim ${ids.join(",")} by ${addr(h)}: nothing (reverted)`;
      }
      const receipt = await receiptOf(await vault.write.claim([ids], { account: h.account }));
      const perModel = parseEventLogs({ abi: models[0]!.shares.abi, logs: receipt.logs, eventName: "RoyaltiesClaimed" });
      let total = 0n;
      for (const e of perModel) {
        const id = sharesAddr.get(e.address.toLowerCase())!;
        assert.equal(e.args.holder.toLowerCase(), addr(h).toLowerCase());
        assert.equal(e.args.amount, claimableNow.get(ck(id, addr(h))), `seed ${SEED}: claim of model ${id} pays what was claimable`);
        model.books.get(id)!.claim(addr(h), e.args.amount);
        total += e.args.amount;
      }
      const [claimed] = parseEventLogs({ abi: vault.abi, logs: receipt.logs, eventName: "Claimed" });
      assert.equal(claimed!.args.amount, total);
      assert.equal(total, expected);
      addWallet(addr(h), total);
      return `claim ${ids.join(",")} by ${addr(h)}: ${total}`;
    }

    async function claimFees(): Promise<string | null> {
      const w = rng.pick(feeAccounts);
      if ((model.fees.get(addr(w)) ?? 0n) === 0n) {
        await viem.assertions.revertWithCustomError(vault.write.claimFees({ account: w.account }), vault, "NothingToClaim");
        return `claimFees ${addr(w)}: nothing (reverted)`;
      }
      await vault.write.claimFees({ account: w.account });
      const amount = model.claimFees(addr(w));
      addWallet(addr(w), amount);
      return `claimFees ${addr(w)}: ${amount}`;
    }

    async function requestWithdrawal(): Promise<string | null> {
      const payer = rng.pick(payers);
      const e = model.escrowOf(addr(payer));
      if (rng.chance(0.1)) {
        await viem.assertions.revertWithCustomError(vault.write.requestWithdrawal([e.balance + 1n], { account: payer.account }), vault, "InsufficientEscrow");
        return `requestWithdrawal above escrow by ${addr(payer)} (reverted)`;
      }
      if (e.balance === 0n) return null;
      const amount = rng.chance(0.3) ? e.balance : rng.big(1n, e.balance);
      const receipt = await receiptOf(await vault.write.requestWithdrawal([amount], { account: payer.account }));
      model.requestWithdrawal(addr(payer), amount, (await blockTime(receipt.blockNumber)) + WITHDRAWAL_DELAY);
      return `requestWithdrawal ${amount} by ${addr(payer)}`;
    }

    async function withdraw(): Promise<string | null> {
      const pending = payers.filter((w) => model.escrowOf(addr(w)).pending > 0n);
      const payer = pending.length && rng.chance(0.8) ? rng.pick(pending) : rng.pick(payers);
      const e = model.escrowOf(addr(payer));
      if (e.pending === 0n) {
        if (!rng.chance(0.2)) return null;
        await viem.assertions.revertWithCustomError(vault.write.withdraw({ account: payer.account }), vault, "NoPendingWithdrawal");
        return `withdraw by ${addr(payer)}: none pending (reverted)`;
      }
      const now = BigInt(await networkHelpers.time.latest());
      if (now + 60n < e.unlockAt && rng.chance(0.25)) {
        await viem.assertions.revertWithCustomError(vault.write.withdraw({ account: payer.account }), vault, "WithdrawalLocked");
        return `withdraw by ${addr(payer)}: locked (reverted)`;
      }
      if (now < e.unlockAt) await networkHelpers.time.increase(e.unlockAt - now + rng.big(0n, 900n));
      const receipt = await receiptOf(await vault.write.withdraw({ account: payer.account }));
      if (e.pending > e.balance) seenStats.withdrawShort++;
      const amount = model.withdraw(addr(payer));
      const [ev] = parseEventLogs({ abi: vault.abi, logs: receipt.logs, eventName: "Withdrawn" });
      assert.equal(ev!.args.amount, amount, `seed ${SEED}: withdrawn amount`);
      addWallet(addr(payer), amount);
      return `withdraw by ${addr(payer)}: ${amount}`;
    }

    async function cancelWithdrawal(): Promise<string | null> {
      const payer = rng.pick(payers);
      if (model.escrowOf(addr(payer)).pending === 0n) return null;
      await vault.write.cancelWithdrawal({ account: payer.account });
      model.cancelWithdrawal(addr(payer));
      return `cancelWithdrawal by ${addr(payer)}`;
    }

    async function setPrice(): Promise<string | null> {
      const modelId = pickModel();
      const value = rng.big(1n, 50_000n);
      await p.registry.write.setPrice([modelId, value], { account: owner.account });
      price.set(modelId, value);
      return `setPrice M${modelId} ${value}`;
    }

    async function setOperatorFee(): Promise<string | null> {
      const modelId = pickModel();
      const bps = rng.chance(0.2) ? 0n : rng.big(0n, 3_000n);
      await p.registry.write.setOperatorFee([modelId, Number(bps)], { account: owner.account });
      model.terms.get(modelId)!.operatorFeeBps = bps;
      return `setOperatorFee M${modelId} ${bps}`;
    }

    async function timeWarp(): Promise<string | null> {
      const dt = rng.big(DAY / 2n, 3n * DAY);
      await networkHelpers.time.increase(dt);
      return `time +${dt}s`;
    }

    const actions = {
      deposit,
      signVouchers,
      settle,
      exact,
      straySweep,
      transferShares,
      claim,
      claimFees,
      requestWithdrawal,
      withdraw,
      cancelWithdrawal,
      setPrice,
      setOperatorFee,
      timeWarp,
    };
    const weights: Record<keyof typeof actions, number> = {
      deposit: 12,
      signVouchers: 18,
      settle: 16,
      exact: 8,
      straySweep: 2,
      transferShares: 12,
      claim: 10,
      claimFees: 5,
      requestWithdrawal: 5,
      withdraw: 6,
      cancelWithdrawal: 1,
      setPrice: 2,
      setOperatorFee: 1,
      timeWarp: 2,
    };

    await checkInvariants(0);
    for (let step = 1; step <= STEPS; step++) {
      let name: keyof typeof actions | undefined;
      let desc: string | null = null;
      try {
        do {
          name = rng.weighted(weights);
          desc = await actions[name]();
        } while (desc === null);
        counts[name] = (counts[name] ?? 0) + 1;
        if (desc.endsWith("(reverted)")) seenStats.reverts++;
        recent.push(`${step}: ${desc}`);
        if (recent.length > 25) recent.shift();
        await checkInvariants(step);
      } catch (err) {
        console.error(`invariants FAILED at step ${step} (reproduce with INVARIANT_SEED=${SEED} INVARIANT_STEPS=${STEPS})`);
        if (desc === null) console.error(`failing action: ${name} (in progress)`);
        console.error(`recent steps:\n  ${recent.join("\n  ")}`);
        throw err;
      }
    }

    // The walk must actually have exercised what it claims to.
    const settled = [...model.tabs.values()].filter((t) => t.settled > 0n).length;
    const credited = modelIds.map((id) => model.books.get(id)!.credited);
    console.log(
      `invariants: seed ${SEED}, ${STEPS} steps in ${((Date.now() - started) / 1000).toFixed(1)}s; actions ${JSON.stringify(counts)}; ` +
        `settle ${JSON.stringify(seenStats)}; holder checks ${JSON.stringify(tally)}; credited ${credited.join("/")}; paid in ${model.paidIn}, withdrawn ${model.withdrawn}, fees ${model.feesAccrued}`,
    );
    if (STEPS >= 300) {
      for (const a of ["deposit", "signVouchers", "settle", "exact", "transferShares", "claim", "withdraw"] as const) {
        assert.ok((counts[a] ?? 0) > 0, `action ${a} ran at least once`);
      }
      assert.ok(settled > 0 && credited.every((c) => c > 0n), "every model earned revenue");
      assert.ok(seenStats.accepted > 0 && seenStats.partial > 0 && seenStats.stale > 0 && seenStats.emptyEscrow > 0, "settlement paths exercised");
    }
  });

  it("rounding edge: a holder who received shares can hold floor(E)+1 (ModelShares NatSpec only allows floor or floor-1), the sender floor(E)-1, sum <= credited", async () => {
    // ModelShares' NatSpec states "floor of its exact pro-rata share, or one unit less". After a transfer, the receiver's
    // correction uses the floored accumulator, so it can end up to received/1e36 units *above* its exact share; here
    // that crosses an integer. Money is safe: the sender is one unit below and the unit shortfall is carried.
    const p = await deployProtocol(viem, { protocolFeeBps: Number(PROTOCOL_FEE_BPS), withdrawalDelay: WITHDRAWAL_DELAY });
    const [a, b, payer] = p.others;
    const S = 3n * 10n ** 24n;
    const { modelId, shares } = await mintModel(p, viem, { holders: [{ address: addr(a!), amount: S }], label: "edge" });
    const book = new HolderBook([[addr(a!), S]]);
    await p.usdc.write.mint([addr(payer!), 10n]);
    async function strayRevenue(amount: bigint) {
      // A sweep has no operator, and the protocol fee on < 73 units rounds to 0: the holders get exactly `amount`.
      await p.usdc.write.transfer([shares.address, amount], { account: payer!.account });
      await p.vault.write.sweep([modelId]);
      book.credit(amount);
    }
    await strayRevenue(1n); // rps = floor(1e36 / 3e24) = 333333333333, a third of a step carried as dust
    const v = S / 2n - 1n;
    await shares.write.transfer([addr(b!), v], { account: a!.account });
    book.transfer(addr(a!), addr(b!), v);
    await strayRevenue(2n); // rps = 1e12 exactly
    const [ca, cb] = await Promise.all([shares.read.claimable([addr(a!)]), shares.read.claimable([addr(b!)])]);
    // Exact shares: A = 2 + 2/3e24 (floor 2), B = 1 - 2/3e24 (floor 0).
    assert.equal(book.earnedNum.get(addr(b!))! / S, 0n);
    assert.equal(book.earnedNum.get(addr(a!))! / S, 2n);
    assert.equal(cb, 1n, "receiver holds floor(E) + 1");
    assert.equal(ca, 1n, "sender holds floor(E) - 1");
    assert.deepEqual(book.check(addr(b!), cb), { kind: "above" });
    assert.deepEqual(book.check(addr(a!), ca), { kind: "below" });
    assert.ok(ca + cb <= book.credited, "never more than credited in total");
    function addr(w: Wallet) {
      return w.account.address;
    }
  });
});
