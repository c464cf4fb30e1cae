// End to end, the money: one payer pays with vouchers on several lanes (the SDK's createPayingFetch), another with
// x402 `exact` (an unmodified @x402/fetch client), both to two models, the second a derivative of the first. After one
// settlement every unit is where README "How the money flows" says: protocol fee to the treasury, operator fee to
// the gateway's operator, the parent's royalty to the parent's holders, the rest to the holders pro rata. The
// expected figures are computed here from the prices, the bps and the call counts, not read back from the gateway.
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { x402Client } from "@x402/core/client";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { wrapFetchWithPayment } from "@x402/fetch";
import { isAddressEqual, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { vaultAbi } from "../../sdk/contracts.ts";
import { createPayingFetch } from "../../sdk/x402/paying-fetch.ts";
import { KEYS } from "../cli/harness.ts";
import { startGatewayChain, type GatewayChain, type MintedModel } from "../helpers/gateway-chain.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway-instance.ts";
import { buildTinyClassifier } from "../helpers/onnx.ts";

const BPS = 10_000n;
const SUPPLY = 1_000n * 10n ** 18n;
const share = (parts: bigint) => (SUPPLY * parts) / 1_000n;
const INPUT = { input: { dims: [1, 4], data: [1, 2, 3, 4] } };

// Prices and bps are chosen so that every part rounds down (none is a whole multiple of 1/10,000 of the price): the
// split of a run of vouchers then differs from the sum of per-call splits, so the granularity is checked too.
const PROTOCOL_FEE_BPS = 250n;
const PARENT = { price: 7_003n, operatorFeeBps: 1_000n };
const CHILD = { price: 3_337n, operatorFeeBps: 500n, parentBps: 1_500n };
// Calls per payer and model.
const VOUCHER_CALLS = { parent: 4, child: 3 };
const EXACT_CALLS = { parent: 1, child: 2 };

interface Split {
  protocolFee: bigint;
  operatorFee: bigint;
  royalty: bigint;
  holders: bigint;
}

/** The vault's split as README and Vault's NatSpec state it: each part on the gross, rounded down; the rest to holders. */
function split(gross: bigint, operatorFeeBps: bigint, parentBps = 0n): Split {
  const protocolFee = (gross * PROTOCOL_FEE_BPS) / BPS;
  const operatorFee = (gross * operatorFeeBps) / BPS;
  const royalty = (gross * parentBps) / BPS;
  return { protocolFee, operatorFee, royalty, holders: gross - protocolFee - operatorFee - royalty };
}

function wallet(): { key: Hex; account: PrivateKeyAccount; address: Address } {
  const key = generatePrivateKey();
  const account = privateKeyToAccount(key);
  return { key, account, address: account.address };
}

// The timeout turns a hang into a failure with a reason rather than a stalled run.
describe("revenue split, end to end: vouchers and exact payments to a model and its derivative", { timeout: 120_000 }, () => {
  let chain: GatewayChain;
  let gw: TestGateway;
  let parent: MintedModel;
  let child: MintedModel;
  const treasury = wallet();
  // Parent: 50 / 30 / 20 %; child: 75 / 25 %. h3 holds both.
  const [h1, h2, h3, h4] = [wallet(), wallet(), wallet(), wallet()];
  const voucherPayer = wallet();
  const exactPayer = wallet();
  const ESCROW = 1_000_000n;
  const WALLET = 1_000_000n;

  before(async () => {
    chain = await startGatewayChain();
    // The deployer owns the vault: a protocol fee and a treasury of the test's own, so nothing else accrues there.
    await chain.send(KEYS[0], { address: chain.vault, abi: vaultAbi, functionName: "setProtocolFee", args: [Number(PROTOCOL_FEE_BPS)] });
    await chain.send(KEYS[0], { address: chain.vault, abi: vaultAbi, functionName: "setTreasury", args: [treasury.address] });
    parent = await chain.mint({
      weights: buildTinyClassifier({ seed: 1 }),
      price: PARENT.price,
      operatorFeeBps: Number(PARENT.operatorFeeBps),
      holders: [
        { address: h1.address, amount: share(500n) },
        { address: h2.address, amount: share(300n) },
        { address: h3.address, amount: share(200n) },
      ],
    });
    child = await chain.mint({
      weights: buildTinyClassifier({ seed: 2 }),
      price: CHILD.price,
      operatorFeeBps: Number(CHILD.operatorFeeBps),
      parents: [{ id: parent.modelId, bps: Number(CHILD.parentBps) }],
      holders: [
        { address: h3.address, amount: share(750n) },
        { address: h4.address, amount: share(250n) },
      ],
    });
    await chain.deposit(voucherPayer.address, ESCROW);
    await chain.mintStablecoin(exactPayer.address, WALLET);
    // The worker is on (the admin route needs it) but nothing is due on its own: one settlement, when the test asks.
    gw = await startTestGateway(chain, {
      operatorKey: KEYS[3],
      settle: true,
      settings: { settlement: { intervalSeconds: 3_600, minUnsettled: "1000", maxAgeSeconds: 3_600 } },
    });
  });

  after(async () => {
    await gw?.close();
    // The helper's ledger lives in a temp dir of its own.
    if (gw) await rm(path.dirname(gw.ledgerFile), { recursive: true, force: true });
    await chain?.stop();
  });

  it("credits treasury, operator, the parent's and the child's holders exactly, and a holder claims its part", async () => {
    assert.equal(await chain.balanceOf(chain.vault), ESCROW, "a fresh chain: the vault holds only the voucher payer's deposit");

    // Vouchers: rounds of concurrent calls, so each model's calls spread over several lanes.
    const pay = createPayingFetch({ account: voucherPayer.account, maxPricePerCall: PARENT.price, gateway: gw.url });
    const paidVouchers: bigint[] = [];
    for (const [model, rounds] of [[parent, [2, 2]], [child, [1, 2]]] as const) {
      for (const concurrent of rounds) {
        const results = await Promise.all(Array.from({ length: concurrent }, () => pay.infer(model.modelId, INPUT)));
        for (const r of results) {
          assert.equal(r.payment.scheme, "modelshare-voucher");
          assert.equal(r.payment.amount, model.price);
          assert.equal(r.payment.receiptVerified, true);
          paidVouchers.push(r.payment.amount);
        }
      }
    }
    assert.equal(paidVouchers.length, VOUCHER_CALLS.parent + VOUCHER_CALLS.child);

    // x402 `exact`: one EIP-3009 transfer per call, paid by an x402 client that knows nothing of Modelshare.
    const x402 = new x402Client();
    registerExactEvmScheme(x402, { signer: exactPayer.account });
    x402.setSpendControls({ allowedAssets: [{ network: `eip155:${chain.chainId}`, asset: chain.stablecoin }] });
    const payExact = wrapFetchWithPayment(fetch, x402);
    for (const [model, calls] of [[parent, EXACT_CALLS.parent], [child, EXACT_CALLS.child]] as const) {
      for (let i = 0; i < calls; i++) {
        const res = await payExact(`${gw.url}/v1/models/${model.modelId}/infer`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ inputs: INPUT }),
        });
        assert.equal(res.status, 200, await res.clone().text());
        const body = (await res.json()) as { payment: { scheme: string; amount: string } };
        assert.equal(body.payment.scheme, "exact");
        assert.equal(body.payment.amount, model.price.toString());
      }
    }

    // Several lanes per model really were used.
    const lanes = (await gw.ledger.lanes(gw.operator)).filter((l) => isAddressEqual(l.payer, voucherPayer.address));
    for (const [model, calls] of [[parent, VOUCHER_CALLS.parent], [child, VOUCHER_CALLS.child]] as const) {
      const ofModel = lanes.filter((l) => l.modelId === model.modelId);
      assert.ok(ofModel.length >= 2, `model ${model.modelId}: ${ofModel.length} lane(s) used`);
      assert.equal(ofModel.reduce((sum, l) => sum + l.cumulativeCalls, 0n), BigInt(calls));
      assert.equal(ofModel.reduce((sum, l) => sum + l.cumulativeAmount, 0n), BigInt(calls) * model.price);
    }

    // One settlement of everything owed, as `modelshare settle --gateway --all` asks for it.
    const settled = await fetch(`${gw.url}/v1/admin/settle`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ all: true }) });
    assert.equal(settled.status, 200);
    const round = (await settled.json()) as { transactions: Hex[]; vouchers: number; charged: string; rejected: unknown[] };
    const voucherGross = { parent: BigInt(VOUCHER_CALLS.parent) * PARENT.price, child: BigInt(VOUCHER_CALLS.child) * CHILD.price };
    assert.equal(round.charged, (voucherGross.parent + voucherGross.child).toString());
    assert.deepEqual(round.rejected, []);
    assert.equal(round.vouchers, lanes.length);
    // The vault splits once per run of consecutive same-(model, operator) vouchers; the worker sorts a batch by model,
    // so a single transaction holds one run per model. The expectations below rely on that.
    assert.equal(round.transactions.length, 1, "everything settled in one transaction");
    for (const lane of lanes) {
      assert.deepEqual(await chain.tab(voucherPayer.address, gw.operator, lane.modelId, lane.lane), { settledAmount: lane.cumulativeAmount, settledCalls: lane.cumulativeCalls });
    }

    // Expected, from the specification: the voucher run of each model is split once; each exact payment on its own.
    const splits: { model: "parent" | "child"; s: Split }[] = [
      { model: "parent", s: split(voucherGross.parent, PARENT.operatorFeeBps) },
      { model: "child", s: split(voucherGross.child, CHILD.operatorFeeBps, CHILD.parentBps) },
      ...Array.from({ length: EXACT_CALLS.parent }, () => ({ model: "parent" as const, s: split(PARENT.price, PARENT.operatorFeeBps) })),
      ...Array.from({ length: EXACT_CALLS.child }, () => ({ model: "child" as const, s: split(CHILD.price, CHILD.operatorFeeBps, CHILD.parentBps) })),
    ];
    const sum = (f: (x: (typeof splits)[number]) => bigint) => splits.reduce((total, x) => total + f(x), 0n);
    const protocolFees = sum((x) => x.s.protocolFee);
    const operatorFees = sum((x) => x.s.operatorFee);
    // The parent's holders get the parent's rest plus the child's royalties; the child's holders the child's rest.
    const parentRevenue = sum((x) => (x.model === "parent" ? x.s.holders : x.s.royalty));
    const childRevenue = sum((x) => (x.model === "child" ? x.s.holders : 0n));
    const gross = sum((x) => x.s.protocolFee + x.s.operatorFee + x.s.royalty + x.s.holders);
    const exactPaid = BigInt(EXACT_CALLS.parent) * PARENT.price + BigInt(EXACT_CALLS.child) * CHILD.price;
    assert.equal(gross, voucherGross.parent + voucherGross.child + exactPaid);
    // A supply of 1e21 divides the accumulator's 1e36 scale, so distributions leave no dust and a holder's claimable is
    // exactly revenue × balance / supply; the call counts make that whole for every holder (checked here, so the
    // vault-balance identity below has no rounding remainder).
    assert.equal(parentRevenue % 10n, 0n);
    assert.equal(childRevenue % 4n, 0n);
    const expectedClaimable = {
      h1: (parentRevenue * 500n) / 1_000n,
      h2: (parentRevenue * 300n) / 1_000n,
      h3: (parentRevenue * 200n) / 1_000n + (childRevenue * 750n) / 1_000n,
      h4: (childRevenue * 250n) / 1_000n,
    };
    const both = [parent.modelId, child.modelId];
    assert.equal(await chain.claimable(h1.address, both), expectedClaimable.h1);
    assert.equal(await chain.claimable(h2.address, both), expectedClaimable.h2);
    assert.equal(await chain.claimable(h3.address, [parent.modelId]), (parentRevenue * 200n) / 1_000n);
    assert.equal(await chain.claimable(h3.address, [child.modelId]), (childRevenue * 750n) / 1_000n);
    assert.equal(await chain.claimable(h3.address, both), expectedClaimable.h3);
    assert.equal(await chain.claimable(h4.address, both), expectedClaimable.h4);
    assert.equal(await chain.fees(treasury.address), protocolFees);
    assert.equal(await chain.fees(gw.operator), operatorFees);

    // The payers paid exactly price × calls, by escrow and by wallet.
    const escrow = await chain.escrow(voucherPayer.address);
    assert.equal(ESCROW - escrow.balance, voucherGross.parent + voucherGross.child);
    assert.equal(escrow.pendingWithdrawal, 0n);
    assert.equal(WALLET - (await chain.balanceOf(exactPayer.address)), exactPaid);

    // Every unit the vault holds is owed to someone: escrow + fees + claimable royalties, nothing more or less.
    const owed = escrow.balance + protocolFees + operatorFees + Object.values(expectedClaimable).reduce((a, b) => a + b, 0n);
    assert.equal(await chain.balanceOf(chain.vault), owed);
    assert.equal(owed, ESCROW + exactPaid);

    // h3 claims both models in one transaction and receives exactly what was claimable.
    await chain.fundGas(h3.address);
    const walletBefore = await chain.balanceOf(h3.address);
    await chain.send(h3.key, { address: chain.vault, abi: vaultAbi, functionName: "claim", args: [both] });
    assert.equal((await chain.balanceOf(h3.address)) - walletBefore, expectedClaimable.h3);
    assert.equal(await chain.claimable(h3.address, both), 0n);
    assert.equal(await chain.balanceOf(chain.vault), owed - expectedClaimable.h3);
    // Nobody else's part moved.
    assert.equal(await chain.claimable(h1.address, both), expectedClaimable.h1);
    assert.equal(await chain.claimable(h4.address, both), expectedClaimable.h4);
  });
});
