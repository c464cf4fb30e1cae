// The voucher scheme's client inside an unmodified @x402/fetch: an app registers it on its x402Client with one call
// and pays a real gateway; the scheme's onPaymentResponse hook adopts lane states, checks receipts, and turns a
// corrective 402 into @x402/fetch's one retry.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { x402Client } from "@x402/core/client";
import { wrapFetchWithPayment } from "@x402/fetch";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { ReceiptError } from "../../sdk/x402/errors.ts";
import { MemoryLaneStore } from "../../sdk/x402/lane-store.ts";
import { VoucherSchemeClient } from "../../sdk/x402/voucher-client.ts";
import { decodeHeader, encodeHeader, recordingFetch, rewritingFetch } from "../helpers/fetch-wire.ts";
import { startPaidGateway, type PaidGateway } from "../helpers/paid-gateway.ts";

const PRICE = 2_000n;
const BODY = JSON.stringify({ inputs: { input: { dims: [1, 4], data: [1, 2, 3, 4] } } });

interface VoucherResponse {
  success: boolean;
  payer: string;
  amount: string;
  extra: { lane: { lane: number; cumulativeAmount: string; cumulativeCalls: string }; receipt: { receipt: { payer: string; cumulativeAmount: string } } };
}

describe("VoucherSchemeClient in an unmodified @x402/fetch", () => {
  let g: PaidGateway;

  before(async () => {
    g = await startPaidGateway();
  });

  after(async () => g?.stop());

  async function newPayer(escrow = 1_000_000n): Promise<PrivateKeyAccount> {
    const account = privateKeyToAccount(generatePrivateKey());
    if (escrow > 0n) await g.fund(account.address, { escrow });
    return account;
  }

  /** What an app writes: one register call, and spend controls that allow the local test USDC. */
  function appClient(scheme: VoucherSchemeClient, maxAmountPerPayment = PRICE.toString()) {
    return new x402Client()
      .register("eip155:31337", scheme)
      .setSpendControls({ allowedAssets: [{ network: "eip155:31337", asset: g.chain.deployment.stablecoin.address, maxAmountPerPayment }] });
  }

  const infer = (pay: typeof fetch) => pay(`${g.gateway.url}/v1/models/1/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: BODY });

  it("pays calls with vouchers on one lane, one register(...) away", async () => {
    const payer = await newPayer();
    const wire = recordingFetch();
    const pay = wrapFetchWithPayment(wire.fetch, appClient(new VoucherSchemeClient({ signer: payer })));
    for (let i = 1n; i <= 2n; i++) {
      const response = await infer(pay);
      assert.equal(response.status, 200);
      const settled = decodeHeader(response.headers.get("PAYMENT-RESPONSE")!) as VoucherResponse;
      assert.equal(settled.success, true);
      assert.equal(settled.payer, payer.address);
      assert.equal(settled.amount, PRICE.toString());
      assert.deepEqual([settled.extra.lane.lane, settled.extra.lane.cumulativeAmount, settled.extra.lane.cumulativeCalls], [0, (PRICE * i).toString(), i.toString()]);
      const body = (await response.json()) as { outputs: { probabilities: { dims: number[] } } };
      assert.deepEqual(body.outputs.probabilities.dims, [1, 3]);
    }
    // @x402/fetch asks first every time: an unpaid 402, then the paid call.
    assert.deepEqual(
      wire.log.map((e) => [e.status, e.paid]),
      [
        [402, false],
        [200, true],
        [402, false],
        [200, true],
      ],
    );
  });

  it("resynchronises a client that lost its lane states through @x402/fetch's retry", async () => {
    const payer = await newPayer();
    const first = wrapFetchWithPayment(fetch, appClient(new VoucherSchemeClient({ signer: payer })));
    for (let i = 0; i < 2; i++) assert.equal((await infer(first)).status, 200);

    const wire = recordingFetch();
    const restarted = wrapFetchWithPayment(wire.fetch, appClient(new VoucherSchemeClient({ signer: payer, laneStore: new MemoryLaneStore() })));
    const response = await infer(restarted);
    assert.equal(response.status, 200);
    const settled = decodeHeader(response.headers.get("PAYMENT-RESPONSE")!) as VoucherResponse;
    assert.equal(settled.extra.lane.cumulativeAmount, (3n * PRICE).toString());
    assert.deepEqual(
      wire.log.map((e) => [e.status, e.paid, e.code]),
      [
        [402, false, "payment_required"],
        [402, true, "voucher_out_of_sync"],
        [200, true, undefined],
      ],
    );
  });

  it("checks the receipt in PAYMENT-RESPONSE and makes the fetch fail when it does not match", async () => {
    const payer = await newPayer();
    const forging = rewritingFetch((answer) => {
      const header = answer.headers.get("PAYMENT-RESPONSE");
      if (!header) return undefined;
      const settled = decodeHeader(header) as VoucherResponse;
      settled.extra.receipt.receipt.payer = "0x000000000000000000000000000000000000dEaD";
      answer.headers.set("PAYMENT-RESPONSE", encodeHeader(settled));
      return answer;
    });
    const scheme = new VoucherSchemeClient({ signer: payer });
    await assert.rejects(infer(wrapFetchWithPayment(forging, appClient(scheme))), (error: unknown) => {
      assert.ok(error instanceof ReceiptError);
      assert.match(error.message, /^the gateway's receipt does not check out: signed by 0x[0-9a-fA-F]{40}, not by the operator/);
      return true;
    });
    // The voucher was accepted all the same, and the scheme moved its lane on.
    const lanes = await scheme.lanes({ network: "eip155:31337", vault: g.chain.deployment.contracts.vault, payer: payer.address, operator: g.gateway.operator, modelId: "1" });
    assert.deepEqual(lanes.map((l) => [l.lane, l.cumulativeAmount]), [[0, PRICE.toString()]]);
  });

  it("leaves the lane where it was when the payment is refused", async () => {
    const payer = await newPayer(0n);
    const scheme = new VoucherSchemeClient({ signer: payer });
    const pay = wrapFetchWithPayment(fetch, appClient(scheme));
    const refused = await infer(pay);
    assert.equal(refused.status, 402);
    assert.equal((decodeHeader(refused.headers.get("PAYMENT-REQUIRED")!) as { error: string }).error, "insufficient_escrow");
    await g.fund(payer.address, { escrow: PRICE });
    let response = await infer(pay);
    for (let i = 0; response.status === 402 && i < 50; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100)); // until the gateway has seen the deposit
      response = await infer(pay);
    }
    assert.equal(response.status, 200);
    const settled = decodeHeader(response.headers.get("PAYMENT-RESPONSE")!) as VoucherResponse;
    assert.deepEqual([settled.extra.lane.lane, settled.extra.lane.cumulativeAmount], [0, PRICE.toString()]);
  });

  it("honours the app's spend controls: a price above maxAmountPerPayment is refused before signing", async () => {
    const payer = await newPayer();
    const wire = recordingFetch();
    const pay = wrapFetchWithPayment(wire.fetch, appClient(new VoucherSchemeClient({ signer: payer }), (PRICE - 1n).toString()));
    await assert.rejects(infer(pay), /rejected by spendControls\.allowedAssets maxAmountPerPayment/);
    assert.deepEqual(wire.paidCalls(), []);
    const own = wrapFetchWithPayment(wire.fetch, appClient(new VoucherSchemeClient({ signer: payer, maxPricePerCall: PRICE - 1n })));
    await assert.rejects(infer(own), /costs 2000 base units per call, above the limit of 1999 \(maxPricePerCall\)/);
    assert.deepEqual(wire.paidCalls(), []);
  });

  it("refuses requirements for another vault than the one it was told to pay into", async () => {
    const payer = await newPayer();
    const elsewhere = privateKeyToAccount(generatePrivateKey()).address;
    const pay = wrapFetchWithPayment(fetch, appClient(new VoucherSchemeClient({ signer: payer, vault: elsewhere })));
    await assert.rejects(infer(pay), new RegExp(`asks for vouchers on vault ${g.chain.deployment.contracts.vault}, not the expected vault ${elsewhere}`));
  });
});
