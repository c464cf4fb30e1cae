// createPayingFetch against a real gateway on a hardhat node: vouchers on lanes, receipts checked against what was
// sent and received, concurrency, restarts of either side, lost answers, failed calls, bad input, and answers that
// lie. Each test pays from its own fresh payer, so tabs never mix.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { isAddressEqual, type Address } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { testStablecoinAbi } from "../../sdk/contracts.ts";
import { verifyReceipt } from "../../sdk/receipts.ts";
import { GatewayError, GatewayUnreachableError, PriceTooHighError, ReceiptError, VoucherResyncError } from "../../sdk/x402/errors.ts";
import { JsonFileLaneStore, MemoryLaneStore, type LaneScope } from "../../sdk/x402/lane-store.ts";
import { createPayingFetch, type PayingFetchOptions } from "../../sdk/x402/paying-fetch.ts";
import { signVoucher } from "../../sdk/vouchers.ts";
import { decodeHeader, encodeHeader, losingFetch, recordingFetch, rewritingFetch } from "../helpers/fetch-wire.ts";
import { buildReshapeModel } from "../helpers/onnx-failing.ts";
import { startPaidGateway, type PaidGateway } from "../helpers/paid-gateway.ts";

const PRICE = 2_000n; // 0.002 of a 6-decimal stablecoin
const INPUT = { input: { dims: [1, 4], data: [1, 2, 3, 4] } };

describe("createPayingFetch against a gateway", () => {
  let g: PaidGateway;
  let failing: bigint;
  let tmp: string;

  before(async () => {
    g = await startPaidGateway();
    failing = await g.mint(await g.file("reshape.onnx", buildReshapeModel()), "0.002");
    tmp = await mkdtemp(path.join(tmpdir(), "modelshare-lanes-"));
  });

  after(async () => {
    await g?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function newPayer(escrow = 1_000_000n): Promise<PrivateKeyAccount> {
    const account = privateKeyToAccount(generatePrivateKey());
    if (escrow > 0n) await g.fund(account.address, { escrow });
    return account;
  }

  function client(account: PrivateKeyAccount, options: Partial<PayingFetchOptions> = {}) {
    return createPayingFetch({ account, maxPricePerCall: PRICE, gateway: g.gateway.url, ...options });
  }

  const scopeOf = (payer: Address, modelId = 1n): LaneScope => ({
    network: "eip155:31337",
    vault: g.chain.deployment.contracts.vault,
    payer,
    operator: g.gateway.operator,
    modelId: modelId.toString(),
  });

  async function ledgerLanes(payer: Address, modelId = 1n) {
    const lanes = await g.gateway.ledger.lanes(g.gateway.operator);
    return lanes.filter((l) => isAddressEqual(l.payer, payer) && l.modelId === modelId).sort((a, b) => a.lane - b.lane);
  }

  it("pays each call with the lane's next voucher, checks every receipt, and ends where the gateway's ledger is", async () => {
    const payer = await newPayer();
    const wire = recordingFetch();
    const pay = client(payer, { fetch: wire.fetch });
    const results = [];
    for (let i = 1n; i <= 3n; i++) {
      const result = await pay.infer(1n, INPUT);
      results.push(result);
      assert.equal(result.payment.scheme, "modelshare-voucher");
      assert.equal(result.payment.lane, 0);
      assert.equal(result.payment.amount, PRICE);
      assert.equal(result.payment.cumulativeAmount, PRICE * i);
      assert.equal(result.payment.cumulativeCalls, i);
      assert.equal(result.payment.replay, false);
      assert.equal(result.payment.receiptVerified, true);
      assert.equal(result.payment.receipt.receipt.cumulativeAmount, (PRICE * i).toString());
    }
    const probabilities = results[0]!.outputs.probabilities!;
    assert.deepEqual(probabilities.dims, [1, 3]);
    assert.ok(Math.abs((probabilities.data as number[]).reduce((a, b) => a + b, 0) - 1) < 1e-6);
    for (const r of results) assert.deepEqual(r.outputs, results[0]!.outputs);

    // The terms came from GET /v1/models/1: no unpaid round trip, and no call was refused.
    assert.deepEqual(
      wire.log.map((e) => [e.method, e.path, e.status, e.paid]),
      [["GET", "/v1/models/1", 200, false], ...Array(3).fill(["POST", "/v1/models/1/infer", 200, true])],
    );
    const described = (await (await fetch(`${g.gateway.url}/v1/models/1`)).json()) as { pricePerCall: string };
    assert.equal(described.pricePerCall, PRICE.toString());

    // Client and gateway agree on the lane, down to the signature of its latest voucher.
    const [held] = await pay.vouchers.lanes(scopeOf(payer.address));
    const [recorded] = await ledgerLanes(payer.address);
    assert.equal(recorded!.cumulativeAmount, 3n * PRICE);
    assert.equal(recorded!.cumulativeCalls, 3n);
    assert.ok(isAddressEqual(recorded!.signer, payer.address));
    assert.equal(held!.cumulativeAmount, recorded!.cumulativeAmount.toString());
    assert.equal(held!.signature, recorded!.signature);

    // Any receipt checks out offline, with nothing but the receipt.
    const check = await verifyReceipt(results[2]!.payment.receipt, { chainId: 31337, vault: g.chain.deployment.contracts.vault }, { operator: g.gateway.operator });
    assert.deepEqual(check, { ok: true, signer: g.gateway.operator });
  });

  it("runs 32 concurrent calls to one model at once, each on its own lane", async () => {
    const payer = await newPayer();
    const wire = recordingFetch();
    const pay = client(payer, { fetch: wire.fetch });
    const results = await Promise.all(Array.from({ length: 32 }, () => pay.infer(1n, INPUT)));
    const lanes = results.map((r) => r.payment.lane);
    assert.equal(new Set(lanes).size, 32);
    assert.deepEqual([...lanes].sort((a, b) => a! - b!), Array.from({ length: 32 }, (_, i) => i));
    for (const r of results) {
      assert.equal(r.payment.cumulativeAmount, PRICE);
      assert.equal(r.payment.cumulativeCalls, 1n);
      assert.equal(r.payment.receiptVerified, true);
    }
    assert.deepEqual(wire.paidCalls().map((e) => e.status), Array(32).fill(200));
    // One description fetched for all 32 calls.
    assert.equal(wire.log.filter((e) => e.method === "GET").length, 1);
    const recorded = await ledgerLanes(payer.address);
    assert.equal(recorded.length, 32);
    assert.ok(recorded.every((l) => l.cumulativeAmount === PRICE && l.cumulativeCalls === 1n));
  });

  it("is a fetch: answers come back readable, paid(response) describes the payment, unpaid routes pass through", async () => {
    const payer = await newPayer();
    const pay = client(payer);
    const health = await pay(`${g.gateway.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(pay.paid(health), undefined);

    const response = await pay(new URL(`${g.gateway.url}/v1/models/1/infer`), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs: { input: [[4, 3, 2, 1]] } }),
    });
    assert.equal(response.status, 200);
    const paid = pay.paid(response)!;
    assert.equal(paid.scheme, "modelshare-voucher");
    assert.equal(paid.payer, payer.address);
    assert.equal(paid.lane, 0);
    assert.equal(paid.cumulativeAmount, PRICE);
    assert.equal(paid.receiptVerified, true);
    assert.equal(paid.settlement.success, true);
    const body = (await response.json()) as { outputs: { probabilities: { dims: number[] } }; receipt: unknown };
    assert.deepEqual(body.outputs.probabilities.dims, [1, 3]);
    assert.deepEqual(body.receipt, paid.receipt);
  });

  it("shares a payer's lanes between two clients: every call is answered and charged exactly once", async () => {
    const payer = await newPayer();
    const wires = [recordingFetch(), recordingFetch()];
    const clients = wires.map((wire) => client(payer, { fetch: wire.fetch }));
    // Different inputs per client: a voucher identical to the lane's last one with the same input would be an
    // identical retry, answered without a new charge.
    const calls = clients.flatMap((pay, c) => Array.from({ length: 8 }, () => pay.infer(1n, { input: { dims: [1, 4], data: [c, 1, 2, 3] } })));
    const results = await Promise.all(calls);
    const steps = new Set(results.map((r) => `${r.payment.lane}/${r.payment.cumulativeCalls}`));
    assert.equal(steps.size, 16, "each answered call is one step of one lane");
    const recorded = await ledgerLanes(payer.address);
    assert.equal(recorded.reduce((sum, l) => sum + l.cumulativeCalls, 0n), 16n);
    assert.equal(recorded.reduce((sum, l) => sum + l.cumulativeAmount, 0n), 16n * PRICE);
    // The clients collided on lanes and sorted it out: lane_busy and corrective 402s, never any other refusal.
    const refusals = wires.flatMap((w) => w.paidCalls()).filter((e) => e.status !== 200);
    assert.ok(refusals.every((e) => e.code === "lane_busy" || e.code === "voucher_out_of_sync"), JSON.stringify(refusals));
  });

  it("queues calls beyond its lane limit instead of refusing them", async () => {
    const payer = await newPayer();
    const wire = recordingFetch();
    const pay = client(payer, { fetch: wire.fetch, maxLanes: 4 });
    const results = await Promise.all(Array.from({ length: 12 }, () => pay.infer(1n, INPUT)));
    assert.ok(results.every((r) => r.payment.lane! < 4));
    assert.deepEqual(wire.paidCalls().map((e) => e.status), Array(12).fill(200));
    const recorded = await ledgerLanes(payer.address);
    assert.deepEqual(recorded.map((l) => l.lane), [0, 1, 2, 3]);
    assert.equal(recorded.reduce((sum, l) => sum + l.cumulativeCalls, 0n), 12n);
    assert.equal(recorded.reduce((sum, l) => sum + l.cumulativeAmount, 0n), 12n * PRICE);
  });

  it("recovers a client restarted with an empty store through the corrective 402, without a failed call", async () => {
    const payer = await newPayer();
    const first = client(payer);
    for (let i = 0; i < 2; i++) await first.infer(1n, INPUT);

    const wire = recordingFetch();
    const restarted = client(payer, { fetch: wire.fetch, laneStore: new MemoryLaneStore() });
    const result = await restarted.infer(1n, INPUT);
    assert.equal(result.payment.lane, 0);
    assert.equal(result.payment.cumulativeAmount, 3n * PRICE);
    assert.equal(result.payment.cumulativeCalls, 3n);
    assert.deepEqual(
      wire.paidCalls().map((e) => [e.status, e.code]),
      [
        [402, "voucher_out_of_sync"],
        [200, undefined],
      ],
    );
    // Later calls need no correction.
    wire.clear();
    await restarted.infer(1n, INPUT);
    assert.deepEqual(wire.paidCalls().map((e) => e.status), [200]);
    assert.equal((await ledgerLanes(payer.address))[0]!.cumulativeCalls, 4n);
  });

  it("keeps tabs across restarts in a JSON-file lane store, so a restarted client needs no correction", async () => {
    const payer = await newPayer();
    const file = path.join(tmp, "kept", "lanes.json");
    const store = new JsonFileLaneStore(file);
    const first = client(payer, { laneStore: store });
    await Promise.all([first.infer(1n, INPUT), first.infer(1n, INPUT)]);
    await first.infer(1n, INPUT);
    await store.flush();

    const wire = recordingFetch();
    const reopened = new JsonFileLaneStore(file);
    const restarted = client(payer, { fetch: wire.fetch, laneStore: reopened });
    const result = await restarted.infer(1n, INPUT);
    assert.deepEqual(wire.paidCalls().map((e) => e.status), [200]);
    assert.equal(result.payment.lane, 0);
    assert.equal(result.payment.cumulativeCalls, 3n);
    assert.deepEqual(
      reopened.load(scopeOf(payer.address)).map((s) => [s.lane, s.cumulativeCalls]),
      [
        [0, "3"],
        [1, "1"],
      ],
    );
  });

  it("sends the same voucher and body again when an answer is lost, and is charged once", async () => {
    const payer = await newPayer();
    let lost = 0;
    const wire = recordingFetch(losingFetch((request) => request.headers.has("PAYMENT-SIGNATURE") && lost++ === 0));
    const pay = client(payer, { fetch: wire.fetch });
    const result = await pay.infer(1n, INPUT);
    assert.equal(result.payment.replay, true);
    assert.equal(result.payment.amount, 0n);
    assert.equal(result.payment.cumulativeAmount, PRICE);
    assert.equal(result.payment.receiptVerified, true);
    // Both attempts reached the gateway (the first answer was dropped on its way back); the lane moved once.
    assert.equal(lost, 2);
    assert.deepEqual(wire.paidCalls().map((e) => e.status), [200]);
    const [lane] = await ledgerLanes(payer.address);
    assert.equal(lane!.cumulativeAmount, PRICE);
    assert.equal(lane!.cumulativeCalls, 1n);
    const next = await pay.infer(1n, INPUT);
    assert.equal(next.payment.cumulativeAmount, 2n * PRICE);
    assert.equal(next.payment.replay, false);
  });

  it("gives up on an answer lost for good, and the next call picks the lane up where the gateway left it", async () => {
    const payer = await newPayer();
    let paidAttempts = 0;
    const wire = recordingFetch();
    const dropping = losingFetch((request) => request.headers.has("PAYMENT-SIGNATURE") && paidAttempts++ < 3, wire.fetch);
    const pay = client(payer, { fetch: dropping, retries: 2 });
    await assert.rejects(pay.infer(1n, INPUT), (error: unknown) => {
      assert.ok(error instanceof GatewayUnreachableError);
      assert.match(error.message, /cannot reach the gateway at http:\/\/127\.0\.0\.1:\d+: fetch failed \(ECONNRESET\)/);
      return true;
    });
    // The gateway answered (and charged) the first attempt; the client did not advance, so it is corrected once.
    // (Another input: the same voucher for the same input, signed within the same second, would be an identical
    // retry of the lost call and be answered free.)
    assert.equal(paidAttempts, 3);
    wire.clear();
    const result = await pay.infer(1n, { input: { dims: [1, 4], data: [9, 9, 9, 9] } });
    assert.deepEqual(wire.paidCalls().map((e) => e.code ?? e.status), ["voucher_out_of_sync", 200]);
    assert.equal(result.payment.lane, 0);
    assert.equal(result.payment.cumulativeAmount, 2n * PRICE);
    assert.equal((await ledgerLanes(payer.address))[0]!.cumulativeCalls, 2n);
  });

  it("does not advance the lane of a call the model failed: the gateway did not charge it", async () => {
    const payer = await newPayer();
    const pay = client(payer);
    await assert.rejects(pay.infer(failing, { input: { dims: [1, 4], data: [1, 2, 3, 4] } }), (error: unknown) => {
      assert.ok(error instanceof GatewayError);
      assert.equal(error.status, 500);
      assert.equal(error.code, "inference_failed");
      assert.deepEqual(error.payment, { charged: false, lane: 0, nextCumulativeAmount: PRICE.toString() });
      return true;
    });
    assert.deepEqual(await ledgerLanes(payer.address, failing), []);
    // The same lane pays the next call at the first step.
    const result = await pay.infer(failing, { input: { dims: [3, 4], data: Array.from({ length: 12 }, (_, i) => i) } });
    assert.equal(result.payment.lane, 0);
    assert.equal(result.payment.cumulativeAmount, PRICE);
    assert.deepEqual(result.outputs.rows!.dims, [3, 4]);
  });

  it("refuses bad input before paying anything, with the gateway's error", async () => {
    const payer = await newPayer();
    const wire = recordingFetch();
    const pay = client(payer, { fetch: wire.fetch });
    await assert.rejects(pay.infer(1n, { input: { dims: [1, 5], data: [1, 2, 3, 4, 5] } }), (error: unknown) => {
      assert.ok(error instanceof GatewayError);
      assert.equal(error.status, 400);
      assert.equal(error.code, "bad_shape");
      assert.match(error.message, /input "input" expects dims \[batch, 4\], got \[1, 5\]/);
      return true;
    });
    assert.deepEqual(await ledgerLanes(payer.address), []);
    const result = await pay.infer(1n, INPUT);
    assert.equal(result.payment.cumulativeAmount, PRICE);
  });

  it("refuses to pay above maxPricePerCall, signing nothing", async () => {
    const payer = await newPayer();
    const wire = recordingFetch();
    const pay = client(payer, { fetch: wire.fetch, maxPricePerCall: PRICE - 1n });
    await assert.rejects(pay.infer(1n, INPUT), (error: unknown) => {
      assert.ok(error instanceof PriceTooHighError);
      assert.equal(error.price, PRICE);
      assert.match(error.message, /costs 2000 base units per call, above the limit of 1999/);
      return true;
    });
    assert.deepEqual(wire.paidCalls(), []);
  });

  it("reports an empty escrow as insufficient_escrow, and pays from the first step once funded", async () => {
    const payer = await newPayer(0n);
    const pay = client(payer);
    await assert.rejects(pay.infer(1n, INPUT), (error: unknown) => {
      assert.ok(error instanceof GatewayError);
      assert.equal(error.status, 402);
      assert.equal(error.code, "insufficient_escrow");
      return true;
    });
    await g.fund(payer.address, { escrow: PRICE });
    // The gateway reads a payer's escrow from the chain watcher; wait until it has seen the deposit.
    const result = await retryUntil(() => pay.infer(1n, INPUT), (e) => e instanceof GatewayError && e.code === "insufficient_escrow");
    assert.equal(result.payment.cumulativeAmount, PRICE);
    assert.equal(result.payment.cumulativeCalls, 1n);
  });

  it("throws a ReceiptError when the outputs received are not the ones the receipt signs", async () => {
    const payer = await newPayer();
    const tampering = rewritingFetch((answer, request) => {
      if (!request.headers.has("PAYMENT-SIGNATURE") || answer.status !== 200) return undefined;
      const body = JSON.parse(answer.body);
      body.outputs.probabilities.data[0] += 0.01;
      return { ...answer, body: JSON.stringify(body) };
    });
    const store = new MemoryLaneStore();
    const pay = client(payer, { fetch: tampering, laneStore: store });
    await assert.rejects(pay.infer(1n, INPUT), (error: unknown) => {
      assert.ok(error instanceof ReceiptError);
      assert.match(error.reason, /^outputSha256 is 0x[0-9a-f]{64}, expected 0x[0-9a-f]{64}$/);
      assert.ok(error.response);
      assert.equal(error.response.status, 200);
      return true;
    });
    // The payment itself went through: the client adopted the lane's new state, and the next call builds on it.
    const wire = recordingFetch();
    const next = await client(payer, { fetch: wire.fetch, laneStore: store }).infer(1n, INPUT);
    assert.equal(next.payment.cumulativeAmount, 2n * PRICE);
    assert.deepEqual(wire.paidCalls().map((e) => e.status), [200]);
  });

  it("throws a ReceiptError for a receipt changed in transit, or one that differs between header and body", async () => {
    const payer = await newPayer();
    const forge = (onlyHeader: boolean) =>
      rewritingFetch((answer, request) => {
        const header = answer.headers.get("PAYMENT-RESPONSE");
        if (!request.headers.has("PAYMENT-SIGNATURE") || !header) return undefined;
        const response = decodeHeader(header) as { extra: { receipt: { receipt: { cumulativeAmount: string } } } };
        response.extra.receipt.receipt.cumulativeAmount = "1";
        answer.headers.set("PAYMENT-RESPONSE", encodeHeader(response));
        if (onlyHeader) return answer;
        const body = JSON.parse(answer.body);
        body.receipt = response.extra.receipt;
        return { ...answer, body: JSON.stringify(body) };
      });
    await assert.rejects(client(payer, { fetch: forge(false) }).infer(1n, INPUT), (error: unknown) => {
      assert.ok(error instanceof ReceiptError);
      assert.match(error.reason, /^signed by 0x[0-9a-fA-F]{40}, not by the operator 0x[0-9a-fA-F]{40} it names$/);
      assert.equal(error.receipt?.receipt.cumulativeAmount, "1");
      return true;
    });
    await assert.rejects(client(payer, { fetch: forge(true) }).infer(1n, INPUT), (error: unknown) => {
      assert.ok(error instanceof ReceiptError);
      assert.equal(error.reason, "the receipt in the body differs from the one in PAYMENT-RESPONSE");
      return true;
    });
  });

  it("refuses a corrective 402 whose lane state the payer never signed, and pays nothing on it", async () => {
    const payer = await newPayer();
    // Two calls, so a restarted client's first voucher (one call) cannot be an identical retry of the lane's last.
    const first = client(payer);
    await first.infer(1n, INPUT);
    await first.infer(1n, INPUT);
    const stranger = privateKeyToAccount(generatePrivateKey());
    const { signature: strangerSignature } = await signVoucher(
      stranger,
      { payer: payer.address, operator: g.gateway.operator, modelId: 1n, lane: 0, cumulativeAmount: 100n * PRICE, cumulativeCalls: 100n, expiry: 0n },
      31337,
      g.chain.deployment.contracts.vault,
    );
    const lying = rewritingFetch((answer) => {
      const header = answer.headers.get("PAYMENT-REQUIRED");
      if (answer.status !== 402 || !header) return undefined;
      const required = decodeHeader(header) as { error: string; accepts: { scheme: string; extra: { tabs?: Record<string, unknown>[] } }[] };
      if (required.error !== "voucher_out_of_sync") return undefined;
      const offer = required.accepts.find((a) => a.scheme === "modelshare-voucher")!;
      offer.extra.tabs = [{ ...offer.extra.tabs![0], cumulativeAmount: (100n * PRICE).toString(), cumulativeCalls: "100", expiry: "0", signature: strangerSignature }];
      answer.headers.set("PAYMENT-REQUIRED", encodeHeader(required));
      return answer;
    });
    const wire = recordingFetch(lying);
    const restarted = client(payer, { fetch: wire.fetch, laneStore: new MemoryLaneStore() });
    await assert.rejects(restarted.infer(1n, INPUT), (error: unknown) => {
      assert.ok(error instanceof VoucherResyncError);
      assert.match(error.message, new RegExp(`is signed by ${stranger.address}, which is neither the payer ${payer.address} nor one of its session keys`));
      return true;
    });
    assert.deepEqual(wire.paidCalls().map((e) => e.status), [402]);
    assert.equal((await ledgerLanes(payer.address))[0]!.cumulativeCalls, 2n);
  });

  it("adopts an unsigned lane state only when the vault's tab says the same", async () => {
    const payer = await newPayer();
    const vault = g.chain.deployment.contracts.vault;
    // A store that believes lane 0 is two calls in, which the gateway never saw: the gateway offers its unsigned
    // state of a fresh lane (zero), which matches the vault's tab.
    const { signature } = await signVoucher(
      payer,
      { payer: payer.address, operator: g.gateway.operator, modelId: 1n, lane: 0, cumulativeAmount: 2n * PRICE, cumulativeCalls: 2n, expiry: 0n },
      31337,
      vault,
    );
    const stale = () => {
      const store = new MemoryLaneStore();
      store.save(scopeOf(payer.address), { lane: 0, cumulativeAmount: (2n * PRICE).toString(), cumulativeCalls: "2", expiry: "0", signature });
      return store;
    };
    await assert.rejects(client(payer, { laneStore: stale() }).infer(1n, INPUT), (error: unknown) => {
      assert.ok(error instanceof VoucherResyncError);
      assert.match(error.message, /is unsigned and cannot be checked against the vault without an RPC client \(publicClient\)/);
      return true;
    });
    const lyingAboutZero = rewritingFetch((answer) => {
      const header = answer.headers.get("PAYMENT-REQUIRED");
      if (answer.status !== 402 || !header) return undefined;
      const required = decodeHeader(header) as { accepts: { scheme: string; extra: { tabs?: Record<string, unknown>[] } }[] };
      const offer = required.accepts.find((a) => a.scheme === "modelshare-voucher")!;
      if (!offer.extra.tabs) return undefined;
      offer.extra.tabs = [{ lane: 0, cumulativeAmount: PRICE.toString(), cumulativeCalls: "1", expiry: "0" }];
      answer.headers.set("PAYMENT-REQUIRED", encodeHeader(required));
      return answer;
    });
    await assert.rejects(client(payer, { laneStore: stale(), fetch: lyingAboutZero, publicClient: g.chain.publicClient }).infer(1n, INPUT), (error: unknown) => {
      assert.ok(error instanceof VoucherResyncError);
      assert.match(error.message, /says lane 0 of model 1 .* is at 2000 after 1 calls without a signature, but the vault has settled 0 after 0 calls/);
      return true;
    });
    const wire = recordingFetch();
    const result = await client(payer, { laneStore: stale(), fetch: wire.fetch, publicClient: g.chain.publicClient }).infer(1n, INPUT);
    assert.equal(result.payment.cumulativeAmount, PRICE);
    assert.deepEqual(wire.paidCalls().map((e) => e.code ?? e.status), ["voucher_out_of_sync", 200]);
  });

  it("pays with x402 exact when preferred: one transfer per call, with a checked receipt", async () => {
    const payer = await newPayer(0n);
    await g.fund(payer.address, { wallet: 10n * PRICE });
    const pay = client(payer, { prefer: "exact" });
    const result = await pay.infer(1n, INPUT);
    assert.equal(result.payment.scheme, "exact");
    assert.equal(result.payment.amount, PRICE);
    assert.equal(result.payment.receiptVerified, true);
    assert.match(result.payment.transaction!, /^0x[0-9a-f]{64}$/);
    const mined = await g.chain.publicClient.getTransactionReceipt({ hash: result.payment.transaction! });
    assert.equal(mined.status, "success");
    const balance = await g.chain.publicClient.readContract({ address: g.chain.deployment.stablecoin.address, abi: testStablecoinAbi, functionName: "balanceOf", args: [payer.address] });
    assert.equal(balance, 9n * PRICE);
  });

  it("continues across a gateway restart on the same ledger, and a call made while it is down costs nothing", async () => {
    const payer = await newPayer();
    const wire = recordingFetch();
    const pay = client(payer, { fetch: wire.fetch, retries: 1 });
    await pay.infer(1n, INPUT);
    await pay.infer(1n, INPUT);
    await g.restart(async () => {
      await assert.rejects(pay.infer(1n, INPUT), (error: unknown) => {
        assert.ok(error instanceof GatewayUnreachableError);
        assert.match(error.message, /ECONNREFUSED/);
        return true;
      });
    });
    wire.clear();
    const result = await pay.infer(1n, INPUT);
    assert.equal(result.payment.cumulativeAmount, 3n * PRICE);
    assert.equal(result.payment.cumulativeCalls, 3n);
    assert.deepEqual(wire.paidCalls().map((e) => e.status), [200]);
    assert.equal((await ledgerLanes(payer.address))[0]!.cumulativeCalls, 3n);
  });
});

/** Retries `call` while it fails with an error `transient` accepts (the gateway has not seen a deposit yet). */
async function retryUntil<T>(call: () => Promise<T>, transient: (error: unknown) => boolean): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!transient(error) || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
