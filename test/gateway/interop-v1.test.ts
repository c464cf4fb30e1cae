// Interop, x402 version 1: the `x402-fetch` package pays with X-PAYMENT on a chain it knows. A local chain with id
// 84532 ("base-sepolia" to version 1) runs as `hardhat node --chain-id 84532`, with the protocol and a test USDC
// deployed; the gateway answers version 1 clients with a version 1 402 body and X-PAYMENT-RESPONSE, and the money
// lands in the model's revenue. The SDK's own client pays on that chain as well.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { decodeXPaymentResponse, wrapFetchWithPayment } from "x402-fetch";
import { createWalletClient, http, parseEventLogs, publicActions, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { modelSharesAbi, testStablecoinAbi, vaultAbi } from "../../sdk/contracts.ts";
import { verifyReceipt, type SignedReceiptJson } from "../../sdk/receipts.ts";
import { createPayingFetch } from "../../sdk/x402/paying-fetch.ts";
import { decodeHeader } from "../helpers/fetch-wire.ts";
import { startPaidGateway, type PaidGateway } from "../helpers/paid-gateway.ts";

const PRICE = 2_000n;
const BODY = JSON.stringify({ inputs: { input: { dims: [1, 4], data: [1, 2, 3, 4] } } });

describe("interop: x402-fetch (x402 version 1) on a local chain with id 84532", () => {
  let g: PaidGateway;
  let shares: Address;

  before(async () => {
    g = await startPaidGateway({ chainId: 84532 });
    shares = ((await (await fetch(`${g.gateway.url}/v1/models/1`)).json()) as { shares: Address }).shares;
  });

  after(async () => g?.stop());

  async function newPayer(wallet: bigint): Promise<PrivateKeyAccount> {
    const account = privateKeyToAccount(generatePrivateKey());
    await g.fund(account.address, { wallet });
    return account;
  }

  const infer = (pay: typeof fetch) => pay(`${g.gateway.url}/v1/models/1/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: BODY });
  const totalRevenue = () => g.chain.publicClient.readContract({ address: shares, abi: modelSharesAbi, functionName: "totalRevenue" });
  const balanceOf = (who: Address) =>
    g.chain.publicClient.readContract({ address: g.chain.deployment.stablecoin.address, abi: testStablecoinAbi, functionName: "balanceOf", args: [who] });

  it("asks version 1 clients in the body, with the network named as version 1 names it", async () => {
    const response = await infer(fetch);
    assert.equal(response.status, 402);
    const body = (await response.json()) as { x402Version: number; accepts: { scheme: string; network: string; maxAmountRequired: string; payTo: Address }[] };
    assert.equal(body.x402Version, 1);
    assert.deepEqual(
      body.accepts.map((a) => [a.scheme, a.network, a.maxAmountRequired, a.payTo]),
      [["exact", "base-sepolia", PRICE.toString(), shares]],
    );
    // Version 2 clients still find their header.
    const required = decodeHeader(response.headers.get("PAYMENT-REQUIRED")!) as { x402Version: number; accepts: { network: string }[] };
    assert.equal(required.x402Version, 2);
    assert.ok(required.accepts.every((a) => a.network === "eip155:84532"));
  });

  it("takes X-PAYMENT from x402-fetch's wrapFetchWithPayment, answers with X-PAYMENT-RESPONSE, and the money lands", async () => {
    const payer = await newPayer(10n * PRICE);
    const wallet = createWalletClient({ account: payer, chain: g.chain.chain, transport: http(g.chain.rpcUrl) }).extend(publicActions);
    const revenueBefore = await totalRevenue();
    const pay = wrapFetchWithPayment(fetch, wallet as never, PRICE) as typeof fetch;
    const response = await infer(pay);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("PAYMENT-RESPONSE"), null);
    const settled = decodeXPaymentResponse(response.headers.get("X-PAYMENT-RESPONSE")!) as unknown as {
      success: boolean;
      transaction: Hex;
      payer: Address;
      amount: string;
      extra: { receipt: SignedReceiptJson };
    };
    assert.equal(settled.success, true);
    assert.equal(settled.payer, payer.address);
    assert.equal(settled.amount, PRICE.toString());
    const body = (await response.json()) as { outputs: { probabilities: { dims: number[] } } };
    assert.deepEqual(body.outputs.probabilities.dims, [1, 3]);

    const mined = await g.chain.publicClient.getTransactionReceipt({ hash: settled.transaction });
    assert.equal(mined.status, "success");
    const [split] = parseEventLogs({ abi: vaultAbi, logs: mined.logs, eventName: "RevenueSplit" });
    assert.equal(split!.args.modelId, 1n);
    assert.equal(split!.args.gross, PRICE);
    assert.equal((await totalRevenue()) - revenueBefore, split!.args.holders);
    assert.equal(await balanceOf(payer.address), 9n * PRICE);
    const check = await verifyReceipt(settled.extra.receipt, { chainId: 84532, vault: g.chain.deployment.contracts.vault }, { operator: g.gateway.operator, payer: payer.address, cumulativeAmount: PRICE });
    assert.deepEqual(check, { ok: true, signer: g.gateway.operator });
  });

  it("lets x402-fetch refuse a price above its maximum, before anything is signed", async () => {
    const payer = await newPayer(10n * PRICE);
    const wallet = createWalletClient({ account: payer, chain: g.chain.chain, transport: http(g.chain.rpcUrl) }).extend(publicActions);
    const pay = wrapFetchWithPayment(fetch, wallet as never, PRICE - 1n) as typeof fetch;
    await assert.rejects(infer(pay), /Payment amount exceeds maximum allowed/);
    assert.equal(await balanceOf(payer.address), 10n * PRICE);
  });

  it("is paid with vouchers on that chain by the SDK's paying fetch", async () => {
    const payer = privateKeyToAccount(generatePrivateKey());
    await g.fund(payer.address, { escrow: 100n * PRICE });
    const pay = createPayingFetch({ account: payer, maxPricePerCall: PRICE, gateway: g.gateway.url });
    const result = await pay.infer(1n, { input: { dims: [1, 4], data: [1, 2, 3, 4] } });
    assert.equal(result.payment.scheme, "modelshare-voucher");
    assert.equal(result.payment.receiptVerified, true);
    assert.equal(result.payment.settlement.network, "eip155:84532");
  });
});
