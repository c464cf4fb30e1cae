// The settlement worker against a real chain: vouchers signed by real payers, accepted by a real ledger (SQLite and
// PostgreSQL), settled on-chain in batches; lanes chosen by amount, age and pending withdrawal; what the vault
// rejects or only partly charges is recorded with its reason; metrics on a prom-client registry.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Registry } from "prom-client";
import { createWalletClient, decodeFunctionData, http, type Address } from "viem";
import { hardhat } from "viem/chains";
import { OperatorSender } from "../../gateway/chain/sender.ts";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PostgresLedger } from "../../gateway/ledger/postgres.ts";
import type { Ledger } from "../../gateway/ledger/types.ts";
import { registerSettlementMetrics } from "../../gateway/settlement/metrics.ts";
import { vaultAbi } from "../../sdk/contracts.ts";
import { signVoucher } from "../../sdk/vouchers.ts";
import { POSTGRES_URL, dropSchema, uniqueSchema } from "./ledger-helpers.ts";
import { PRICE, recordingLogger, settlementChain, type Payer, type SettlementChain } from "./settlement-helpers.ts";

describe("settlement worker", () => {
  let chain: SettlementChain;
  const schema = uniqueSchema("worker");

  before(async () => {
    chain = await settlementChain();
  });
  after(async () => {
    await chain?.stop();
    await dropSchema(schema);
  });

  const ledgers: [string, () => Promise<Ledger>][] = [
    ["SQLite", async () => chain.sqlite("batches")],
    ["PostgreSQL", () => PostgresLedger.open({ connectionString: POSTGRES_URL, schema })],
  ];

  for (const [kind, open] of ledgers) {
    it(`settles real payers' vouchers in sorted batches and charges exactly what the ${kind} ledger holds`, async () => {
      const ledger = await open();
      const [m1, m2] = chain.models;
      const payers: Payer[] = [];
      for (let i = 0; i < 3; i++) payers.push(await chain.newPayer(1_000_000n));
      // 3 payers × 2 models × 2 lanes, 1–3 calls each: 12 lanes.
      for (const [p, payer] of payers.entries()) {
        for (const modelId of [m2, m1]) for (const lane of [0, 1]) await chain.pay(ledger, payer, modelId, lane, 1 + ((p + lane) % 3));
      }
      const owed = await Promise.all(payers.map((p) => ledger.unsettledOf(p.address, chain.operator.address)));
      const escrowBefore = await Promise.all(payers.map((p) => chain.escrow(p.address)));
      const nonceBefore = await chain.nonce(chain.operator.address);

      const worker = chain.worker(ledger, { maxBatch: 5 });
      const round = await worker.runOnce({ all: true });
      await worker.stop();

      assert.equal(round.batches, 3, "12 vouchers in batches of at most 5");
      assert.equal(round.vouchers, 12);
      assert.equal(round.settled, 12);
      assert.deepEqual(round.rejected, []);
      assert.equal(round.charged, owed.reduce((a, b) => a + b, 0n));
      assert.equal(round.shortfall, 0n);
      assert.equal(await chain.nonce(chain.operator.address), nonceBefore + 3, "one transaction per batch");

      for (const [i, payer] of payers.entries()) {
        const [balance] = await chain.escrow(payer.address);
        assert.equal(balance, escrowBefore[i]![0] - owed[i]!, "escrow charged exactly what the ledger held");
        assert.equal(await ledger.unsettledOf(payer.address, chain.operator.address), 0n);
      }
      for (const lane of await ledger.lanes(chain.operator.address)) {
        if (!payers.some((p) => p.address === lane.payer)) continue;
        const [settledAmount, settledCalls] = await chain.tab(lane.payer, lane.modelId, lane.lane);
        assert.equal(lane.settledAmount, settledAmount);
        assert.equal(lane.settledCalls, settledCalls);
        assert.equal(lane.settledAmount, lane.cumulativeAmount);
        assert.equal(lane.unsettledSince, null);
      }
      // Sorted by model, then operator, payer and lane: the vault splits once per run of one model.
      const sent = await Promise.all(round.transactions.map((hash) => chain.client.getTransaction({ hash })));
      const vouchers = sent.flatMap((tx) => decodeFunctionData({ abi: vaultAbi, data: tx.input }).args![0] as readonly { voucher: { modelId: bigint } }[]);
      assert.deepEqual(vouchers.map((v) => v.voucher.modelId), [...Array(6).fill(m1), ...Array(6).fill(m2)]);

      const second = chain.worker(ledger);
      const again = await second.runOnce({ all: true });
      await second.stop();
      assert.equal(again.batches, 0, "nothing left to settle");
      assert.equal(await chain.nonce(chain.operator.address), nonceBefore + 3);
      await ledger.close();
    });
  }

  it("settles only the lanes whose amount, age, expiry or payer's pending withdrawal calls for it", async () => {
    const ledger = chain.sqlite("selection");
    const [m1] = chain.models;
    const small = await chain.newPayer(1_000_000n);
    const large = await chain.newPayer(1_000_000n);
    const old = await chain.newPayer(1_000_000n);
    const expiring = await chain.newPayer(1_000_000n);
    const leaving = await chain.newPayer(1_000_000n);
    await chain.pay(ledger, small, m1, 0, 2);
    await chain.pay(ledger, large, m1, 0, 6);
    await chain.pay(ledger, old, m1, 0, 1, { acceptedAt: Date.now() - 2 * 3_600_000 });
    const expiry = BigInt(Math.floor(Date.now() / 1000) + 600);
    await chain.pay(ledger, expiring, m1, 0, 1, { expiry });
    await chain.pay(ledger, leaving, m1, 0, 1);
    // The worker reads escrows of payers it has not seen, then follows WithdrawalRequested events.
    const worker = chain.worker(ledger, { threshold: 5n * PRICE, maxAgeMs: 3_600_000, expiryMarginSec: 3_600 });
    await chain.send(leaving, "requestWithdrawal", [500_000n]);

    const round = await worker.runOnce();
    assert.equal(round.vouchers, 4);
    const unsettled = async (p: Payer) => ledger.unsettledOf(p.address, chain.operator.address);
    assert.equal(await unsettled(small), 2n * PRICE, "below the threshold, recent, no expiry, no withdrawal: waits");
    for (const p of [large, old, expiring, leaving]) assert.equal(await unsettled(p), 0n);

    // A withdrawal requested after the worker first looked at the payer is seen through the vault's events.
    await chain.send(small, "requestWithdrawal", [1n]);
    const next = await worker.runOnce();
    assert.equal(next.vouchers, 1);
    assert.equal(await unsettled(small), 0n);
    await worker.stop();
    await ledger.close();
  });

  it("records what the vault rejects or only partly charges, with the reason, and does not retry it in vain", async () => {
    const ledger = chain.sqlite("rejections");
    const logger = recordingLogger();
    const [m1, m2] = chain.models;
    const emptied = await chain.newPayer(10_000n);
    const partial = await chain.newPayer(2_500n);
    const forged = await chain.newPayer(10_000n);
    await chain.pay(ledger, emptied, m1, 0, 3);
    await chain.pay(ledger, partial, m1, 0, 4);
    // Accepted by the ledger (which does not check signatures) but signed by a key the payer never registered.
    await chain.pay(ledger, forged, m2, 0, 1, { signer: privateKeyToAccount(generatePrivateKey()) });
    // The payer withdraws everything before the operator settles.
    await chain.send(emptied, "requestWithdrawal", [10_000n]);
    await chain.advance(3_601);
    await chain.send(emptied, "withdraw", []);
    assert.equal((await chain.escrow(emptied.address))[0], 0n);

    // Threshold 1: an ordinary round would take every lane that owes anything, were it not for the rejections.
    const worker = chain.worker(ledger, { logger, threshold: 1n });
    const round = await worker.runOnce({ all: true });
    const byPayer = (a: Address) => round.rejected.find((r) => r.payer === a);
    assert.deepEqual(byPayer(emptied.address), { payer: emptied.address, operator: chain.operator.address, modelId: m1, lane: 0, reason: "EmptyEscrow", unsettled: 3n * PRICE });
    assert.deepEqual(byPayer(partial.address), { payer: partial.address, operator: chain.operator.address, modelId: m1, lane: 0, reason: "EmptyEscrow", unsettled: 1_500n });
    assert.equal(byPayer(forged.address)?.reason, "BadSignature");
    assert.equal(round.charged, 2_500n);
    assert.equal(round.shortfall, 1_500n);

    const lane = (p: Payer, modelId: bigint) => ledger.lane({ payer: p.address, operator: chain.operator.address, modelId, lane: 0 });
    assert.equal((await lane(emptied, m1))!.rejected, "EmptyEscrow");
    assert.equal((await lane(forged, m2))!.rejected, "BadSignature");
    const partly = (await lane(partial, m1))!;
    assert.equal(partly.settledAmount, 2_500n, "the part the escrow covered is settled");
    assert.equal(partly.rejected, "EmptyEscrow");
    assert.equal(worker.metrics.rejections.get("EmptyEscrow"), 2);
    assert.equal(worker.metrics.rejections.get("BadSignature"), 1);
    assert.equal(worker.rejections().length, 3);
    const warned = logger.entries.filter((e) => e.level === "warn" && /rejected|partly charged/.test(e.msg ?? ""));
    assert.deepEqual(warned.map((e) => e.obj.reason).sort(), ["BadSignature", "EmptyEscrow", "EmptyEscrow"]);

    // An ordinary round leaves them alone: no transaction for vouchers that would be rejected again.
    const nonce = await chain.nonce(chain.operator.address);
    assert.equal((await worker.runOnce()).batches, 0);
    assert.equal(await chain.nonce(chain.operator.address), nonce);

    // Once the payer deposits again, a forced round collects what is owed; the forged voucher stays out.
    await chain.deposit(emptied, 5_000n);
    await chain.deposit(partial, 5_000n);
    const retry = await worker.runOnce({ all: true });
    assert.equal(retry.vouchers, 2);
    assert.equal(retry.charged, 3n * PRICE + 1_500n);
    assert.equal((await lane(emptied, m1))!.rejected, null);
    assert.equal((await lane(partial, m1))!.settledAmount, 4n * PRICE);
    assert.equal((await lane(forged, m2))!.rejected, "BadSignature");
    await worker.stop();
    await ledger.close();
  });

  it("learns the chain's mark when someone else settled a voucher first (Stale)", async () => {
    const ledger = chain.sqlite("stale");
    const [m1] = chain.models;
    const payer = await chain.newPayer(100_000n);
    await chain.pay(ledger, payer, m1, 3, 2);
    // Anyone may submit vouchers: the payer settles its own latest voucher before the operator does.
    const record = (await ledger.lane({ payer: payer.address, operator: chain.operator.address, modelId: m1, lane: 3 }))!;
    const voucher = { payer: record.payer, operator: record.operator, modelId: m1, lane: 3, cumulativeAmount: record.cumulativeAmount, cumulativeCalls: record.cumulativeCalls, expiry: 0n };
    const hash = await chain.h.wallet(payer.key).writeContract({
      address: chain.vault,
      abi: vaultAbi,
      functionName: "settle",
      args: [[{ voucher, signature: (await signVoucher(payer.account, voucher, 31337, chain.vault)).signature }]],
      chain: undefined,
      account: payer.account,
    });
    await chain.client.waitForTransactionReceipt({ hash });

    const worker = chain.worker(ledger);
    const round = await worker.runOnce({ all: true });
    assert.equal(round.vouchers, 1);
    assert.equal(round.charged, 0n);
    assert.deepEqual(round.rejected, [], "nothing is lost: the vault already holds the payment");
    const after = (await ledger.lane({ payer: payer.address, operator: chain.operator.address, modelId: m1, lane: 3 }))!;
    assert.equal(after.settledAmount, 2n * PRICE);
    assert.equal(after.settledCalls, 2n);
    assert.equal(after.rejected, null);
    await worker.stop();
    await ledger.close();
  });

  it("shares the operator key's nonces with the gateway's other transactions, and recovers from a stale count", async () => {
    const ledger = chain.sqlite("shared-nonces");
    const payer = await chain.newPayer(100_000n);
    await chain.pay(ledger, payer, chain.models[0], 0, 2);
    const wallet = createWalletClient({ account: chain.operator, chain: hardhat, transport: http(chain.h.rpcUrl) });
    const sender = new OperatorSender(chain.client, wallet);
    const worker = chain.worker(ledger, { nonces: sender, threshold: 1n });
    const nonce = await chain.nonce(chain.operator.address);

    // Exact payments (here: two plain calls) and a settlement, all at once through the one sender.
    const [round, ...others] = await Promise.all([
      worker.runOnce(),
      sender.send({ to: chain.operator.address, data: "0x" }),
      sender.send({ to: chain.operator.address, data: "0x" }),
    ]);
    for (const hash of others) assert.equal((await chain.client.waitForTransactionReceipt({ hash })).status, "success");
    assert.equal(round.batches, 1);
    assert.equal(await chain.nonce(chain.operator.address), nonce + 3);
    assert.equal(await ledger.unsettledOf(payer.address, chain.operator.address), 0n);

    // The key is used behind the sender's back: its count is stale, the node refuses the nonce.
    const outside = await chain.h.wallet(chain.operatorKey).sendTransaction({ to: chain.operator.address, value: 0n, chain: undefined, account: chain.operator });
    await chain.client.waitForTransactionReceipt({ hash: outside });
    await chain.pay(ledger, payer, chain.models[0], 0, 1);
    await assert.rejects(worker.runOnce(), /nonce too low/i);
    assert.deepEqual(await ledger.pendingSubmissions(chain.operator.address), [], "a transaction that can never be mined is not left in flight");
    assert.equal(await ledger.unsettledOf(payer.address, chain.operator.address), PRICE);
    const retry = await worker.runOnce();
    assert.equal(retry.batches, 1);
    assert.equal(await ledger.unsettledOf(payer.address, chain.operator.address), 0n);
    assert.equal(await chain.nonce(chain.operator.address), nonce + 5);
    await worker.stop();
    await ledger.close();
  });

  it("publishes its counters and the ledger's unsettled total on a Prometheus registry", async () => {
    const ledger = chain.sqlite("metrics");
    const payer = await chain.newPayer(100_000n);
    await chain.pay(ledger, payer, chain.models[0], 0, 3);
    const worker = chain.worker(ledger);
    const registry = new Registry();
    registerSettlementMetrics(registry, worker);
    const value = async (name: string) => (await registry.getSingleMetric(`modelshare_settlement_${name}`)!.get()).values[0]?.value;

    assert.equal(await value("unsettled_amount"), 3_000);
    assert.equal(await value("unsettled_lanes"), 1);
    assert.equal(await value("last_success_timestamp_seconds"), 0);
    await worker.runOnce({ all: true });
    assert.equal(await value("unsettled_amount"), 0);
    assert.equal(await value("charged_total"), 3_000);
    assert.equal(await value("batches_total"), 1);
    assert.equal(await value("vouchers_total"), 1);
    assert.ok((await value("last_success_timestamp_seconds"))! > 0);
    const text = await registry.metrics();
    assert.match(text, /# TYPE modelshare_settlement_charged_total counter/);
    await worker.stop();
    await ledger.close();
  });
});
