// The behaviour every ledger must have, written once and run against SQLite (ledger-sqlite.test.ts) and PostgreSQL
// (ledger-postgres.test.ts). `open` makes a fresh ledger; `reopen` opens the same one again (after `close`, or as a
// second connection to it).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { bytesToHex, getAddress, type Address, type Hex } from "viem";
import { LedgerError } from "../../gateway/ledger/errors.ts";
import type { AcceptVoucher, LaneKey, Ledger, Submission } from "../../gateway/ledger/types.ts";

export interface LedgerFixture {
  open(): Promise<Ledger>;
  /** Opens the same ledger again: after `close`, or alongside it as a second connection (another process would). */
  reopen(): Promise<Ledger>;
  /** Group-commit transactions written so far by this ledger object. */
  commits(ledger: Ledger): number;
  cleanup?(): Promise<void>;
}

export const randomAddress = (): Address => getAddress(bytesToHex(randomBytes(20)));
export const randomHex = (bytes: number): Hex => bytesToHex(randomBytes(bytes));

export function key(operator: Address, overrides: Partial<LaneKey> = {}): LaneKey {
  return { payer: randomAddress(), operator, modelId: 1n, lane: 0, ...overrides };
}

/** A voucher moving `lane` from `from` to `to` (amounts in base units; one call per 1,000 units). */
export function voucher(lane: LaneKey, from: bigint, to: bigint, overrides: Partial<AcceptVoucher> = {}): AcceptVoucher {
  return {
    ...lane,
    expectedCumulative: from,
    cumulativeAmount: to,
    cumulativeCalls: to / 1000n,
    expiry: 0n,
    signature: randomHex(65),
    signer: lane.payer,
    inputSha256: randomHex(32),
    acceptedAt: Date.now(),
    ...overrides,
  };
}

const ALL: (keyof AcceptVoucher)[] = ["cumulativeAmount", "cumulativeCalls", "expiry", "signature", "signer", "inputSha256", "acceptedAt"];

function assertHolds(record: Awaited<ReturnType<Ledger["lane"]>>, v: AcceptVoucher) {
  assert.ok(record, "lane exists");
  for (const field of ALL) {
    const want = v[field];
    assert.equal(record[field as keyof typeof record], typeof want === "string" ? (field === "signer" ? getAddress(want) : want.toLowerCase()) : want, field);
  }
}

async function assertBadInput(promise: Promise<unknown>, pattern: RegExp) {
  await assert.rejects(promise, (error: unknown) => error instanceof LedgerError && error.code === "bad_input" && pattern.test(error.message));
}

export function ledgerConformance(name: string, fixture: LedgerFixture) {
  describe(`${name} ledger`, () => {
    let ledger: Ledger;
    let operator: Address;

    before(async () => {
      ledger = await fixture.open();
    });
    after(async () => {
      await ledger.close();
      await fixture.cleanup?.();
    });
    // Every test uses its own operator, so their lanes never meet.
    const fresh = () => (operator = randomAddress());

    it("accepts a lane's first voucher and records every field exactly", async () => {
      fresh();
      const lane = key(operator, { lane: 7, modelId: 42n });
      const v = voucher(lane, 0n, 2_000n, { expiry: 1_900_000_000n });
      assert.equal(await ledger.accept(v), "accepted");
      const record = await ledger.lane(lane);
      assertHolds(record, v);
      assert.equal(record!.payer, lane.payer);
      assert.equal(record!.operator, operator);
      assert.equal(record!.modelId, 42n);
      assert.equal(record!.lane, 7);
      assert.equal(record!.settledAmount, 0n);
      assert.equal(record!.settledCalls, 0n);
      assert.equal(record!.unsettledSince, v.acceptedAt);
      assert.equal(record!.rejected, null);
      assert.equal(record!.rejectedAt, null);
      assert.deepEqual(await ledger.lanes(operator), [record]);
      assert.equal(await ledger.lane({ ...lane, lane: 8 }), undefined);
    });

    it("advances an existing lane when its cumulative is the expected one, keeping when it became unsettled", async () => {
      fresh();
      const lane = key(operator);
      const first = voucher(lane, 0n, 1_000n, { acceptedAt: 1_000 });
      const second = voucher(lane, 1_000n, 2_000n, { acceptedAt: 2_000 });
      assert.equal(await ledger.accept(first), "accepted");
      assert.equal(await ledger.accept(second), "accepted");
      const record = await ledger.lane(lane);
      assertHolds(record, second);
      assert.equal(record!.unsettledSince, 1_000, "the oldest unsettled voucher is the first one");
    });

    it("writes nothing when another writer moved the lane first (stale expected cumulative)", async () => {
      fresh();
      const lane = key(operator);
      await ledger.accept(voucher(lane, 0n, 1_000n));
      await ledger.accept(voucher(lane, 1_000n, 2_000n));
      const before = await ledger.lane(lane);
      assert.equal(await ledger.accept(voucher(lane, 0n, 5_000n)), "stale", "a first voucher on a lane that exists");
      assert.equal(await ledger.accept(voucher(lane, 1_000n, 3_000n)), "stale", "a step that was already taken");
      assert.equal(await ledger.accept(voucher(lane, 3_000n, 4_000n)), "stale", "a step from the future");
      assert.equal(await ledger.accept(voucher(key(operator), 500n, 1_500n)), "stale", "a lane that does not exist yet");
      assert.deepEqual(await ledger.lane(lane), before);
      assert.equal((await ledger.lanes(operator)).length, 1);
    });

    it("caps a payer's unsettled total with the operator over all its lanes and models, and only that payer's", async () => {
      fresh();
      const payer = randomAddress();
      const lane = (n: number, modelId = 1n) => key(operator, { payer, lane: n, modelId });
      const cap = { maxUnsettled: 5_000n };
      assert.equal(await ledger.accept(voucher(lane(0), 0n, 2_000n, cap)), "accepted");
      assert.equal(await ledger.accept(voucher(lane(0, 2n), 0n, 2_000n, cap)), "accepted", "another model of the same payer");
      const before = await ledger.lanes(operator);
      assert.equal(await ledger.accept(voucher(lane(0), 2_000n, 4_000n, cap)), "over_cap", "6,000 would be owed");
      assert.equal(await ledger.accept(voucher(lane(1), 0n, 1_001n, cap)), "over_cap", "5,001 would be owed");
      assert.deepEqual(await ledger.lanes(operator), before, "a refusal writes nothing");
      assert.equal(await ledger.accept(voucher(lane(0), 0n, 1_000n, cap)), "stale", "a moved lane is stale, whatever the cap");
      assert.equal(await ledger.accept(voucher(lane(1), 0n, 1_000n, cap)), "accepted", "the cap is inclusive");
      assert.equal(await ledger.accept(voucher(lane(2), 0n, 1n, cap)), "over_cap");
      assert.equal(await ledger.unsettledOf(payer, operator), 5_000n);

      // Other payers of the operator, and the payer's tabs with other operators, are not counted.
      assert.equal(await ledger.accept(voucher(key(operator), 0n, 5_000n, cap)), "accepted");
      assert.equal(await ledger.accept(voucher(key(randomAddress(), { payer }), 0n, 5_000n, cap)), "accepted");
      // A voucher recorded without a cap is taken, and counts against the next capped one.
      assert.equal(await ledger.accept(voucher(lane(3), 0n, 1_000n)), "accepted");
      assert.equal(await ledger.accept(voucher(lane(4), 0n, 1n, { maxUnsettled: 6_000n })), "over_cap");
      assert.equal(await ledger.accept(voucher(lane(4), 0n, 1n, { maxUnsettled: 6_001n })), "accepted");
      await assertBadInput(ledger.accept(voucher(lane(5), 0n, 1n, { maxUnsettled: -1n })), /maxUnsettled must fit a uint256/);
      assert.equal(await ledger.lane(lane(2)), undefined);
    });

    it("frees room under the cap as the chain settles, counting each lane from its own high-water mark", async () => {
      fresh();
      const payer = randomAddress();
      const [a, b, c, d] = [0, 1, 2, 3].map((n) => key(operator, { payer, lane: n }));
      const cap = { maxUnsettled: 3_000n };
      assert.equal(await ledger.accept(voucher(a!, 0n, 3_000n, cap)), "accepted");
      assert.equal(await ledger.accept(voucher(b!, 0n, 1_000n, cap)), "over_cap");
      await ledger.recordSettled([{ ...a!, settledAmount: 2_000n, settledCalls: 2n, rejected: null }]);
      assert.equal(await ledger.accept(voucher(b!, 0n, 1_000n, cap)), "accepted", "a owes 1,000 now");
      assert.equal(await ledger.accept(voucher(a!, 3_000n, 4_000n, cap)), "accepted", "a owes 2,000 once past its mark");
      assert.equal(await ledger.accept(voucher(c!, 0n, 1n, cap)), "over_cap");
      // A mark beyond the lane's voucher (the chain ahead of this ledger) frees that lane, never more.
      await ledger.recordSettled([{ ...b!, settledAmount: 5_000n, settledCalls: 5n, rejected: null }]);
      assert.equal(await ledger.accept(voucher(c!, 0n, 1_000n, cap)), "accepted");
      assert.equal(await ledger.accept(voucher(d!, 0n, 1n, cap)), "over_cap");
      assert.equal(await ledger.unsettledOf(payer, operator), 3_000n);
    });

    it("counts a payer's accepts in one transaction together, in call order", async () => {
      fresh();
      const [p, q, r] = [randomAddress(), randomAddress(), randomAddress()];
      const cap = { maxUnsettled: 3_000n };
      const lane = (payer: Address, n: number) => key(operator, { payer, lane: n });
      const commitsBefore = fixture.commits(ledger);
      const results = await Promise.all([
        ledger.accept(voucher(lane(p, 0), 0n, 1_000n, cap)),
        ledger.accept(voucher(lane(p, 0), 0n, 1_000n, cap)),
        ledger.accept(voucher(lane(p, 1), 0n, 1_000n, cap)),
        ledger.accept(voucher(lane(q, 0), 0n, 3_000n, cap)),
        ledger.accept(voucher(lane(p, 2), 0n, 1_000n, cap)),
        ledger.accept(voucher(lane(p, 3), 0n, 1_000n, cap)),
        ledger.accept(voucher(lane(p, 4), 0n, 1_000n, cap)),
        // Steps of one lane: each counts what the ones before it added.
        ledger.accept(voucher(lane(r, 0), 0n, 1_000n, cap)),
        ledger.accept(voucher(lane(r, 0), 1_000n, 2_000n, cap)),
        ledger.accept(voucher(lane(r, 0), 2_000n, 4_000n, cap)),
        ledger.accept(voucher(lane(r, 0), 2_000n, 3_000n, cap)),
      ]);
      assert.equal(fixture.commits(ledger) - commitsBefore, 1, "one transaction for the whole tick");
      assert.deepEqual(results, ["accepted", "stale", "accepted", "accepted", "accepted", "over_cap", "over_cap", "accepted", "accepted", "over_cap", "accepted"]);
      assert.deepEqual((await ledger.lanes(operator, p)).map((l) => l.lane), [0, 1, 2]);
      assert.equal(await ledger.unsettledOf(p, operator), 3_000n);
      assert.equal((await ledger.lane(lane(r, 0)))!.cumulativeAmount, 3_000n);
    });

    it("never lets two connections together take a payer past its cap", async () => {
      fresh();
      const other = await fixture.reopen();
      try {
        const payer = randomAddress();
        const covered = 20;
        const cap = { maxUnsettled: BigInt(covered) * 1_000n };
        // Both write in bursts, a tick apart, so their transactions interleave; each on lanes of its own.
        const results: Promise<string>[] = [];
        for (let burst = 0; burst < 10; burst++) {
          for (const [i, l] of [ledger, other].entries()) {
            for (let n = 0; n < 3; n++) results.push(l.accept(voucher(key(operator, { payer, lane: i * 1_000 + burst * 3 + n }), 0n, 1_000n, cap)));
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
        const done = await Promise.all(results);
        assert.equal(done.filter((r) => r === "accepted").length, covered, done.join(" "));
        assert.equal(done.filter((r) => r === "over_cap").length, done.length - covered);
        assert.equal(await ledger.unsettledOf(payer, operator), cap.maxUnsettled);
        assert.equal((await other.lanes(operator, payer)).length, covered);
      } finally {
        await other.close();
      }
    });

    it("commits every write made in one tick in one transaction, each with its own result", async () => {
      fresh();
      const lanes = Array.from({ length: 40 }, (_, i) => key(operator, { lane: i }));
      const contested = key(operator, { lane: 100 });
      const chained = key(operator, { lane: 200 });
      const nonce = randomHex(32);
      const payer = randomAddress();
      const commitsBefore = fixture.commits(ledger);
      const results = await Promise.all([
        ...lanes.map((l) => ledger.accept(voucher(l, 0n, 1_000n))),
        // Two first vouchers for one lane: the first in call order wins.
        ledger.accept(voucher(contested, 0n, 1_000n, { signature: "0x01" })),
        ledger.accept(voucher(contested, 0n, 2_000n, { signature: "0x02" })),
        // Three steps of one lane in one tick apply in order.
        ledger.accept(voucher(chained, 0n, 1_000n)),
        ledger.accept(voucher(chained, 1_000n, 2_000n)),
        ledger.accept(voucher(chained, 2_000n, 3_000n)),
        ledger.recordExact({ nonce, from: payer, to: randomAddress(), value: 5n, modelId: 1n, acceptedAt: 1 }),
        ledger.recordExact({ nonce, from: payer, to: randomAddress(), value: 5n, modelId: 1n, acceptedAt: 2 }),
      ]);
      assert.equal(fixture.commits(ledger) - commitsBefore, 1, "one transaction for the whole tick");
      assert.deepEqual(results, [...lanes.map(() => "accepted"), "accepted", "stale", "accepted", "accepted", "accepted", true, false]);
      assert.equal((await ledger.lane(contested))!.signature, "0x01");
      assert.equal((await ledger.lane(chained))!.cumulativeAmount, 3_000n);
      assert.equal((await ledger.lanes(operator)).length, 42);
    });

    it("refuses bad input with a clear error, writing nothing and failing nothing else in its batch", async () => {
      fresh();
      const lane = key(operator);
      const good = voucher(key(operator, { lane: 1 }), 0n, 1_000n);
      const [bad1, bad2, bad3, bad4, bad5, bad6, ok] = await Promise.allSettled([
        ledger.accept(voucher(lane, 1_000n, 1_000n)),
        ledger.accept(voucher(lane, 0n, 1_000n, { lane: 2 ** 32 })),
        ledger.accept(voucher(lane, 0n, 1_000n, { payer: "0x1234" as Address })),
        ledger.accept(voucher(lane, 0n, 2n ** 256n)),
        ledger.accept(voucher(lane, 0n, 1_000n, { cumulativeCalls: -1n })),
        ledger.accept(voucher(lane, 0n, 1_000n, { inputSha256: "0xabcd" })),
        ledger.accept(good),
      ]);
      const reasons = [bad1, bad2, bad3, bad4, bad5, bad6].map((r) => (r.status === "rejected" ? (r.reason as LedgerError) : undefined));
      for (const r of reasons) assert.ok(r instanceof LedgerError && r.code === "bad_input", String(r));
      assert.match(reasons[0]!.message, /does not advance the lane/);
      assert.match(reasons[1]!.message, /lane must be an integer/);
      assert.match(reasons[2]!.message, /payer must be a 20-byte hex address/);
      assert.match(reasons[3]!.message, /cumulativeAmount must fit a uint256/);
      assert.match(reasons[4]!.message, /cumulativeCalls must fit a uint64/);
      assert.match(reasons[5]!.message, /inputSha256 must be 32 bytes/);
      assert.deepEqual(ok, { status: "fulfilled", value: "accepted" });
      assert.equal(await ledger.lane(lane), undefined);
      await assertBadInput(ledger.recordExact({ nonce: "0x01", from: randomAddress(), to: randomAddress(), value: 1n, modelId: 1n, acceptedAt: 1 }), /nonce/);
      await assertBadInput(ledger.settlementCandidates({ operator, minUnsettled: 1n, unsettledBefore: 0, payers: [], limit: 0 }), /limit/);
    });

    it("refuses an exact authorization nonce its payer already used, but not another payer's", async () => {
      const from = randomAddress();
      const nonce = randomHex(32);
      const auth = { nonce, from, to: randomAddress(), value: 2_000n, modelId: 3n, acceptedAt: Date.now() };
      assert.equal(await ledger.recordExact(auth), true);
      assert.equal(await ledger.recordExact(auth), false);
      assert.equal(await ledger.recordExact({ ...auth, value: 1n, nonce: nonce.toUpperCase().replace("0X", "0x") as Hex }), false, "hex case");
      assert.equal(await ledger.recordExact({ ...auth, from: randomAddress() }), true);
    });

    it("lists settlement candidates by unsettled amount, age, payer and expiry, oldest first", async () => {
      fresh();
      const big = key(operator);
      const old = key(operator);
      const withdrawing = key(operator);
      const expiring = key(operator);
      const quiet = key(operator);
      const settled = key(operator);
      await ledger.accept(voucher(big, 0n, 50_000n, { acceptedAt: 5_000 }));
      await ledger.accept(voucher(old, 0n, 1_000n, { acceptedAt: 1_000 }));
      await ledger.accept(voucher(withdrawing, 0n, 1_000n, { acceptedAt: 4_000 }));
      await ledger.accept(voucher(expiring, 0n, 1_000n, { acceptedAt: 3_000, expiry: 1_700_000_000n }));
      await ledger.accept(voucher(quiet, 0n, 1_000n, { acceptedAt: 6_000, expiry: 1_800_000_000n }));
      await ledger.accept(voucher(settled, 0n, 90_000n, { acceptedAt: 500 }));
      await ledger.recordSettled([{ ...settled, settledAmount: 90_000n, settledCalls: 90n, rejected: null }]);
      // Another operator's lane matches everything but must never appear.
      await ledger.accept(voucher(key(randomAddress(), { payer: withdrawing.payer }), 0n, 90_000n, { acceptedAt: 1 }));

      const query = { operator, minUnsettled: 10_000n, unsettledBefore: 2_000, payers: [withdrawing.payer], expiringBefore: 1_750_000_000n, limit: 10 };
      const found = await ledger.settlementCandidates(query);
      assert.deepEqual(
        found.map((r) => r.payer),
        [old.payer, expiring.payer, withdrawing.payer, big.payer],
      );
      assert.deepEqual((await ledger.settlementCandidates({ ...query, limit: 2 })).map((r) => r.payer), [old.payer, expiring.payer]);
      const none = await ledger.settlementCandidates({ operator, minUnsettled: 10n ** 30n, unsettledBefore: 0, payers: [], limit: 10 });
      assert.deepEqual(none, []);
      const byAmountOnly = await ledger.settlementCandidates({ operator, minUnsettled: 50_000n, unsettledBefore: 0, payers: [], limit: 10 });
      assert.deepEqual(byAmountOnly.map((r) => r.payer), [big.payer], "the threshold is inclusive");
    });

    it("leaves rejected lanes out of the candidates unless their reason may have cleared up", async () => {
      fresh();
      const badSig = key(operator);
      const empty = key(operator);
      await ledger.accept(voucher(badSig, 0n, 1_000n, { acceptedAt: 1_000 }));
      await ledger.accept(voucher(empty, 0n, 1_000n, { acceptedAt: 1_000 }));
      await ledger.recordSettled([
        { ...badSig, settledAmount: 0n, settledCalls: 0n, rejected: "BadSignature", at: 10_000 },
        { ...empty, settledAmount: 0n, settledCalls: 0n, rejected: "EmptyEscrow", at: 10_000 },
      ]);
      const query = { operator, minUnsettled: 1n, unsettledBefore: 0, payers: [], limit: 10 };
      assert.deepEqual(await ledger.settlementCandidates(query), []);
      const retry = (before: number) => ledger.settlementCandidates({ ...query, retryRejected: { reasons: ["EmptyEscrow"], before } });
      assert.deepEqual(await retry(10_000), [], "rejected too recently");
      assert.deepEqual((await retry(10_001)).map((r) => r.payer), [empty.payer]);
      // A newer voucher on the lane has not been judged by the vault: it is a candidate again.
      await ledger.accept(voucher(badSig, 1_000n, 2_000n));
      assert.deepEqual((await ledger.settlementCandidates(query)).map((r) => r.payer), [badSig.payer]);
      const record = await ledger.lane(badSig);
      assert.equal(record!.rejected, null);
      assert.equal(record!.rejectedAt, null);
    });

    it("raises on-chain high-water marks and never lowers them", async () => {
      fresh();
      const lane = key(operator);
      await ledger.accept(voucher(lane, 0n, 1_000n, { acceptedAt: 100 }));
      await ledger.accept(voucher(lane, 1_000n, 3_000n, { acceptedAt: 200 }));
      await ledger.recordSettled([{ ...lane, settledAmount: 2_000n, settledCalls: 2n, rejected: "EmptyEscrow", at: 300 }]);
      let record = await ledger.lane(lane);
      assert.equal(record!.settledAmount, 2_000n);
      assert.equal(record!.settledCalls, 2n);
      assert.equal(record!.unsettledSince, 100, "partly settled: still unsettled since the first voucher");
      assert.equal(record!.rejected, "EmptyEscrow");
      assert.equal(record!.rejectedAt, 300);
      assert.equal(await ledger.unsettledOf(lane.payer, operator), 1_000n);

      // A late receipt with an older mark changes nothing but the rejection.
      await ledger.recordSettled([{ ...lane, settledAmount: 1_000n, settledCalls: 1n, rejected: null }]);
      record = await ledger.lane(lane);
      assert.equal(record!.settledAmount, 2_000n);
      assert.equal(record!.settledCalls, 2n);
      assert.equal(record!.rejected, null);

      await ledger.recordSettled([
        { ...lane, settledAmount: 3_000n, settledCalls: 3n, rejected: null },
        { ...lane, settledAmount: 2_500n, settledCalls: 2n, rejected: null },
        { ...key(operator), settledAmount: 9n, settledCalls: 9n, rejected: null },
      ]);
      record = await ledger.lane(lane);
      assert.equal(record!.settledAmount, 3_000n);
      assert.equal(record!.settledCalls, 3n);
      assert.equal(record!.unsettledSince, null);
      assert.equal(await ledger.unsettledOf(lane.payer, operator), 0n);
      assert.equal((await ledger.lanes(operator)).length, 1, "an update for an unknown lane creates nothing");
      assert.deepEqual(await ledger.settlementCandidates({ operator, minUnsettled: 1n, unsettledBefore: Number.MAX_SAFE_INTEGER, payers: [lane.payer], limit: 5 }), []);
    });

    it("does not pin a verdict on an older voucher to the newer one the lane holds now", async () => {
      fresh();
      const lane = key(operator);
      await ledger.accept(voucher(lane, 0n, 1_000n));
      await ledger.accept(voucher(lane, 1_000n, 2_000n));
      // The worker sent the 1,000 voucher; the request path accepted the 2,000 one before the receipt came back.
      await ledger.recordSettled([{ ...lane, settledAmount: 0n, settledCalls: 0n, rejected: "BadSignature", at: 5, voucherCumulative: 1_000n }]);
      assert.equal((await ledger.lane(lane))!.rejected, null);
      await ledger.recordSettled([{ ...lane, settledAmount: 1_000n, settledCalls: 1n, rejected: "EmptyEscrow", at: 6, voucherCumulative: 1_000n }]);
      let record = await ledger.lane(lane);
      assert.equal(record!.settledAmount, 1_000n, "the mark still rises");
      assert.equal(record!.rejected, null);
      await ledger.recordSettled([{ ...lane, settledAmount: 1_000n, settledCalls: 1n, rejected: "EmptyEscrow", at: 7, voucherCumulative: 2_000n }]);
      record = await ledger.lane(lane);
      assert.equal(record!.rejected, "EmptyEscrow");
      assert.equal(record!.rejectedAt, 7);
    });

    it("sums what each payer and the operator are owed beyond the chain", async () => {
      fresh();
      const payer = randomAddress();
      const a = key(operator, { payer, lane: 0 });
      const b = key(operator, { payer, lane: 1 });
      const c = key(operator, { payer, modelId: 2n });
      const other = key(operator);
      await ledger.accept(voucher(a, 0n, 3_000n));
      await ledger.accept(voucher(b, 0n, 2n ** 70n));
      await ledger.accept(voucher(c, 0n, 1_000n));
      await ledger.accept(voucher(other, 0n, 7_000n));
      await ledger.accept(voucher(key(randomAddress(), { payer }), 0n, 5_000n));
      await ledger.recordSettled([{ ...a, settledAmount: 1_000n, settledCalls: 1n, rejected: null }, { ...c, settledAmount: 1_000n, settledCalls: 1n, rejected: null }]);
      assert.equal(await ledger.unsettledOf(payer, operator), 2_000n + 2n ** 70n);
      assert.equal(await ledger.unsettledOf(randomAddress(), operator), 0n);
      assert.deepEqual(await ledger.unsettledTotal(operator), { amount: 2_000n + 2n ** 70n + 7_000n, lanes: 3 });
      assert.deepEqual(await ledger.unsettledPayers(operator), [payer, other.payer].sort((x, y) => (x.toLowerCase() < y.toLowerCase() ? -1 : 1)));
    });

    it("tracks settlement transactions from sent to mined or failed, one in flight per sender and nonce", async () => {
      const from = randomAddress();
      const lanes = [{ ...key(randomAddress(), { modelId: 2n ** 200n, lane: 3 }), cumulativeAmount: 2n ** 100n }];
      const submission = (nonce: number): Submission => ({ hash: randomHex(32), nonce, raw: randomHex(120), lanes, status: "sent", sentAt: 1_000 + nonce, from });
      const s5 = submission(5);
      const s4 = submission(4);
      await ledger.recordSubmission(s5);
      await ledger.recordSubmission(s4);
      assert.deepEqual(await ledger.pendingSubmissions(from), [s4, s5], "ordered by nonce, every field exact");
      assert.deepEqual(await ledger.pendingSubmissions(randomAddress()), []);
      assert.ok((await ledger.pendingSubmissions()).some((s) => s.hash === s5.hash));

      await assert.rejects(ledger.recordSubmission(submission(5)), (e: unknown) => e instanceof LedgerError && e.code === "conflict");
      await assert.rejects(ledger.recordSubmission(s4), (e: unknown) => e instanceof LedgerError && e.code === "conflict");

      await ledger.updateSubmission(s4.hash, "mined");
      await ledger.updateSubmission(s5.hash, "failed");
      assert.deepEqual(await ledger.pendingSubmissions(from), []);
      // Once the first one failed (replaced), the nonce may carry a new transaction.
      const again = submission(5);
      await ledger.recordSubmission(again);
      assert.deepEqual(await ledger.pendingSubmissions(from), [again]);
      await assertBadInput(ledger.updateSubmission(randomHex(32), "mined"), /no settlement transaction/);
      await assertBadInput(ledger.updateSubmission(again.hash, "lost" as Submission["status"]), /status must be/);
    });

    it("gives the settlement lock to one owner at a time", async () => {
      fresh();
      const first = await ledger.acquireSettlementLock(operator, "gateway-a", 60_000);
      assert.ok(first);
      assert.equal(await ledger.acquireSettlementLock(operator, "cli-b", 60_000), null);
      const holder = await ledger.settlementLockHolder(operator);
      assert.equal(holder?.owner, "gateway-a");
      assert.ok(Math.abs(holder.heartbeatAt - Date.now()) < 60_000);
      assert.equal(await first.heartbeat(), true);
      const other = await ledger.acquireSettlementLock(randomAddress(), "cli-b", 60_000);
      assert.ok(other, "another operator's lock is independent");
      await other.release();
      await first.release();
      assert.equal(await first.heartbeat(), false);
      assert.equal(await ledger.settlementLockHolder(operator), null);
      const second = await ledger.acquireSettlementLock(operator, "cli-b", 60_000);
      assert.ok(second);
      await second.release();
      await assertBadInput(ledger.acquireSettlementLock(operator, "", 1_000), /owner/);
    });

    it("round-trips amounts, ids and counts far beyond 2^64 exactly", async () => {
      fresh();
      const lane = key(operator, { modelId: 2n ** 256n - 1n, lane: 2 ** 32 - 1 });
      const v = voucher(lane, 0n, 2n ** 255n + 12_345n, { cumulativeCalls: 2n ** 64n - 1n, expiry: 2n ** 64n - 1n });
      assert.equal(await ledger.accept(v), "accepted");
      const next = voucher(lane, v.cumulativeAmount, 2n ** 256n - 1n, { cumulativeCalls: 2n ** 64n - 1n });
      assert.equal(await ledger.accept(next), "accepted");
      await ledger.recordSettled([{ ...lane, settledAmount: 2n ** 255n + 1n, settledCalls: 2n ** 63n + 1n, rejected: null }]);
      const record = await ledger.lane(lane);
      assertHolds(record, next);
      assert.equal(record!.modelId, 2n ** 256n - 1n);
      assert.equal(record!.settledAmount, 2n ** 255n + 1n);
      assert.equal(record!.settledCalls, 2n ** 63n + 1n);
      assert.equal(await ledger.unsettledOf(lane.payer, operator), 2n ** 256n - 1n - (2n ** 255n + 1n));
      const found = await ledger.settlementCandidates({ operator, minUnsettled: 2n ** 255n - 2n, unsettledBefore: 0, payers: [], limit: 1 });
      assert.equal(found.length, 1);
      assert.deepEqual(await ledger.settlementCandidates({ operator, minUnsettled: 2n ** 255n, unsettledBefore: 0, payers: [], limit: 1 }), []);
    });

    it("keeps everything across close and reopen, and refuses use after close", async () => {
      fresh();
      const lane = key(operator, { modelId: 2n ** 100n });
      await ledger.accept(voucher(lane, 0n, 2n ** 80n, { cumulativeCalls: 1n }));
      const auth = { nonce: randomHex(32), from: randomAddress(), to: randomAddress(), value: 1n, modelId: 1n, acceptedAt: 1 };
      await ledger.recordExact(auth);
      const from = randomAddress();
      const s: Submission = { hash: randomHex(32), nonce: 0, raw: randomHex(100), lanes: [{ ...lane, cumulativeAmount: 2n ** 80n }], status: "sent", sentAt: 1, from };
      await ledger.recordSubmission(s);
      const pending = ledger.accept(voucher(lane, 2n ** 80n, 2n ** 81n, { cumulativeCalls: 2n }));
      await ledger.close();
      assert.equal(await pending, "accepted", "close flushes what was queued");
      await assert.rejects(ledger.accept(voucher(key(operator), 0n, 1n)), (e: unknown) => e instanceof LedgerError && e.code === "closed");
      await assert.rejects(ledger.lanes(operator), (e: unknown) => e instanceof LedgerError && e.code === "closed");

      ledger = await fixture.reopen();
      const record = await ledger.lane(lane);
      assert.equal(record!.cumulativeAmount, 2n ** 81n);
      assert.equal(await ledger.recordExact(auth), false);
      assert.deepEqual(await ledger.pendingSubmissions(from), [s]);
    });
  });
}
