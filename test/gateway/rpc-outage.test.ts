// DESIGN.md §9, an RPC endpoint that goes down: a real gateway whose RPC runs through a proxy the test cuts. While the
// chain cannot be read the gateway keeps serving a payer it already knows, up to the credit limit of unsettled calls,
// refuses the call that would pass it and any payer it has never seen, and says so on /readyz. When the RPC is back
// its settlement worker settles on its own, and the payer pays on past the old limit.
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { parseUnits, type Address, type LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Voucher } from "../../sdk/vouchers.ts";
import { KEYS } from "../cli/harness.ts";
import { startGatewayChain, type GatewayChain, type MintedModel } from "../helpers/gateway-chain.ts";
import { classifierBody, eventually, get, infer, modelAccepts, paymentRequired, type Answer } from "../helpers/gateway-http.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway-instance.ts";
import { TcpProxy } from "../helpers/tcp-proxy.ts";
import { signedVoucherHeader, type Requirement } from "../helpers/x402-payments.ts";

const PRICE = 1_000n;
const CREDIT_LIMIT = "0.005";
const BODY = classifierBody([[0.1, 0.2, 0.3, 0.4]]);
/** Paid calls the known payer makes while the chain is up. */
const BEFORE_OUTAGE = 2;

function wallet(): { account: LocalAccount; address: Address } {
  const account = privateKeyToAccount(generatePrivateKey());
  return { account, address: account.address };
}

// The timeout turns a hang into a failure with a reason rather than a stalled run.
describe("RPC outage: credit limits while the chain is unreachable, settlement once it is back", { timeout: 120_000 }, () => {
  let chain: GatewayChain;
  let proxy: TcpProxy;
  let gw: TestGateway;
  let model: MintedModel;
  let voucherTerms: Requirement;
  let limit: bigint;
  const known = wallet();
  const stranger = wallet();
  const ESCROW = 1_000_000n;

  before(async () => {
    chain = await startGatewayChain();
    limit = parseUnits(CREDIT_LIMIT, chain.harness.deployment.stablecoin.decimals);
    model = await chain.mint({ price: PRICE });
    await chain.deposit(known.address, ESCROW);
    await chain.deposit(stranger.address, ESCROW);
    proxy = new TcpProxy(chain.rpcUrl);
    await proxy.start();
    gw = await startTestGateway(chain, {
      operatorKey: KEYS[2],
      rpcUrl: proxy.url,
      settle: true,
      settings: {
        logLevel: "error",
        // The chain counts as stale two seconds after its last successful poll (polled ten times a second).
        chainPollSeconds: 0.1,
        credit: { limit: CREDIT_LIMIT, staleAfterSeconds: 2 },
        // A lane is due for settlement once it owes the credit limit: never before the outage (2 calls), and by
        // itself, without a manual round, once the outage's calls reach the limit.
        settlement: { intervalSeconds: 0.2, minUnsettled: CREDIT_LIMIT, maxAgeSeconds: 3_600 },
      },
    });
    voucherTerms = (await modelAccepts(gw.url, model.modelId)).voucher;
  });

  after(async () => {
    await gw?.close();
    // The helper's ledger lives in a temp dir of its own.
    if (gw) await rm(path.dirname(gw.ledgerFile), { recursive: true, force: true });
    await proxy?.close();
    await chain?.stop();
  });

  /** One call paid with the voucher that takes `lane` to `calls` calls (price × calls). */
  async function pay(payer: { account: LocalAccount; address: Address }, lane: number, calls: bigint): Promise<Answer> {
    const voucher: Voucher = {
      payer: payer.address,
      operator: gw.operator,
      modelId: model.modelId,
      lane,
      cumulativeAmount: PRICE * calls,
      cumulativeCalls: calls,
      expiry: 0n,
    };
    const { header } = await signedVoucherHeader(payer.account, voucher, { chainId: chain.chainId, vault: chain.vault }, voucherTerms);
    return infer(gw.url, model.modelId, { body: BODY, headers: { "PAYMENT-SIGNATURE": header } });
  }

  function assertPaid(res: Answer, cumulative: bigint): void {
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.payment.cumulativeAmount, cumulative.toString());
    assert.ok(res.body.outputs.probabilities, "the answer carries the model's output");
  }

  function assertRefused(res: Answer, status: number, code: string): void {
    assert.equal(res.status, status, res.text);
    assert.equal(res.body.error.code, code, res.text);
    assert.equal(res.body.outputs, undefined, "a refused call gets no answer");
    if (status === 402) assert.equal(paymentRequired(res).error, code);
  }

  it("serves a known payer up to its credit limit, refuses beyond it and strangers, then settles and pays on", async () => {
    assert.equal(limit % PRICE, 0n, "the limit is a whole number of calls");
    const ready = await get(gw.url, "/readyz");
    assert.equal(ready.status, 200, ready.text);

    // The payer becomes known (escrow cached) while the chain can be read.
    let calls = 0n;
    for (let i = 0; i < BEFORE_OUTAGE; i++) assertPaid(await pay(known, 0, ++calls), PRICE * calls);
    assert.deepEqual(await chain.tab(known.address, gw.operator, model.modelId, 0), { settledAmount: 0n, settledCalls: 0n }, "nothing due yet");

    await proxy.cut();
    const notReady = await eventually("the gateway to see the chain as stale", async () => {
      const res = await get(gw.url, "/readyz");
      return res.status === 503 ? res : undefined;
    });
    assert.equal(notReady.body.status, "not ready");
    assert.ok(
      notReady.body.problems.some((p: string) => /chain|RPC/.test(p)),
      `readyz names the chain: ${notReady.text}`,
    );
    assert.equal(gw.watcher.fresh(), false);

    // The known payer: answered while its unsettled amount stays within the limit, refused at the call that passes it.
    const allowed = limit / PRICE - BigInt(BEFORE_OUTAGE);
    let answered = 0n;
    let refusal: Answer | undefined;
    while (!refusal && answered <= allowed) {
      const res = await pay(known, 0, calls + 1n);
      if (res.status === 200) {
        calls++;
        answered++;
        assertPaid(res, PRICE * calls);
      } else refusal = res;
    }
    assert.equal(answered, allowed, `${answered} calls answered during the outage`);
    assertRefused(refusal!, 402, "credit_limit_reached");
    // The limit is per payer, not per lane: a fresh lane is refused too.
    assertRefused(await pay(known, 1, 1n), 402, "credit_limit_reached");
    assert.equal(await gw.ledger.unsettledOf(known.address, gw.operator), limit);

    // A payer the gateway has never seen: its escrow cannot be read, so it is refused (503: the gateway cannot check
    // the payment now; retrying later helps, paying differently does not) and nothing is recorded for it.
    assertRefused(await pay(stranger, 0, 1n), 503, "chain_unavailable");
    assert.equal(await gw.ledger.lane({ payer: stranger.address, operator: gw.operator, modelId: model.modelId, lane: 0 }), undefined);

    // The chain itself is fine (read directly, not through the proxy): nothing was settled during the outage.
    assert.deepEqual(await chain.tab(known.address, gw.operator, model.modelId, 0), { settledAmount: 0n, settledCalls: 0n });
    assert.equal((await chain.escrow(known.address)).balance, ESCROW);

    // The RPC comes back: the worker settles what was answered by itself, and the gateway is ready again.
    await proxy.restore();
    await eventually("the worker to settle the outage's calls", async () => {
      const tab = await chain.tab(known.address, gw.operator, model.modelId, 0);
      return tab.settledAmount > 0n ? tab : undefined;
    });
    assert.equal(calls, limit / PRICE);
    assert.deepEqual(await chain.tab(known.address, gw.operator, model.modelId, 0), { settledAmount: PRICE * calls, settledCalls: calls });
    assert.deepEqual(await chain.tab(known.address, gw.operator, model.modelId, 1), { settledAmount: 0n, settledCalls: 0n }, "the refused lane was never charged");
    assert.equal((await chain.escrow(known.address)).balance, ESCROW - PRICE * calls);
    await eventually("readyz to recover", async () => ((await get(gw.url, "/readyz")).status === 200 ? true : undefined));
    await eventually("the ledger to record the settlement", async () => ((await gw.ledger.unsettledOf(known.address, gw.operator)) === 0n ? true : undefined));

    // Paying on past the old limit: the refused voucher first (its refusal did not move the lane), then as many again.
    for (let i = 0n; i < limit / PRICE; i++) assertPaid(await pay(known, 0, ++calls), PRICE * calls);
    assert.equal(PRICE * calls, 2n * limit, "the lane is at twice the old limit");
    assertPaid(await pay(known, 1, 1n), PRICE);
    // And the stranger, now that its escrow can be read.
    assertPaid(await pay(stranger, 0, 1n), PRICE);
    // The second limit's worth on lane 0 is due again, and settles like the first.
    await eventually("the second settlement", async () => {
      const tab = await chain.tab(known.address, gw.operator, model.modelId, 0);
      return tab.settledAmount === PRICE * calls ? tab : undefined;
    });
    assert.deepEqual(await chain.tab(known.address, gw.operator, model.modelId, 0), { settledAmount: PRICE * calls, settledCalls: calls });
    assert.equal((await chain.escrow(known.address)).balance, ESCROW - PRICE * calls);
  });
});
