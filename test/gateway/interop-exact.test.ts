// Interop, x402 version 2 `exact`: an unmodified @x402/fetch with @x402/evm's exact EVM client pays a call on the
// local chain, and the money lands in the model's revenue on-chain (the vault's RevenueSplit for the full price, the
// holders' share in the share token's totalRevenue). The only app-side setting is the spend control that allows the
// local test USDC, which is not one of x402's well-known assets.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { x402Client } from "@x402/core/client";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { wrapFetchWithPayment } from "@x402/fetch";
import { parseEventLogs, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { modelSharesAbi, testStablecoinAbi, vaultAbi } from "../../sdk/contracts.ts";
import { verifyReceipt, type SignedReceiptJson } from "../../sdk/receipts.ts";
import { decodeHeader, recordingFetch } from "../helpers/fetch-wire.ts";
import { startPaidGateway, type PaidGateway } from "../helpers/paid-gateway.ts";

const PRICE = 2_000n;
const BODY = JSON.stringify({ inputs: { input: { dims: [1, 4], data: [1, 2, 3, 4] } } });

interface ExactResponse {
  success: boolean;
  transaction: Hex;
  network: string;
  payer: Address;
  amount: string;
  extra: { receipt: SignedReceiptJson };
}

describe("interop: @x402/fetch with @x402/evm's exact client (x402 version 2)", () => {
  let g: PaidGateway;
  let shares: Address;

  before(async () => {
    g = await startPaidGateway();
    shares = ((await (await fetch(`${g.gateway.url}/v1/models/1`)).json()) as { shares: Address }).shares;
  });

  after(async () => g?.stop());

  async function newPayer(wallet: bigint): Promise<PrivateKeyAccount> {
    const account = privateKeyToAccount(generatePrivateKey());
    if (wallet > 0n) await g.fund(account.address, { wallet });
    return account;
  }

  function x402For(payer: PrivateKeyAccount) {
    const client = new x402Client();
    registerExactEvmScheme(client, { signer: payer });
    return client.setSpendControls({ allowedAssets: [{ network: "eip155:31337", asset: g.chain.deployment.stablecoin.address }] });
  }

  const infer = (pay: typeof fetch) => pay(`${g.gateway.url}/v1/models/1/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: BODY });

  const balanceOf = (who: Address) =>
    g.chain.publicClient.readContract({ address: g.chain.deployment.stablecoin.address, abi: testStablecoinAbi, functionName: "balanceOf", args: [who] });
  const totalRevenue = () => g.chain.publicClient.readContract({ address: shares, abi: modelSharesAbi, functionName: "totalRevenue" });

  it("pays a call with an EIP-3009 authorization, and the price lands in the model's revenue", async () => {
    const payer = await newPayer(10n * PRICE);
    const revenueBefore = await totalRevenue();
    const response = await infer(wrapFetchWithPayment(fetch, x402For(payer)));
    assert.equal(response.status, 200);
    const settled = decodeHeader(response.headers.get("PAYMENT-RESPONSE")!) as ExactResponse;
    assert.equal(settled.success, true);
    assert.equal(settled.network, "eip155:31337");
    assert.equal(settled.payer, payer.address);
    assert.equal(settled.amount, PRICE.toString());
    const body = (await response.json()) as { outputs: { probabilities: { dims: number[] } }; payment: { scheme: string; transaction: Hex } };
    assert.deepEqual(body.outputs.probabilities.dims, [1, 3]);
    assert.equal(body.payment.scheme, "exact");
    assert.equal(body.payment.transaction, settled.transaction);

    // On-chain: the authorization moved the price from the payer, and the vault split all of it for model 1.
    const mined = await g.chain.publicClient.getTransactionReceipt({ hash: settled.transaction });
    assert.equal(mined.status, "success");
    const [payment] = parseEventLogs({ abi: vaultAbi, logs: mined.logs, eventName: "ExactPaymentSettled" });
    const [split] = parseEventLogs({ abi: vaultAbi, logs: mined.logs, eventName: "RevenueSplit" });
    assert.equal(payment!.args.modelId, 1n);
    assert.equal(payment!.args.amount, PRICE);
    assert.equal(payment!.args.payer, payer.address);
    assert.equal(split!.args.modelId, 1n);
    assert.equal(split!.args.gross, PRICE);
    assert.equal(split!.args.protocolFee + split!.args.operatorFee + split!.args.upstream + split!.args.holders, PRICE);
    assert.equal((await totalRevenue()) - revenueBefore, split!.args.holders);
    assert.equal(await balanceOf(payer.address), 9n * PRICE);
    assert.equal(await balanceOf(shares), 0n, "the share token forwards what it receives to the vault");

    // The operator's receipt names this payment: the authorization's nonce, the price, one call.
    const check = await verifyReceipt(settled.extra.receipt, { chainId: 31337, vault: g.chain.deployment.contracts.vault }, {
      operator: g.gateway.operator,
      payer: payer.address,
      modelId: 1n,
      payment: payment!.args.nonce,
      cumulativeAmount: PRICE,
      callIndex: 1n,
    });
    assert.deepEqual(check, { ok: true, signer: g.gateway.operator });
  });

  it("refuses the same authorization a second time, and charges nothing for it", async () => {
    const payer = await newPayer(10n * PRICE);
    let header: string | undefined;
    const capturing: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      header ??= request.headers.get("PAYMENT-SIGNATURE") ?? undefined;
      return fetch(request);
    };
    assert.equal((await infer(wrapFetchWithPayment(capturing, x402For(payer)))).status, 200);
    const revenue = await totalRevenue();
    const replayed = await fetch(`${g.gateway.url}/v1/models/1/infer`, { method: "POST", headers: { "content-type": "application/json", "PAYMENT-SIGNATURE": header! }, body: BODY });
    assert.equal(replayed.status, 402);
    assert.equal((decodeHeader(replayed.headers.get("PAYMENT-REQUIRED")!) as { error: string }).error, "authorization_used");
    assert.equal(((await replayed.json()) as { error: { code: string } }).error.code, "authorization_used");
    assert.equal(await balanceOf(payer.address), 9n * PRICE);
    assert.equal(await totalRevenue(), revenue);
  });

  it("answers a payer without the money with insufficient_balance, and nothing lands", async () => {
    const payer = await newPayer(PRICE - 1n);
    const revenue = await totalRevenue();
    const wire = recordingFetch();
    const response = await infer(wrapFetchWithPayment(wire.fetch, x402For(payer)));
    assert.equal(response.status, 402);
    assert.deepEqual(wire.paidCalls().map((e) => e.code), ["insufficient_balance"]);
    assert.equal(await balanceOf(payer.address), PRICE - 1n);
    assert.equal(await totalRevenue(), revenue);
  });
});
