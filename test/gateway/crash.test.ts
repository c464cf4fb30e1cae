// DESIGN.md §9: a gateway SIGKILLed under load loses no voucher it answered for, restarts and settles without double
// charging. The real `modelshare gateway` runs as a child process on a SQLite ledger against a hardhat node, without
// its settlement worker; three payers pay concurrently on several lanes with the SDK's paying client. Four times over,
// the child is SIGKILLed mid-load — the moment a paid answer reaches its client, right after a few answers were lost
// on the way back as a crash loses them — and the ledger it leaves must hold every voucher answered with a 200. Then
// a last restart on the same ledger: the same clients carry on (put back in step by corrective 402s where the ledger
// is ahead of them), and it settles. The chain must say: each lane settled at its highest answered voucher (higher
// only by a voucher the ledger held and the payer signed), no step answered twice, escrows down by exactly the settled
// amounts, the model's revenue up by exactly that, a second round moves nothing, and every transaction of the
// operator's key is one mined settlement (no nonce spent twice or wasted).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { keccak256, parseEventLogs, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { SqliteLedger } from "../../gateway/ledger/sqlite.ts";
import type { LaneRecord } from "../../gateway/ledger/types.ts";
import { vaultAbi } from "../../sdk/contracts.ts";
import { GatewayUnreachableError } from "../../sdk/x402/errors.ts";
import { createPayingFetch, type PayingFetch } from "../../sdk/x402/paying-fetch.ts";
import { OUT_OF_SYNC } from "../../sdk/x402/voucher-scheme.ts";
import { KEYS, address } from "../cli/harness.ts";
import { startGatewayChain, type GatewayChain, type MintedModel } from "../helpers/gateway-chain.ts";
import { gatewayProcessEnv, startGatewayProcess, type GatewayProcess } from "../helpers/gateway-process.ts";
import { decodeHeader } from "../helpers/x402-payments.ts";

const PRICE = 2_000n;
const OPERATOR_KEY = KEYS[2];
const PAYERS = 3;
/** Calls in flight per payer, so lanes per payer. */
const CONCURRENCY = 4;
/** Gateway lives ended by SIGKILL: an answer sent before its voucher is durable shows in about half the crashes. */
const CRASHES = 4;
/** Answers per life before the crash is armed. */
const KILL_AFTER = 80;
/** Answers lost on the way back just before each kill. */
const LOST_ANSWERS = 2;
/** Calls per paying loop in the last life. */
const AFTER_RESTART = 3;
const ESCROW = 5_000_000n;

interface PayerRun {
  account: PrivateKeyAccount;
  pay: PayingFetch;
  /** Every voucher this payer signed and sent, by lane: cumulative → signatures (a step may be signed again, with a
   *  later expiry, by a client that did not see its first answer). */
  signed: Map<number, Map<bigint, Set<Hex>>>;
  /** Cumulatives answered with a paid 200 that charged the call, by lane. */
  fresh: Map<number, bigint[]>;
  /** Cumulatives answered as an identical retry of a step already charged (not charged again), by lane. */
  replayed: Map<number, bigint[]>;
  /** Calls that ended without an answer (cut off by a crash, or their answer lost). */
  unanswered: number;
  /** Corrective 402s (voucher_out_of_sync) this payer got. */
  resyncs: number;
}

interface Crash {
  armed: boolean;
  lost: number;
  killed: boolean;
  kill(): void;
}

// Deterministic payers: the same keys every run.
const payerKey = (i: number) => keccak256(toHex(`crash-test payer ${i}`));
const push = (map: Map<number, bigint[]>, lane: number, value: bigint) => map.set(lane, [...(map.get(lane) ?? []), value]);
const top = (values: Iterable<bigint>) => [...values].reduce((a, b) => (a > b ? a : b), 0n);

describe("a gateway process SIGKILLed under load", () => {
  let chain: GatewayChain;
  let model: MintedModel;
  let dir: string;
  const children: GatewayProcess[] = [];
  /**
   * The crash of the current life, driven from the wire: once armed, the next LOST_ANSWERS paid answers are dropped
   * before their client sees them (the gateway has charged them), and the one after that sends the SIGKILL the moment
   * it arrives, then still reaches its client: its voucher must already be durable.
   */
  let crash: Crash = { armed: false, lost: 0, killed: false, kill: () => {} };

  before(async () => {
    chain = await startGatewayChain();
    model = await chain.mint({ price: PRICE });
    dir = await mkdtemp(path.join(tmpdir(), "modelshare-crash-"));
  });

  after(async () => {
    for (const child of children) await child.stop("SIGKILL");
    await chain?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function payerRun(i: number): PayerRun {
    const account = privateKeyToAccount(payerKey(i));
    const run: PayerRun = { account, pay: undefined as unknown as PayingFetch, signed: new Map(), fresh: new Map(), replayed: new Map(), unanswered: 0, resyncs: 0 };
    // Sees every voucher on the wire, including those whose answer never came back.
    const wire: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      const header = request.headers.get("payment-signature");
      if (header) {
        const { payload } = decodeHeader<{ payload: { voucher: { lane: number; cumulativeAmount: string }; signature: Hex } }>(header);
        const lane = run.signed.get(payload.voucher.lane) ?? new Map<bigint, Set<Hex>>();
        const cumulative = BigInt(payload.voucher.cumulativeAmount);
        lane.set(cumulative, (lane.get(cumulative) ?? new Set<Hex>()).add(payload.signature));
        run.signed.set(payload.voucher.lane, lane);
      }
      const response = await fetch(request);
      if (header && response.status === 200 && crash.armed && !crash.killed) {
        if (crash.lost < LOST_ANSWERS) {
          crash.lost++;
          await response.arrayBuffer();
          throw new TypeError("fetch failed", { cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }) });
        }
        crash.killed = true;
        crash.kill();
      }
      const required = response.headers.get("payment-required");
      if (response.status === 402 && required && decodeHeader<{ error?: string }>(required).error === OUT_OF_SYNC) run.resyncs++;
      return response;
    };
    run.pay = createPayingFetch({ account, maxPricePerCall: PRICE, fetch: wire, retries: 0, maxLanes: CONCURRENCY });
    return run;
  }

  function gateway(name: string, args: string[], env: Record<string, string> = {}) {
    return startGatewayProcess({ name, cwd: dir, args, env: gatewayProcessEnv(chain, OPERATOR_KEY, env) }).then((child) => {
      children.push(child);
      return child;
    });
  }

  /** Pays calls on `url` while `more()` says so, or until the gateway goes away; returns how the loop ended. */
  async function loop(run: PayerRun, url: string, seed: number, more: () => boolean, inFlight: { n: number }): Promise<"done" | "cut"> {
    for (let call = 0; more(); call++) {
      // Inputs differ by loop and call (seeded), so no two loops of a payer send an identical request.
      const data = [seed % 7, call % 5, (seed * 31 + call) % 11, 1].map((x) => x / 10);
      inFlight.n++;
      try {
        const result = await run.pay.infer(model.modelId, { input: { dims: [1, 4], data } }, { gateway: url });
        assert.equal(result.payment.receiptVerified, true);
        push(result.payment.replay ? run.replayed : run.fresh, result.payment.lane!, result.payment.cumulativeAmount);
      } catch (error) {
        // Cut off: no connection, or (after the kill) an answer whose body never arrived in full.
        if (error instanceof GatewayUnreachableError || (crash.killed && error instanceof TypeError)) {
          run.unanswered++;
          return "cut";
        }
        throw error;
      } finally {
        inFlight.n--;
      }
    }
    return "done";
  }

  it("loses no answered voucher, settles each lane once at its highest answered voucher, and charges no one beyond what they signed", async () => {
    const operator = address(OPERATOR_KEY);
    const owner = address(KEYS[0]);
    const runs = Array.from({ length: PAYERS }, (_, i) => payerRun(i));
    for (const run of runs) await chain.deposit(run.account.address, ESCROW);
    const firstBlock = (await chain.client.getBlockNumber()) + 1n;
    const nonceBefore = await chain.harness.nonce(operator);
    const ledgerFile = path.join(dir, "ledger.sqlite");
    const answers = () => runs.reduce((n, r) => n + [...r.fresh.values(), ...r.replayed.values()].reduce((m, l) => m + l.length, 0), 0);
    const answeredTop = (run: PayerRun, lane: number) => top([...(run.fresh.get(lane) ?? []), ...(run.replayed.get(lane) ?? [])]);
    const storedOf = (stored: LaneRecord[], payer: Address, lane: number) =>
      stored.find((r) => r.payer.toLowerCase() === payer.toLowerCase() && r.modelId === model.modelId && r.lane === lane);
    const notes: string[] = [];
    let stored: LaneRecord[] = [];

    // 1. Lives without a settlement worker, each ended by SIGKILL under load.
    for (let life = 1; life <= CRASHES; life++) {
      const child = await gateway(`gateway#${life}`, ["--port", "0", "--ledger", `sqlite:${ledgerFile}`, "--no-settle"]);
      const inFlight = { n: 0 };
      const start = answers();
      let busy = 0;
      let atKill = 0;
      crash = {
        armed: false,
        lost: 0,
        killed: false,
        kill: () => {
          busy = inFlight.n;
          atKill = answers();
          child.process.kill("SIGKILL");
        },
      };
      const loops = runs.flatMap((run, p) => Array.from({ length: CONCURRENCY }, (_, c) => loop(run, child.url, life * 100 + p * 10 + c, () => true, inFlight)));
      const armed = (async () => {
        while (answers() - start < KILL_AFTER) {
          if (child.process.exitCode !== null) throw new Error(`${child.name} died by itself:\n${child.stderr()}`);
          await new Promise((r) => setTimeout(r, 2));
        }
        crash.armed = true;
        return child.exited;
      })();
      armed.catch(() => {}); // awaited below, after the loops
      const ends = await Promise.all(loops);
      const exit = await armed;
      assert.equal(exit.signal, "SIGKILL", `${child.name} was killed, not exited`);
      assert.ok(busy > 1, `other calls were in flight when the kill came (${busy})`);
      assert.ok(ends.every((e) => e === "cut"), "every paying loop was cut off by the kill");

      // What survived on disk: every voucher answered with a 200 is there (or a later one the payer signed).
      const crashed = new SqliteLedger(ledgerFile);
      stored = await crashed.lanes(operator);
      await crashed.close();
      let ahead = 0;
      runs.forEach((run, p) => {
        for (const [lane, signed] of run.signed) {
          const answered = answeredTop(run, lane);
          const record = storedOf(stored, run.account.address, lane);
          const cumulative = record?.cumulativeAmount ?? 0n;
          assert.ok(cumulative >= answered, `after crash ${life}, payer ${p} lane ${lane}: the ledger holds ${cumulative}, but ${answered} was answered`);
          if (!record) continue;
          assert.ok(signed.get(cumulative)?.has(record.signature), `payer ${p} lane ${lane}: the ledger's voucher ${cumulative} is one the payer signed`);
          assert.equal(record.cumulativeCalls * PRICE, cumulative);
          if (cumulative > answered) ahead++;
        }
      });
      notes.push(`life ${life}: ${answers() - start} answers, ${busy} calls in flight at the kill, ${answers() - atKill} answered after it, ${crash.lost} lost, ${ahead} lanes ahead of their answers`);
    }
    assert.equal(stored.length, runs.reduce((n, r) => n + [...r.signed.keys()].filter((lane) => storedOf(stored, r.account.address, lane)).length, 0), "no lane nobody paid on");

    // 2. The last life, on the same ledger, with its settlement worker (idle until told: long interval, high threshold).
    crash = { armed: false, lost: 0, killed: false, kill: () => {} };
    const last = await gateway("gateway#last", ["--port", "0", "--ledger", `sqlite:${ledgerFile}`], {
      MODELSHARE_GATEWAY_SETTLE_INTERVAL: "3600",
      MODELSHARE_GATEWAY_SETTLE_MIN: "1000",
    });
    const resumed = await Promise.all(
      runs.flatMap((run, p) =>
        Array.from({ length: CONCURRENCY }, (_, c) => {
          let left = AFTER_RESTART;
          return loop(run, last.url, 900 + p * 10 + c, () => left-- > 0, { n: 0 });
        }),
      ),
    );
    assert.ok(resumed.every((e) => e === "done"), last.stderr());
    assert.ok(runs.reduce((n, r) => n + r.resyncs, 0) >= 1, "clients behind the ledger were put back in step by corrective 402s");

    const settle = async () => {
      const res = await fetch(`${last.url}/v1/admin/settle`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ all: true }) });
      const body = (await res.json()) as { batches: number; charged: string; transactions: Hex[]; rejected: unknown[]; pending: number };
      assert.equal(res.status, 200, `${JSON.stringify(body)}\n${last.stderr()}`);
      return body;
    };
    const round = await settle();
    assert.deepEqual(round.rejected, []);
    assert.equal(round.pending, 0);

    // 3. The chain, lane by lane: at the highest answered voucher, or at the later one the last crash left in the ledger.
    let charged = 0n;
    const expectedTabs: bigint[] = [];
    for (const [p, run] of runs.entries()) {
      let payerCharged = 0n;
      let chargedUnanswered = 0n;
      for (const [lane, signed] of run.signed) {
        const tab = await chain.tab(run.account.address, operator, model.modelId, lane);
        const answered = answeredTop(run, lane);
        const expected = top([answered, storedOf(stored, run.account.address, lane)?.cumulativeAmount ?? 0n]);
        assert.equal(tab.settledAmount, expected, `payer ${p} lane ${lane}`);
        assert.ok(tab.settledAmount <= top(signed.keys()), `payer ${p} lane ${lane}: settled ${tab.settledAmount} above the highest voucher signed`);
        assert.equal(tab.settledCalls * PRICE, tab.settledAmount);
        // No step answered twice as a charged call; the steps charged without an answer are calls that got none.
        const fresh = run.fresh.get(lane) ?? [];
        assert.equal(new Set(fresh).size, fresh.length, `payer ${p} lane ${lane}: a step was charged twice`);
        const answeredSteps = new Set([...fresh, ...(run.replayed.get(lane) ?? [])]);
        chargedUnanswered += tab.settledCalls - BigInt(answeredSteps.size);
        payerCharged += tab.settledAmount;
        expectedTabs.push(tab.settledAmount);
      }
      assert.ok(chargedUnanswered <= BigInt(run.unanswered), `payer ${p}: ${chargedUnanswered} steps charged without an answer, but only ${run.unanswered} calls went unanswered`);
      const escrow = await chain.escrow(run.account.address);
      assert.equal(ESCROW - escrow.balance, payerCharged, `payer ${p}: escrow down by exactly its settled lanes`);
      charged += payerCharged;
    }
    assert.equal(BigInt(round.charged), charged);

    // The model's revenue: the split of exactly what was charged, once.
    const receipts = await Promise.all(round.transactions.map((hash) => chain.client.getTransactionReceipt({ hash })));
    assert.ok(receipts.every((r) => r.status === "success"));
    const splits = receipts.flatMap((r) => parseEventLogs({ abi: vaultAbi, logs: r.logs, eventName: "RevenueSplit" }));
    assert.equal(splits.reduce((s, e) => s + e.args.gross, 0n), charged);
    assert.ok(splits.every((e) => e.args.modelId === model.modelId && e.args.operator === operator));
    assert.equal(await chain.fees(operator), splits.reduce((s, e) => s + e.args.operatorFee, 0n));
    const holders = splits.reduce((s, e) => s + e.args.holders, 0n);
    const claimable = await chain.claimable(owner, [model.modelId]);
    assert.ok(claimable <= holders && holders - claimable <= BigInt(splits.length), `holders can claim ${claimable} of ${holders}`);

    // 4. Settling again (through the CLI this time) moves nothing.
    const again = await chain.harness.cli(["settle", "--gateway", last.url, "--json"], { key: null });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual([again.json().batches, again.json().chargedUnits], [0, "0"]);
    const tabsAgain = [];
    for (const run of runs) {
      for (const lane of run.signed.keys()) tabsAgain.push((await chain.tab(run.account.address, operator, model.modelId, lane)).settledAmount);
    }
    assert.deepEqual(tabsAgain, expectedTabs);
    const escrows = await Promise.all(runs.map((r) => chain.escrow(r.account.address)));
    assert.equal(ESCROW * BigInt(PAYERS) - escrows.reduce((s, e) => s + e.balance, 0n), charged);

    // 5. The operator's key: one mined settle transaction per nonce it used, nothing else.
    assert.equal((await chain.harness.nonce(operator)) - nonceBefore, round.transactions.length, "nonces used = settlement transactions");
    const latest = await chain.client.getBlockNumber();
    const sent: { nonce: number; to: Address | null; hash: Hex }[] = [];
    for (let n = firstBlock; n <= latest; n++) {
      const block = await chain.client.getBlock({ blockNumber: n, includeTransactions: true });
      for (const tx of block.transactions) if (tx.from.toLowerCase() === operator.toLowerCase()) sent.push({ nonce: tx.nonce, to: tx.to, hash: tx.hash });
    }
    assert.deepEqual(sent.map((t) => t.hash).sort(), [...round.transactions].sort());
    assert.deepEqual(sent.map((t) => t.nonce), Array.from({ length: sent.length }, (_, i) => nonceBefore + i));
    assert.ok(sent.every((t) => t.to?.toLowerCase() === chain.vault.toLowerCase()));

    // And the ledger agrees after a clean stop: nothing left to settle or in flight.
    const stop = await last.stop("SIGTERM");
    assert.equal(stop.code, 0, last.stderr());
    const ledger = new SqliteLedger(ledgerFile);
    assert.equal((await ledger.unsettledTotal(operator)).amount, 0n);
    assert.deepEqual(await ledger.pendingSubmissions(operator), []);
    await ledger.close();
    console.log(`# crash: ${notes.join("; ")}; then ${round.transactions.length} settle tx(s) charging ${charged}`);
  });
});
