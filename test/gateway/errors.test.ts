// DESIGN.md §9, bad input: every malformed header, bad signature, replayed or stale voucher, wrong chain or contract,
// expired voucher, empty escrow, oversized body, wrong tensor shape/type, NaN, unknown model — and every other
// refusal the gateway documents — is answered with its exact status and `{ error: { code, message } }`, a message
// that says what is wrong, and nothing written: the ledger file, the lanes the gateway loads from it, the payers'
// escrow and stablecoin balances are the same after the request as before it. A real gateway on a real chain.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getAddress, recoverTypedDataAddress, type Address, type Hex, type LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { testStablecoinAbi, vaultAbi } from "../../sdk/contracts.ts";
import { VOUCHER_TYPES, voucherDomain, type Voucher } from "../../sdk/vouchers.ts";
import { KEYS } from "../cli/harness.ts";
import { startGatewayChain, type GatewayChain, type MintedModel } from "../helpers/gateway-chain.ts";
import { classifierBody, get, infer, KeptConnection, modelAccepts, paymentRequired, type Answer } from "../helpers/gateway-http.ts";
import { snapshotSqliteLedger, startTestGateway, type TestGateway } from "../helpers/gateway-instance.ts";
import { buildFailingModel, buildSlowModel } from "../helpers/onnx-models.ts";
import {
  authorization,
  encodeHeader,
  exactHeader,
  exactHeaderV1,
  signAuthorization,
  signedVoucherHeader,
  voucherHeader,
  type Authorization,
  type Requirement,
  type StablecoinDomain,
} from "../helpers/x402-payments.ts";

const PRICE = 2_000n;
const ROW = [0.1, 0.2, 0.3, 0.4];
const GOOD = classifierBody([ROW]);
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

describe("gateway errors: every bad request is a 4xx with a code and a reason, and costs nothing", () => {
  let chain: GatewayChain;
  let gw: TestGateway;
  let operator: Address;
  let model: MintedModel;
  let other: MintedModel;
  let paused: MintedModel;
  let slow: MintedModel;
  let failing: MintedModel;
  let accepts: { exact: Requirement; voucher: Requirement };
  let stablecoin: StablecoinDomain;
  const payer = newWallet();
  const broke = newWallet();
  const withdrawing = newWallet();
  const delegating = newWallet();
  const sessionKey = newWallet();
  const shortSessionKey = newWallet();
  const stranger = newWallet();
  const exactPayer = newWallet();
  const exactBroke = newWallet();

  before(async () => {
    chain = await startGatewayChain();
    model = await chain.mint({ price: PRICE });
    other = await chain.mint({ price: PRICE });
    paused = await chain.mint({ price: PRICE });
    slow = await chain.mint({ price: PRICE, weights: buildSlowModel() });
    failing = await chain.mint({ price: PRICE, weights: buildFailingModel() });
    await chain.setPaused(paused.modelId, true);

    await chain.deposit(payer.address, 1_000_000n);
    await chain.deposit(withdrawing.address, 5_000n);
    await chain.fundGas(withdrawing.address);
    await chain.send(withdrawing.key, { address: chain.vault, abi: vaultAbi, functionName: "requestWithdrawal", args: [4_000n] });
    await chain.deposit(delegating.address, 1_000_000n);
    await chain.fundGas(delegating.address);
    const now = await chain.now();
    await chain.send(delegating.key, {
      address: chain.vault,
      abi: vaultAbi,
      functionName: "setSessionSigner",
      args: [sessionKey.address, 2n * PRICE, now + 7_200n],
    });
    await chain.send(delegating.key, {
      address: chain.vault,
      abi: vaultAbi,
      functionName: "setSessionSigner",
      args: [shortSessionKey.address, 100n * PRICE, now + 600n],
    });
    await chain.mintStablecoin(exactPayer.address, 100n * PRICE);

    gw = await startTestGateway(chain, { operatorKey: KEYS[1] });
    operator = gw.operator;
    accepts = await modelAccepts(gw.url, model.modelId);
    stablecoin = { chainId: chain.chainId, address: chain.stablecoin, name: String(accepts.exact.extra.name), version: String(accepts.exact.extra.version) };
  });

  after(async () => {
    await gw?.close();
    await chain?.stop();
  });

  /** What a refused request must leave untouched: the ledger (file and loaded lanes), escrows and balances. */
  async function state() {
    const escrows = await Promise.all([payer, broke, withdrawing, delegating].map((p) => chain.escrow(p.address)));
    const balances = await Promise.all([exactPayer, exactBroke].map((p) => chain.balanceOf(p.address)));
    return { file: snapshotSqliteLedger(gw.ledgerFile), lanes: await gw.ledger.lanes(operator), escrows, balances };
  }

  interface Refusal {
    status: number;
    code: string;
    message: RegExp;
  }

  /** Sends `send()` and checks the refusal: status, code, message, the 402's PAYMENT-REQUIRED, and nothing written. */
  async function refused(send: () => Promise<Answer>, expected: Refusal): Promise<Answer> {
    const before = await state();
    const res = await send();
    assert.equal(res.status, expected.status, `expected ${expected.status} ${expected.code}, got ${res.status}: ${res.text}`);
    assert.ok(res.body?.error, `the answer has no { error } JSON body: ${JSON.stringify(res.text.slice(0, 200))}`);
    assert.equal(res.body.error.code, expected.code, res.text);
    assert.equal(typeof res.body.error.message, "string");
    assert.match(res.body.error.message, expected.message);
    assert.equal(res.body.outputs, undefined, "a refused call must not carry the model's answer");
    if (res.status === 402) {
      const required = paymentRequired(res);
      assert.equal(required.x402Version, 2);
      assert.equal(required.error, expected.code, "PAYMENT-REQUIRED names the same error");
      assert.deepEqual(
        required.accepts.map((a) => a.scheme),
        ["exact", "modelshare-voucher"],
        "a 402 offers fresh payment options",
      );
    }
    assert.deepEqual(await state(), before, `the refused request (${expected.code}) changed the ledger, an escrow or a balance`);
    return res;
  }

  const voucher = (over: Partial<Voucher> = {}, who: LocalAccount = payer): Voucher => ({
    payer: who.address,
    operator,
    modelId: model.modelId,
    lane: 0,
    cumulativeAmount: PRICE,
    cumulativeCalls: 1n,
    expiry: 0n,
    ...over,
  });
  const domain = () => ({ chainId: chain.chainId, vault: chain.vault });
  const pay = async (v: Voucher, signer: LocalAccount = payer, accepted = accepts.voucher) => (await signedVoucherHeader(signer, v, domain(), accepted)).header;
  const paid = (header: string, body: unknown = GOOD, modelId = model.modelId) => infer(gw.url, modelId, { body, headers: { "PAYMENT-SIGNATURE": header } });

  describe("input is checked before payment: refused with a voucher attached, the voucher is not spent", () => {
    let header: string;
    before(async () => {
      header = await pay(voucher({ lane: 0 }));
    });
    const withVoucher = (body: unknown, extra: Record<string, string> = {}) => () =>
      infer(gw.url, model.modelId, { body, headers: { "PAYMENT-SIGNATURE": header, ...extra } });

    it("malformed JSON → 400 malformed_json", async () => {
      await refused(withVoucher('{"inputs": {'), { status: 400, code: "malformed_json", message: /not valid JSON/ });
    });

    it("a body that is not JSON (text/plain, or no content-type) → 415 unsupported_media_type", async () => {
      const send = (contentType: string | null) => () =>
        infer(gw.url, model.modelId, { body: JSON.stringify(GOOD), contentType, headers: { "PAYMENT-SIGNATURE": header } });
      await refused(send("text/plain"), { status: 415, code: "unsupported_media_type", message: /application\/json/ });
      await refused(send(null), { status: 415, code: "unsupported_media_type", message: /application\/json/ });
    });

    it("an oversized body → 413 body_too_large", async () => {
      const body = JSON.stringify({ inputs: { input: { dims: [1, 4], data: ROW } }, padding: "x".repeat(2 * 1024 * 1024) });
      await refused(withVoucher(body), { status: 413, code: "body_too_large", message: /larger than the gateway accepts/ });
    });

    it("a body that is not { inputs } → 400 bad_request", async () => {
      await refused(withVoucher("[1, 2]"), { status: 400, code: "bad_request", message: /must be a JSON object/ });
      await refused(withVoucher({ input: GOOD.inputs }), { status: 400, code: "bad_request", message: /unknown field "input"/ });
      await refused(withVoucher({}), { status: 400, code: "bad_request", message: /no "inputs"/ });
      await refused(withVoucher({ inputs: [1, 2, 3, 4] }), { status: 400, code: "bad_request", message: /"inputs" must be an object/ });
      await refused(withVoucher({ ...GOOD, version: "1" }), { status: 400, code: "bad_request", message: /"version" must be a positive integer/ });
      await refused(withVoucher({ ...GOOD, version: 0 }), { status: 400, code: "bad_request", message: /"version" must be a positive integer/ });
    });

    it("unknown and missing inputs → 400 unknown_input / missing_input", async () => {
      await refused(withVoucher({ inputs: { input: GOOD.inputs.input, extra: [1] } }), { status: 400, code: "unknown_input", message: /unknown input "extra"/ });
      await refused(withVoucher({ inputs: {} }), { status: 400, code: "missing_input", message: /missing input "input"/ });
    });

    it("a wrong tensor shape → 400 bad_shape", async () => {
      const shapes: [unknown, RegExp][] = [
        [{ dims: [1, 5], data: [1, 2, 3, 4, 5] }, /expects dims \[batch, 4\], got \[1, 5\]/],
        [{ dims: [4], data: ROW }, /expects dims/],
        [{ dims: [1, 4], data: [1, 2, 3] }, /3 elements but dims \[1, 4\] need 4/],
        [{ dims: [1, -4], data: ROW }, /dims must be non-negative integers/],
        [{ dims: [0, 4], data: [] }, /is 0; it must be at least 1/],
        [[[1, 2, 3, 4], [1, 2]], /ragged/],
      ];
      for (const [tensor, message] of shapes) {
        await refused(withVoucher({ inputs: { input: tensor } }), { status: 400, code: "bad_shape", message });
      }
    });

    it("a wrong tensor type → 400 bad_type", async () => {
      await refused(withVoucher({ inputs: { input: { type: "int32", dims: [1, 4], data: [1, 2, 3, 4] } } }), {
        status: 400,
        code: "bad_type",
        message: /expects float32, got int32/,
      });
      await refused(withVoucher({ inputs: { input: { type: "float16", dims: [1, 4], data: ROW } } }), {
        status: 400,
        code: "bad_type",
        message: /supported types/,
      });
    });

    it("NaN, Infinity, null and other non-numbers → 400 bad_data", async () => {
      // JSON has no NaN or Infinity: clients send them as strings, or as a number too big for a double.
      for (const element of ['"NaN"', '"Infinity"', '"-Infinity"', "1e309", "-1e309", "3.5e38", "null", "true", '"0.5"', "{}", "[]"]) {
        const body = `{"inputs":{"input":{"dims":[1,4],"data":[0.1,0.2,0.3,${element}]}}}`;
        await refused(withVoucher(body), { status: 400, code: "bad_data", message: /^input "input" element 3 is .+: /u });
      }
    });

    it("a batch above the limit → 413 too_large", async () => {
      const rows = Array.from({ length: 257 }, () => ROW);
      await refused(withVoucher(classifierBody(rows)), { status: 413, code: "too_large", message: /batch of 257; at most 256/ });
    });

    it("an unknown model or version → 404 unknown_model / unknown_version", async () => {
      await refused(() => infer(gw.url, 999n, { body: GOOD, headers: { "PAYMENT-SIGNATURE": header } }), { status: 404, code: "unknown_model", message: /999/ });
      await refused(() => infer(gw.url, "abc", { body: GOOD, headers: { "PAYMENT-SIGNATURE": header } }), {
        status: 404,
        code: "unknown_model",
        message: /"abc" is not a model id/,
      });
      await refused(withVoucher({ ...GOOD, version: 7 }), { status: 404, code: "unknown_version", message: /version 7/ });
    });

    it("a model paused by its owner → 403 model_paused", async () => {
      await refused(() => infer(gw.url, paused.modelId, { body: GOOD }), { status: 403, code: "model_paused", message: /paused/ });
    });

    it("after all that, the voucher they carried still pays for a good call", async () => {
      const res = await paid(header);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.payment.cumulativeAmount, PRICE.toString());
      assert.equal(res.body.payment.cumulativeCalls, "1");
    });
  });

  describe("payment headers", () => {
    it("no payment → 402 payment_required, with everything needed to pay in PAYMENT-REQUIRED", async () => {
      const res = await refused(() => infer(gw.url, model.modelId, { body: GOOD }), { status: 402, code: "payment_required", message: /costs 2000 base units/ });
      const required = paymentRequired(res);
      assert.equal(required.resource.url, `${gw.url}/v1/models/${model.modelId}/infer`);
      const [exact, voucherScheme] = required.accepts;
      assert.deepEqual(exact, {
        scheme: "exact",
        network: `eip155:${chain.chainId}`,
        asset: getAddress(chain.stablecoin),
        amount: PRICE.toString(),
        payTo: model.shares,
        maxTimeoutSeconds: 120,
        extra: { name: "USD Coin", version: "2" },
      });
      assert.equal(voucherScheme!.payTo, chain.vault);
      assert.deepEqual(voucherScheme!.extra, { name: "Modelshare Vault", version: "1", operator, modelId: model.modelId.toString(), maxLanes: 64 });
      assert.deepEqual(res.body.accepts, required.accepts, "the body repeats the header for people");
    });

    it("undecodable PAYMENT-SIGNATURE / X-PAYMENT → 400 malformed_payment that says why", async () => {
      const valid = await pay(voucher({ lane: 1 }));
      const cases: [Record<string, string>, RegExp][] = [
        [{ "PAYMENT-SIGNATURE": "%%% not base64 %%%" }, /not base64/],
        [{ "PAYMENT-SIGNATURE": "abc" }, /not base64/],
        [{ "PAYMENT-SIGNATURE": valid.slice(0, 40) }, /not base64-encoded JSON/],
        [{ "PAYMENT-SIGNATURE": Buffer.from("not json at all").toString("base64") }, /not base64-encoded JSON/],
        [{ "PAYMENT-SIGNATURE": encodeHeader([1, 2]) }, /must hold a JSON object/],
        [{ "PAYMENT-SIGNATURE": encodeHeader({ x402Version: 1, accepted: accepts.voucher, payload: {} }) }, /carries x402Version 1; PAYMENT-SIGNATURE is for version 2/],
        [{ "PAYMENT-SIGNATURE": encodeHeader({ x402Version: "2", accepted: accepts.voucher, payload: {} }) }, /carries x402Version "2"/],
        [{ "PAYMENT-SIGNATURE": encodeHeader({ x402Version: 2, accepted: accepts.voucher }) }, /no payload object/],
        [{ "PAYMENT-SIGNATURE": encodeHeader({ x402Version: 2, payload: {} }) }, /no `accepted` requirements/],
        [{ "PAYMENT-SIGNATURE": encodeHeader({ x402Version: 2, accepted: { scheme: 1 }, payload: {} }) }, /no `accepted` requirements/],
        [{ "X-PAYMENT": encodeHeader({ x402Version: 2, scheme: "exact", network: "base", payload: {} }) }, /X-PAYMENT is for version 1/],
        [{ "X-PAYMENT": encodeHeader({ x402Version: 1, payload: {} }) }, /no scheme or network/],
      ];
      for (const [headers, message] of cases) {
        await refused(() => infer(gw.url, model.modelId, { body: GOOD, headers }), { status: 400, code: "malformed_payment", message });
      }
    });

    it("an oversized payment header → 400 malformed_payment; headers beyond the server's limit → 431 JSON", async () => {
      // 20 KiB: above the gateway's 16 KiB limit for a payment header (gateway/payments/headers.ts), below the
      // server's 32 KiB for all headers, so the gateway itself says what is wrong.
      const before = await state();
      await refused(() => infer(gw.url, model.modelId, { body: GOOD, headers: { "PAYMENT-SIGNATURE": "A".repeat(20 * 1024) } }), {
        status: 400,
        code: "malformed_payment",
        message: /PAYMENT-SIGNATURE header is longer than 16384 characters/,
      });
      // 40 KiB of headers never reach Express: Node's parser refuses them, and the gateway still answers in its shape.
      await refused(() => infer(gw.url, model.modelId, { body: GOOD, headers: { "X-Padding": "A".repeat(40 * 1024) } }), {
        status: 431,
        code: "headers_too_large",
        message: /exceed 32768 bytes/,
      });
      assert.deepEqual(await state(), before);
    });

    it("a scheme the gateway does not take → 402 unsupported_scheme", async () => {
      const header = encodeHeader({ x402Version: 2, accepted: { ...accepts.exact, scheme: "upto" }, payload: {} });
      await refused(() => paid(header), { status: 402, code: "unsupported_scheme", message: /scheme "upto"/ });
    });

    it("another network → 402 wrong_network (v2 CAIP-2, and v1 names on a chain v1 has no name for)", async () => {
      const v = voucher({ lane: 1 });
      const header = await pay(v, payer, { ...accepts.voucher, network: "eip155:1" });
      await refused(() => paid(header), { status: 402, code: "wrong_network", message: /eip155:1; this gateway takes eip155:31337/ });
      const auth = authorization(exactPayer.address, model.shares, PRICE, wallClock());
      const v1 = exactHeaderV1("base-sepolia", auth, await signAuthorization(exactPayer, auth, stablecoin));
      await refused(() => infer(gw.url, model.modelId, { body: GOOD, headers: { "X-PAYMENT": v1 } }), {
        status: 402,
        code: "wrong_network",
        message: /base-sepolia/,
      });
    });
  });

  describe("vouchers", () => {
    it("a voucher payload with missing or ill-formed fields → 402 invalid_voucher", async () => {
      const { signature } = await signedVoucherHeader(payer, voucher({ lane: 2 }), domain(), accepts.voucher);
      const json = { payer: payer.address, operator, modelId: model.modelId.toString(), lane: 2, cumulativeAmount: PRICE.toString(), cumulativeCalls: "1", expiry: "0" };
      const cases: [unknown, RegExp][] = [
        [{ signature }, /no voucher object/],
        [{ voucher: { ...json, payer: "0x1234" }, signature }, /voucher.payer must be an address/],
        [{ voucher: { ...json, operator: 7 }, signature }, /voucher.operator must be an address/],
        // A mixed-case address is an EIP-55 checksum; one wrong letter's case is a typo, refused before any chain read.
        [{ voucher: { ...json, payer: flipCase(payer.address) }, signature }, /voucher.payer has a wrong EIP-55 checksum/],
        [{ voucher: { ...json, operator: flipCase(operator) }, signature }, /voucher.operator has a wrong EIP-55 checksum/],
        [{ voucher: { ...json, lane: -1 }, signature }, /voucher.lane must be an integer/],
        [{ voucher: { ...json, lane: "2" }, signature }, /voucher.lane must be an integer/],
        [{ voucher: { ...json, cumulativeAmount: 2000 }, signature }, /voucher.cumulativeAmount must be a decimal integer string/],
        [{ voucher: { ...json, cumulativeAmount: "-2000" }, signature }, /voucher.cumulativeAmount must be a decimal integer string/],
        [{ voucher: { ...json, cumulativeCalls: (2n ** 64n).toString() }, signature }, /voucher.cumulativeCalls is above its maximum/],
        [{ voucher: { ...json, expiry: "1.5" }, signature }, /voucher.expiry must be a decimal integer string/],
        [{ voucher: json, signature: signature.slice(0, 100) }, /signature must be 65 bytes/],
        [{ voucher: json }, /signature must be 65 bytes/],
      ];
      for (const [payload, message] of cases) {
        const header = encodeHeader({ x402Version: 2, accepted: accepts.voucher, payload });
        await refused(() => paid(header), { status: 402, code: "invalid_voucher", message });
      }
      // All lowercase carries no checksum, and pays.
      const lower = { ...json, payer: payer.address.toLowerCase(), operator: operator.toLowerCase() };
      const res = await paid(encodeHeader({ x402Version: 2, accepted: accepts.voucher, payload: { voucher: lower, signature } }));
      assert.equal(res.status, 200, res.text);
    });

    it("a voucher for another operator or model, or a lane beyond maxLanes → wrong_operator / wrong_model / lane_out_of_range", async () => {
      await refused(async () => paid(await pay(voucher({ lane: 2, operator: stranger.address }))), {
        status: 402,
        code: "wrong_operator",
        message: new RegExp(`names operator ${stranger.address}`, "i"),
      });
      await refused(async () => paid(await pay(voucher({ lane: 2, modelId: other.modelId }))), {
        status: 402,
        code: "wrong_model",
        message: new RegExp(`for model ${other.modelId}, but the request is for model ${model.modelId}`),
      });
      await refused(async () => paid(await pay(voucher({ lane: 64 }))), { status: 402, code: "lane_out_of_range", message: /lane 64 is beyond this gateway's 64 lanes/ });
      await refused(async () => paid(await pay(voucher({ lane: 2 ** 32 - 1 }))), { status: 402, code: "lane_out_of_range", message: /beyond/ });
    });

    it("an expired or soon-expiring voucher → 402 voucher_expires_too_soon; a long-lived one pays", async () => {
      const now = wallClock();
      for (const expiry of [1n, now - 10n, now + 60n, now + 3_000n]) {
        await refused(async () => paid(await pay(voucher({ lane: 3, expiry }))), {
          status: 402,
          code: "voucher_expires_too_soon",
          message: new RegExp(`expires at ${expiry}; it must stay settleable for 3600 s`),
        });
      }
      const res = await paid(await pay(voucher({ lane: 3, expiry: now + 7_200n })));
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.payment.expiry, (now + 7_200n).toString());
    });

    it("a signature by a stranger, a malleable one, or over another chain or vault → 402 bad_signature", async () => {
      const v = voucher({ lane: 4 });
      await refused(async () => paid(await pay(v, stranger)), {
        status: 402,
        code: "bad_signature",
        message: new RegExp(`signed by ${stranger.address}, which is neither the payer nor one of its session keys`, "i"),
      });
      const { signature } = await signedVoucherHeader(payer, v, domain(), accepts.voucher);
      await refused(() => paid(voucherHeader(accepts.voucher, v, highS(signature))), { status: 402, code: "bad_signature", message: /malleable \(high s\)/ });
      const zeroed = `0x${"00".repeat(64)}1b` as Hex;
      await refused(() => paid(voucherHeader(accepts.voucher, v, zeroed)), { status: 402, code: "bad_signature", message: /malformed/ });
      // The payer's own key, but the EIP-712 domain of another chain or another contract: a replay elsewhere.
      for (const wrong of [{ chainId: 1, vault: chain.vault }, { chainId: chain.chainId, vault: chain.harness.deployment.contracts.registry }]) {
        const header = (await signedVoucherHeader(payer, v, wrong, accepts.voucher)).header;
        await refused(() => paid(header), { status: 402, code: "bad_signature", message: /neither the payer nor one of its session keys/ });
      }
      // None of it spent the lane: the right signature still pays its first step.
      const res = await paid(await pay(v));
      assert.equal(res.status, 200, res.text);
    });

    it("a replayed voucher with another input → 402 voucher_out_of_sync with the lane's signed state; the identical retry is answered free", async () => {
      const v1 = voucher({ lane: 5 });
      const { header, signature } = await signedVoucherHeader(payer, v1, domain(), accepts.voucher);
      const first = await paid(header);
      assert.equal(first.status, 200, first.text);

      const res = await refused(() => paid(header, classifierBody([[9, 9, 9, 9]])), {
        status: 402,
        code: "voucher_out_of_sync",
        message: /lane 5 is at 2000 \(1 calls\): the next voucher must carry 4000 and 2 calls, not 2000 and 1/,
      });
      const corrective = paymentRequired(res).accepts.find((a) => a.scheme === "modelshare-voucher")!;
      assert.equal(corrective.extra.payer, payer.address);
      assert.deepEqual(corrective.extra.tabs, [{ lane: 5, cumulativeAmount: PRICE.toString(), cumulativeCalls: "1", expiry: "0", signature }]);
      // The client can check the state is its own: the signature recovers to the payer over that lane state.
      const signer = await recoverTypedDataAddress({
        domain: voucherDomain(chain.chainId, chain.vault),
        types: VOUCHER_TYPES,
        primaryType: "Voucher",
        message: v1,
        signature,
      });
      assert.equal(signer, payer.address);

      const before = await state();
      const retry = await paid(header);
      assert.equal(retry.status, 200, retry.text);
      assert.equal(retry.body.payment.replay, true);
      assert.equal(retry.body.payment.amount, "0");
      assert.deepEqual(retry.body.outputs, first.body.outputs);
      assert.deepEqual(await state(), before, "an identical retry is not charged again");
    });

    it("a stale, skipping or miscounted voucher → 402 voucher_out_of_sync, lane unchanged", async () => {
      const lane = 6;
      for (let step = 1n; step <= 2n; step++) {
        const res = await paid(await pay(voucher({ lane, cumulativeAmount: step * PRICE, cumulativeCalls: step })));
        assert.equal(res.status, 200, res.text);
      }
      const stale = voucher({ lane, cumulativeAmount: PRICE, cumulativeCalls: 1n, expiry: 2n ** 40n });
      const skipping = voucher({ lane, cumulativeAmount: 4n * PRICE, cumulativeCalls: 4n });
      const miscounted = voucher({ lane, cumulativeAmount: 3n * PRICE, cumulativeCalls: 7n });
      const cheap = voucher({ lane, cumulativeAmount: 3n * PRICE - 1n, cumulativeCalls: 3n });
      for (const v of [stale, skipping, miscounted, cheap]) {
        await refused(async () => paid(await pay(v)), {
          status: 402,
          code: "voucher_out_of_sync",
          message: new RegExp(`lane ${lane} is at 4000 \\(2 calls\\): the next voucher must carry 6000 and 3 calls, not ${v.cumulativeAmount} and ${v.cumulativeCalls}`),
        });
      }
    });

    it("a payer with no escrow, or whose pending withdrawal leaves too little → 402 insufficient_escrow", async () => {
      await refused(async () => paid(await pay(voucher({}, broke), broke)), {
        status: 402,
        code: "insufficient_escrow",
        message: /escrow 0 does not cover 2000/,
      });
      await refused(async () => paid(await pay(voucher({}, withdrawing), withdrawing)), {
        status: 402,
        code: "insufficient_escrow",
        message: /escrow 5000 minus a pending withdrawal of 4000 does not cover 2000/,
      });
    });

    it("a session key past its cap, or expiring before the voucher could settle → session_cap_exceeded / session_expired", async () => {
      for (let step = 1n; step <= 2n; step++) {
        const v = voucher({ cumulativeAmount: step * PRICE, cumulativeCalls: step }, delegating);
        const res = await paid(await pay(v, sessionKey));
        assert.equal(res.status, 200, res.text);
      }
      const third = voucher({ cumulativeAmount: 3n * PRICE, cumulativeCalls: 3n }, delegating);
      await refused(async () => paid(await pay(third, sessionKey)), {
        status: 402,
        code: "session_cap_exceeded",
        message: new RegExp(`session key ${sessionKey.address} would pass its cap of 4000 \\(spent 0, 6000 more signed\\)`, "i"),
      });
      const elsewhere = voucher({ lane: 1 }, delegating);
      await refused(async () => paid(await pay(elsewhere, shortSessionKey)), {
        status: 402,
        code: "session_expired",
        message: new RegExp(`session key ${shortSessionKey.address} expires at \\d+, too soon`, "i"),
      });
    });

    it("a second voucher on a lane whose call is still running → 409 lane_busy, and it pays once the lane is free", async () => {
      // onnxruntime runs a model on the gateway's own thread: a request that arrives during a run is read as soon as the
      // run ends — before the finished call's voucher is committed (group commit waits a turn of the event loop), so
      // its lane is still held. A kept-alive connection makes sure the second request is read in that very turn.
      const connection = new KeptConnection(gw.url);
      try {
        let busy: Answer | undefined;
        for (let lane = 7; lane < 10 && !busy; lane++) {
          await connection.open();
          const first = await pay(voucher({ modelId: slow.modelId, lane }));
          const second = await pay(voucher({ modelId: slow.modelId, lane, cumulativeAmount: 2n * PRICE, cumulativeCalls: 2n }));
          // About two seconds of matrix products on this machine.
          const running = paid(first, slowBody(2000), slow.modelId);
          await new Promise((r) => setTimeout(r, 300));
          const answer = await connection.send("POST", `/v1/models/${slow.modelId}/infer`, { "content-type": "application/json", "PAYMENT-SIGNATURE": second }, JSON.stringify(slowBody(1)));
          const done = await running;
          assert.equal(done.status, 200, done.text);
          if (answer.status === 200) continue; // read after the first call finished: sequential, try again
          assert.equal(answer.status, 409, answer.text);
          busy = answer;
          assert.equal(answer.body.error.code, "lane_busy");
          assert.match(answer.body.error.message, new RegExp(`lane ${lane} already has a call in flight; use another lane`));
          const record = (await gw.ledger.lanes(operator)).find((l) => l.modelId === slow.modelId && l.lane === lane);
          assert.equal(record?.cumulativeAmount, PRICE, "the 409 wrote nothing: the lane holds the first call only");
          const res = await paid(second, slowBody(1), slow.modelId);
          assert.equal(res.status, 200, res.text);
          assert.equal(res.body.payment.cumulativeAmount, (2n * PRICE).toString());
        }
        assert.ok(busy, "no second call was ever refused as lane_busy while the first one ran");
      } finally {
        connection.close();
      }
    });

    it("a model that fails after the payment was held → 500 inference_failed, not charged, and the same voucher pays the next call", async () => {
      const v = voucher({ modelId: failing.modelId, lane: 0 });
      const header = await pay(v);
      const before = await state();
      // 1 × 4 elements cannot be cut into rows of 3: valid for the signature, fails in onnxruntime.
      const res = await paid(header, { inputs: { x: { dims: [1, 4], data: ROW } } }, failing.modelId);
      assert.equal(res.status, 500, res.text);
      assert.equal(res.body.error.code, "inference_failed");
      assert.deepEqual(res.body.payment, { charged: false, lane: 0, nextCumulativeAmount: PRICE.toString() });
      assert.deepEqual(await state(), before);
      const ok = await paid(header, { inputs: { x: { dims: [1, 3], data: [1, 2, 3] } } }, failing.modelId);
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.body.payment.cumulativeAmount, PRICE.toString());
    });
    it("a model that overruns its deadline → 504 inference_timeout, not charged, and the same voucher pays the next call", async () => {
      // A second gateway (another operator) whose deadline is shorter than the slow model's run.
      const hasty = await startTestGateway(chain, { operatorKey: KEYS[3], settings: { inference: { timeoutMs: 100 } } });
      try {
        const accepted = (await modelAccepts(hasty.url, slow.modelId)).voucher;
        const v = voucher({ modelId: slow.modelId, operator: hasty.operator });
        const headers = { "PAYMENT-SIGNATURE": await pay(v, payer, accepted) };
        const before = { file: snapshotSqliteLedger(hasty.ledgerFile), escrow: await chain.escrow(payer.address) };
        const res = await infer(hasty.url, slow.modelId, { body: slowBody(1000), headers });
        assert.equal(res.status, 504, res.text);
        assert.equal(res.body.error.code, "inference_timeout");
        assert.match(res.body.error.message, /did not answer within 100 ms/);
        assert.deepEqual(res.body.payment, { charged: false, lane: 0, nextCumulativeAmount: PRICE.toString() });
        assert.deepEqual({ file: snapshotSqliteLedger(hasty.ledgerFile), escrow: await chain.escrow(payer.address) }, before);
        const ok = await infer(hasty.url, slow.modelId, { body: slowBody(1), headers });
        assert.equal(ok.status, 200, ok.text);
        assert.equal(ok.body.payment.cumulativeAmount, PRICE.toString());
      } finally {
        await hasty.close();
      }
    });
  });

  describe("x402 exact", () => {
    const exactPay = (auth: Authorization, signature: Hex, accepted = accepts.exact) =>
      infer(gw.url, model.modelId, { body: GOOD, headers: { "PAYMENT-SIGNATURE": exactHeader(accepted, auth, signature) } });
    const signed = async (auth: Authorization, signer: LocalAccount = exactPayer) => exactPay(auth, await signAuthorization(signer, auth, stablecoin));

    it("an authorization to another address, for too little, expired or not yet valid → wrong_recipient / insufficient_amount / authorization_*", async () => {
      // The gateway judges validity by its own clock (the chain's may run ahead of it on an automining node).
      const now = wallClock();
      const base = authorization(exactPayer.address, model.shares, PRICE, now);
      await refused(() => signed({ ...base, to: other.shares }), { status: 402, code: "wrong_recipient", message: new RegExp(`pays ${other.shares}, but model ${model.modelId} is paid at ${model.shares}`, "i") });
      await refused(() => signed({ ...base, to: chain.vault }), { status: 402, code: "wrong_recipient", message: /is paid at/ });
      await refused(() => signed({ ...base, value: PRICE - 1n }), { status: 402, code: "insufficient_amount", message: /pays 1999, below the price of 2000/ });
      await refused(() => signed({ ...base, validBefore: now - 1n }), { status: 402, code: "authorization_expires_too_soon", message: /it must stay valid for 15 s/ });
      await refused(() => signed({ ...base, validBefore: now + 5n }), { status: 402, code: "authorization_expires_too_soon", message: /expires at/ });
      await refused(() => signed({ ...base, validAfter: now + 3_600n }), { status: 402, code: "authorization_not_yet_valid", message: /valid only after/ });
    });

    it("a bad signature or ill-formed authorization → bad_signature / invalid_authorization", async () => {
      const auth = authorization(exactPayer.address, model.shares, PRICE, wallClock());
      await refused(() => signed(auth, stranger), { status: 402, code: "bad_signature", message: new RegExp(`not signed by its payer ${exactPayer.address}`, "i") });
      const signature = await signAuthorization(exactPayer, auth, stablecoin);
      await refused(() => exactPay({ ...auth, value: PRICE + 1n }, signature), { status: 402, code: "bad_signature", message: /not signed by its payer/ });
      const cases: [unknown, RegExp][] = [
        [{ signature }, /no authorization object/],
        [{ signature, authorization: { ...json(auth), nonce: "0x1234" } }, /authorization.nonce must be 32 bytes/],
        [{ signature, authorization: { ...json(auth), value: 2000 } }, /authorization.value must be a decimal integer string/],
        [{ signature, authorization: { ...json(auth), from: "me" } }, /authorization.from must be an address/],
        [{ signature, authorization: { ...json(auth), from: flipCase(exactPayer.address) } }, /authorization.from has a wrong EIP-55 checksum/],
        [{ signature, authorization: { ...json(auth), to: flipCase(model.shares) } }, /authorization.to has a wrong EIP-55 checksum/],
        [{ signature: "0x00", authorization: json(auth) }, /signature must be 65 bytes/],
      ];
      for (const [payload, message] of cases) {
        const header = encodeHeader({ x402Version: 2, accepted: accepts.exact, payload });
        await refused(() => paid(header), { status: 402, code: "invalid_authorization", message });
      }
    });

    it("a payer without the balance it authorized → 402 insufficient_balance", async () => {
      const auth = authorization(exactBroke.address, model.shares, PRICE, wallClock());
      await refused(() => signed(auth, exactBroke), { status: 402, code: "insufficient_balance", message: new RegExp(`${exactBroke.address} holds 0, less than the 2000`, "i") });
    });

    it("a nonce already used → 402 authorization_used; the first use paid on-chain and answered", async () => {
      const auth = authorization(exactPayer.address, model.shares, PRICE, wallClock());
      const signature = await signAuthorization(exactPayer, auth, stablecoin);
      const balance = await chain.balanceOf(exactPayer.address);
      const first = await exactPay(auth, signature);
      assert.equal(first.status, 200, first.text);
      const response = JSON.parse(Buffer.from(first.headers.get("payment-response")!, "base64").toString());
      assert.equal(response.success, true);
      assert.match(response.transaction, /^0x[0-9a-f]{64}$/);
      assert.equal(await chain.balanceOf(exactPayer.address), balance - PRICE);
      await refused(() => exactPay(auth, signature), { status: 402, code: "authorization_used", message: /already paid for a call/ });
    });

    it("an authorization the chain refuses (its nonce used elsewhere first) → 402 payment_failed, answer withheld", async () => {
      const auth = authorization(exactPayer.address, model.shares, PRICE, wallClock());
      const signature = await signAuthorization(exactPayer, auth, stablecoin);
      // Someone submits it straight to the token first: the gateway's ledger has never seen the nonce.
      await chain.send(KEYS[0], {
        address: chain.stablecoin,
        abi: testStablecoinAbi,
        functionName: "transferWithAuthorization",
        args: [auth.from, auth.to, auth.value, auth.validAfter, auth.validBefore, auth.nonce, signature],
      });
      const balance = await chain.balanceOf(exactPayer.address);
      const lanes = await gw.ledger.lanes(operator);
      const res = await exactPay(auth, signature);
      assert.equal(res.status, 402, res.text);
      assert.equal(res.body.error.code, "payment_failed");
      assert.match(res.body.error.message, /could not be settled on-chain, so the answer is withheld/);
      assert.equal(res.body.outputs, undefined);
      assert.equal(await chain.balanceOf(exactPayer.address), balance, "the gateway took nothing more");
      assert.deepEqual(await gw.ledger.lanes(operator), lanes);
    });
  });

  describe("other routes", () => {
    it("unknown models, bad versions, unknown routes and CIDs → 4xx JSON errors", async () => {
      const cases: [string, number, string, RegExp][] = [
        ["/v1/models/999", 404, "unknown_model", /999/],
        ["/v1/models/not-a-number", 404, "unknown_model", /is not a model id/],
        [`/v1/models/${model.modelId}?version=abc`, 400, "bad_request", /\?version must be a positive integer/],
        [`/v1/models/${model.modelId}?version=9`, 404, "unknown_version", /version 9/],
        [`/v1/models/${model.modelId}/infer`, 404, "not_found", /no route for GET/],
        ["/v2/anything", 404, "not_found", /no route for GET \/v2\/anything/],
        ["/ipfs/not-a-cid", 400, "bad_cid", /is not a CID/],
        ["/ipfs/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", 404, "not_found", /not in this gateway's store/],
      ];
      for (const [path, status, code, message] of cases) {
        await refused(() => get(gw.url, path), { status, code, message });
      }
    });
  });
});

/** The same signature with s replaced by n − s (and v flipped): valid for ecrecover, refused as malleable. */
function highS(signature: Hex): Hex {
  const r = signature.slice(2, 66);
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = parseInt(signature.slice(130, 132), 16);
  return `0x${r}${(N - s).toString(16).padStart(64, "0")}${(v === 27 ? 28 : 27).toString(16)}` as Hex;
}

function json(auth: Authorization) {
  return { from: auth.from, to: auth.to, value: auth.value.toString(), validAfter: auth.validAfter.toString(), validBefore: auth.validBefore.toString(), nonce: auth.nonce };
}

/** A body for the slow model: its run time grows with n³. */
const slowBody = (n: number) => ({ inputs: { x: { dims: [1], data: [0.5] }, size: { dims: [2], data: [n, n] } } });

const wallClock = () => BigInt(Math.floor(Date.now() / 1000));

/** A fresh account that remembers its key (payers that send their own transactions need it). */
function newWallet(): LocalAccount & { key: Hex } {
  const key = generatePrivateKey();
  return Object.assign(privateKeyToAccount(key), { key });
}

/** The address with the case of its first letter flipped: still an address, no longer its checksum. */
function flipCase(address: string): string {
  const i = address.slice(2).search(/[a-fA-F]/) + 2;
  const c = address[i]!;
  return address.slice(0, i) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + address.slice(i + 1);
}
