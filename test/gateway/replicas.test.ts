// DESIGN.md §4: several gateway replicas share one PostgreSQL ledger. Two real `modelshare gateway` processes (same
// operator key, same postgres:// ledger on the machine's server, different ports; only the first runs the settlement
// worker) take one payer's vouchers on the same lanes: first alternately (each replica picks up where the other left
// the lane), then the very same voucher sent to both at once (exactly one accepts it; the other answers 402
// voucher_out_of_sync with the winner's lane state, or 409 lane_busy), then from the SDK's paying client alternating
// between them. Settled through the first replica, the chain charges exactly the accepted steps, and once. Then a
// payer with escrow for a few calls pays on lanes of its own through both at once: each replica alone would take
// all the calls it sees, but together they answer no more than the escrow covers (the shared ledger caps the payer),
// and the vault charges every answered call in full.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { keccak256, toHex, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { PostgresLedger } from "../../gateway/ledger/postgres.ts";
import { createPayingFetch } from "../../sdk/x402/paying-fetch.ts";
import { OUT_OF_SYNC } from "../../sdk/x402/voucher-scheme.ts";
import { KEYS, address } from "../cli/harness.ts";
import { startGatewayChain, type GatewayChain, type MintedModel } from "../helpers/gateway-chain.ts";
import { classifierBody, infer, modelAccepts, paymentRequired, type Answer } from "../helpers/gateway-http.ts";
import { gatewayProcessEnv, startGatewayProcess, type GatewayProcess } from "../helpers/gateway-process.ts";
import { signedVoucherHeader, type Requirement } from "../helpers/x402-payments.ts";
import { POSTGRES_URL, dropSchema, uniqueSchema } from "./ledger-helpers.ts";

const PRICE = 2_000n;
const OPERATOR_KEY = KEYS[3];
const LANES = 4;
/** Steps per lane sent to one replica at a time, alternating. */
const ALTERNATE = 6;
/** Steps per lane sent to both replicas at once. */
const RACED = 12;
/** Calls of the paying client afterwards, alternating between the replicas, CONCURRENCY at a time. */
const CLIENT_CALLS = 16;
const CONCURRENCY = 4;
const ESCROW = 1_000_000n;
/** The escrow of the capped payer, in calls. */
const COVERED_CALLS = 10;

describe("two gateway processes sharing one PostgreSQL ledger", () => {
  let chain: GatewayChain;
  let model: MintedModel;
  let dir: string;
  const schema = uniqueSchema("replicas");
  const children: GatewayProcess[] = [];

  before(async () => {
    chain = await startGatewayChain();
    model = await chain.mint({ price: PRICE });
    dir = await mkdtemp(path.join(tmpdir(), "modelshare-replicas-"));
    // Created up front, so the two replicas do not both migrate an empty schema as they start.
    await (await PostgresLedger.open({ connectionString: POSTGRES_URL, schema })).close();
  });

  after(async () => {
    for (const child of children) await child.stop("SIGKILL");
    await chain?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    await dropSchema(schema);
  });

  function replica(name: string, args: string[], env: Record<string, string> = {}) {
    return startGatewayProcess({ name, cwd: dir, args, env: gatewayProcessEnv(chain, OPERATOR_KEY, env) }).then((child) => {
      children.push(child);
      return child;
    });
  }

  async function settle(url: string) {
    const res = await fetch(`${url}/v1/admin/settle`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ all: true }) });
    return { status: res.status, body: (await res.json()) as { batches: number; charged: string; transactions: Hex[]; rejected: unknown[]; pending: number } };
  }

  it("accepts every voucher step on exactly one replica, and the chain charges exactly the accepted steps", async () => {
    const operator = address(OPERATOR_KEY);
    const payer = privateKeyToAccount(keccak256(toHex("replicas-test payer")));
    await chain.deposit(payer.address, ESCROW);
    const nonceBefore = await chain.harness.nonce(operator);
    const ledgerUrl = `${POSTGRES_URL}?schema=${schema}`;
    const replicas = await Promise.all([
      // The settler's worker stays idle until asked (long interval, high threshold).
      replica("replica A", ["--port", "0", "--ledger", ledgerUrl], { MODELSHARE_GATEWAY_SETTLE_INTERVAL: "3600", MODELSHARE_GATEWAY_SETTLE_MIN: "1000" }),
      replica("replica B", ["--port", "0", "--ledger", ledgerUrl, "--no-settle"]),
    ]);
    const [a, b] = replicas as [GatewayProcess, GatewayProcess];
    const logs = () => replicas.map((r) => `--- ${r.name}:\n${r.stderr()}`).join("\n");
    assert.equal(a.operator, operator);
    assert.equal(b.operator, operator);
    const terms = await Promise.all(replicas.map((r) => modelAccepts(r.url, model.modelId)));
    assert.deepEqual(terms[0]!.voucher, terms[1]!.voucher, "both replicas ask for the same vouchers");
    const requirement: Requirement = terms[0]!.voucher;
    const domain = { chainId: chain.chainId, vault: chain.vault };

    /** The lane's `step`-th voucher, and a body that differs per lane and step. */
    async function step(lane: number, n: number) {
      const voucher = { payer: payer.address, operator, modelId: model.modelId, lane, cumulativeAmount: BigInt(n) * PRICE, cumulativeCalls: BigInt(n), expiry: 0n };
      const { header, signature } = await signedVoucherHeader(payer, voucher, domain, requirement);
      return { headers: { "PAYMENT-SIGNATURE": header }, body: classifierBody([[lane, n % 5, 0.5, 1].map((x) => x / 10)]), signature };
    }
    const paidOnce = (res: Answer, lane: number, n: number, who: string) => {
      assert.equal(res.status, 200, `${who}, lane ${lane} step ${n}: ${res.text}\n${logs()}`);
      assert.equal(res.body.payment.replay, undefined, "a fresh step, not an answer to an identical retry");
      assert.equal(res.body.payment.amount, PRICE.toString());
      assert.equal(res.body.payment.cumulativeAmount, (BigInt(n) * PRICE).toString());
    };
    const wins = { A: 0, B: 0 };

    // 1. Alternating: each replica takes the step after one the other took, reading the lane from the shared ledger.
    await Promise.all(
      Array.from({ length: LANES }, async (_, lane) => {
        for (let n = 1; n <= ALTERNATE; n++) {
          const target = (lane + n) % 2 === 0 ? a : b;
          paidOnce(await infer(target.url, model.modelId, await step(lane, n)), lane, n, target.name);
        }
      }),
    );

    // 2. Raced: the same voucher (and body) to both at once; who is asked first alternates.
    const losses: string[] = [];
    await Promise.all(
      Array.from({ length: LANES }, async (_, lane) => {
        for (let n = ALTERNATE + 1; n <= ALTERNATE + RACED; n++) {
          const call = await step(lane, n);
          const order = (lane + n) % 2 === 0 ? [a, b] : [b, a];
          const answers = await Promise.all(order.map((r) => infer(r.url, model.modelId, call)));
          const won = answers.flatMap((res, i) => (res.status === 200 ? [i] : []));
          assert.equal(won.length, 1, `lane ${lane} step ${n}: exactly one replica accepts (got ${answers.map((r) => r.status).join(", ")})\n${logs()}`);
          const winner = order[won[0]!]!;
          const loser = answers[1 - won[0]!]!;
          paidOnce(answers[won[0]!]!, lane, n, winner.name);
          wins[winner === a ? "A" : "B"]++;
          if (loser.status === 409) {
            assert.equal(loser.body.error.code, "lane_busy");
            losses.push("lane_busy");
            continue;
          }
          assert.equal(loser.status, 402, `lane ${lane} step ${n}: ${loser.text}`);
          const required = paymentRequired(loser);
          assert.equal(required.error, OUT_OF_SYNC);
          // The loser offers the winner's voucher as the lane's state: the payer's own signature.
          const tabs = required.accepts.find((x) => x.scheme === requirement.scheme)!.extra.tabs as { lane: number; cumulativeAmount: string; signature?: Hex }[];
          assert.deepEqual(
            tabs.map((t) => [t.lane, t.cumulativeAmount, t.signature]),
            [[lane, (BigInt(n) * PRICE).toString(), call.signature]],
          );
          assert.equal(loser.body.outputs, undefined);
          losses.push(OUT_OF_SYNC);
        }
      }),
    );
    assert.equal(wins.A + wins.B, LANES * RACED);
    assert.ok(wins.A > 0 && wins.B > 0, `both replicas won races (A ${wins.A}, B ${wins.B}): they really competed`);

    // 3. The SDK's paying client, knowing nothing of the lanes, alternating between replicas: resynced, then paid.
    const pay = createPayingFetch({ account: payer, maxPricePerCall: PRICE, maxLanes: LANES, retries: 0 });
    const clientTop = new Map<number, bigint>();
    let clientPaid = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < CLIENT_CALLS) {
          const i = next++;
          const result = await pay.infer(model.modelId, { input: { dims: [1, 4], data: [i / 10, 0.2, 0.3, 0.4] } }, { gateway: replicas[i % 2]!.url });
          assert.equal(result.payment.receiptVerified, true);
          if (!result.payment.replay) clientPaid++;
          const lane = result.payment.lane!;
          if (result.payment.cumulativeAmount > (clientTop.get(lane) ?? 0n)) clientTop.set(lane, result.payment.cumulativeAmount);
        }
      }),
    );
    assert.equal(clientPaid, CLIENT_CALLS);

    // What must be on each lane: every step accepted once.
    const handSteps = BigInt(ALTERNATE + RACED) * PRICE;
    const expected = Array.from({ length: LANES }, (_, lane) => {
      const top = clientTop.get(lane) ?? 0n;
      return top > handSteps ? top : handSteps;
    });
    const total = expected.reduce((s, x) => s + x, 0n);
    assert.equal(total, BigInt(LANES * (ALTERNATE + RACED) + CLIENT_CALLS) * PRICE, "the client's calls continued the lanes, none re-used a step");

    // 4. Settled by the replica that runs the worker; the other has no settlement endpoint.
    assert.equal((await fetch(`${b.url}/v1/admin/settle`, { method: "POST" })).status, 404);
    const round = await settle(a.url);
    assert.equal(round.status, 200, `${JSON.stringify(round.body)}\n${logs()}`);
    assert.deepEqual(round.body.rejected, []);
    assert.equal(round.body.pending, 0);
    assert.equal(BigInt(round.body.charged), total);
    const onChain = async () => Promise.all(Array.from({ length: LANES }, (_, lane) => chain.tab(payer.address, operator, model.modelId, lane)));
    const tabs = await onChain();
    assert.deepEqual(tabs.map((t) => t.settledAmount), expected);
    assert.deepEqual(tabs.map((t) => t.settledCalls * PRICE), expected);
    assert.equal(ESCROW - (await chain.escrow(payer.address)).balance, total);

    // A second round moves nothing; the key sent exactly the first round's transactions.
    const again = await settle(a.url);
    assert.equal(again.status, 200);
    assert.deepEqual([again.body.batches, again.body.charged], [0, "0"]);
    assert.deepEqual(await onChain(), tabs);
    assert.equal(ESCROW - (await chain.escrow(payer.address)).balance, total);
    assert.equal((await chain.harness.nonce(operator)) - nonceBefore, round.body.transactions.length);

    // Both stop cleanly (drained, ledger closed), then the shared ledger agrees with the chain.
    const exits = await Promise.all(replicas.map((r) => r.stop("SIGTERM")));
    assert.deepEqual(exits.map((e) => e.code), [0, 0], logs());
    const ledger = await PostgresLedger.open({ connectionString: POSTGRES_URL, schema });
    try {
      const records = (await ledger.lanes(operator)).sort((x, y) => x.lane - y.lane);
      assert.deepEqual(records.map((r) => [r.lane, r.cumulativeAmount, r.settledAmount]), expected.map((x, lane) => [lane, x, x]));
      assert.equal((await ledger.unsettledTotal(operator)).amount, 0n);
    } finally {
      await ledger.close();
    }
    console.log(`# replicas: races won A ${wins.A} / B ${wins.B}; losers: ${losses.filter((l) => l === OUT_OF_SYNC).length} ${OUT_OF_SYNC}, ${losses.filter((l) => l === "lane_busy").length} lane_busy`);
  });

  it("answers at most as many calls as the payer's escrow covers across both replicas, and the vault charges each in full", async () => {
    const operator = address(OPERATOR_KEY);
    const payer = privateKeyToAccount(keccak256(toHex("replicas-test capped payer")));
    const escrow = BigInt(COVERED_CALLS) * PRICE;
    await chain.deposit(payer.address, escrow);
    const ledgerUrl = `${POSTGRES_URL}?schema=${schema}`;
    const replicas = await Promise.all([
      replica("capped A", ["--port", "0", "--ledger", ledgerUrl], { MODELSHARE_GATEWAY_SETTLE_INTERVAL: "3600", MODELSHARE_GATEWAY_SETTLE_MIN: "1000000000" }),
      replica("capped B", ["--port", "0", "--ledger", ledgerUrl, "--no-settle"]),
    ]);
    const [a] = replicas as [GatewayProcess, GatewayProcess];
    const logs = () => replicas.map((r) => `--- ${r.name}:\n${r.stderr()}`).join("\n");
    const requirement: Requirement = (await modelAccepts(a.url, model.modelId)).voucher;
    const domain = { chainId: chain.chainId, vault: chain.vault };

    // Every call is the first step of a lane of its own, so no two calls meet on a lane: only the escrow limits them.
    const lanes = 2 * COVERED_CALLS;
    const calls = await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        const voucher = { payer: payer.address, operator, modelId: model.modelId, lane, cumulativeAmount: PRICE, cumulativeCalls: 1n, expiry: 0n };
        const { header } = await signedVoucherHeader(payer, voucher, domain, requirement);
        return { lane, headers: { "PAYMENT-SIGNATURE": header }, body: classifierBody([[lane / 10, 0.2, 0.3, 0.4]]) };
      }),
    );
    const paid = new Set<number>();
    const refusedCorrectly = (res: Answer, lane: number, who: string) => {
      assert.equal(res.status, 402, `${who}, lane ${lane}: ${res.text}\n${logs()}`);
      assert.equal(paymentRequired(res).error, "insufficient_escrow", res.text);
      assert.equal(res.body.outputs, undefined, "a refused call gets no answer");
    };
    const tally = (res: Answer, lane: number, who: string) => {
      if (res.status !== 200) return refusedCorrectly(res, lane, who);
      assert.equal(res.body.payment.cumulativeAmount, PRICE.toString());
      paid.add(lane);
    };

    // 1. All at once, half to each replica: each replica alone sees only its own calls, which its in-memory view covers.
    const first = await Promise.all(calls.map((call) => infer(replicas[call.lane % 2]!.url, model.modelId, call)));
    first.forEach((res, lane) => tally(res, lane, replicas[lane % 2]!.name));
    const firstPaid = paid.size;
    assert.ok(firstPaid <= COVERED_CALLS, `${firstPaid} calls answered with escrow for ${COVERED_CALLS}\n${logs()}`);

    // 2. The refused calls again, one at a time through the other replica: a refusal charged nothing and left its
    // lane where it was, so the same voucher pays once there is room, and only then.
    for (const call of calls.filter((c) => !paid.has(c.lane))) {
      const target = replicas[(call.lane + 1) % 2]!;
      tally(await infer(target.url, model.modelId, call), call.lane, target.name);
    }
    assert.equal(paid.size, COVERED_CALLS, "the whole escrow was usable, and no more");

    // 3. Settled through the replica that runs the worker: every answered call charged in full, nothing short.
    const round = await settle(a.url);
    assert.equal(round.status, 200, `${JSON.stringify(round.body)}\n${logs()}`);
    assert.deepEqual(round.body.rejected, []);
    assert.equal(round.body.pending, 0);
    assert.equal(BigInt(round.body.charged), escrow);
    const tabs = await Promise.all(Array.from({ length: lanes }, (_, lane) => chain.tab(payer.address, operator, model.modelId, lane)));
    assert.deepEqual(
      tabs.map((t) => t.settledAmount),
      Array.from({ length: lanes }, (_, lane) => (paid.has(lane) ? PRICE : 0n)),
    );
    assert.equal((await chain.escrow(payer.address)).balance, 0n);

    const exits = await Promise.all(replicas.map((r) => r.stop("SIGTERM")));
    assert.deepEqual(exits.map((e) => e.code), [0, 0], logs());
    const ledger = await PostgresLedger.open({ connectionString: POSTGRES_URL, schema });
    try {
      assert.equal(await ledger.unsettledOf(payer.address, operator), 0n);
    } finally {
      await ledger.close();
    }
    console.log(`# replicas: ${firstPaid} of ${lanes} concurrent calls answered with escrow for ${COVERED_CALLS}, the rest once there was room`);
  });
});
