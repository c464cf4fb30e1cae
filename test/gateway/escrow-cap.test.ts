// The gateway side of the ledger's per-payer cap, without a chain: two VoucherPayments, each with its own in-memory
// lanes (two replicas), on one SQLite ledger file. Each alone would take every call its own view covers; the ledger
// refuses the commit that would take the payer past its escrow (402 insufficient_escrow), or past the credit limit
// while the chain is stale (credit_limit_reached), charging nothing and leaving the lane where it was. The replica
// that was refused learns the other's lanes, so it refuses the payer's next call before running it.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Address } from "viem";
import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";
import { PaymentError } from "../../gateway/http/errors.ts";
import { SqliteLedger } from "../../gateway/ledger/sqlite.ts";
import { LaneBook } from "../../gateway/payments/lanes.ts";
import type { Escrow, PayerBook } from "../../gateway/payments/payers.ts";
import { VoucherPayments } from "../../gateway/payments/voucher-payments.ts";
import { signVoucher } from "../../sdk/vouchers.ts";
import { voucherToJson } from "../../sdk/x402/voucher-scheme.ts";

const PRICE = 1_000n;
const CHAIN_ID = 31337;
const VAULT = "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" as Address;
const OPERATOR = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65" as Address;
const MODEL = 1n;

describe("two gateways sharing one ledger, paid from one escrow", () => {
  let dir: string;
  let ledger: SqliteLedger;
  const escrows = new Map<string, Escrow>();
  let fresh = true;
  // Only what a payer-signed voucher needs: the cached escrow.
  const payers = { escrow: (payer: Address) => escrows.get(payer.toLowerCase()) } as unknown as PayerBook;
  const replica = () =>
    new VoucherPayments({
      chainId: CHAIN_ID,
      network: `eip155:${CHAIN_ID}`,
      vault: VAULT,
      operator: OPERATOR,
      maxLanes: 64,
      minLifetimeSeconds: 60,
      creditLimit: 3n * PRICE,
      chainIsFresh: () => fresh,
      lanes: new LaneBook(),
      payers,
      ledger,
    });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "modelshare-cap-"));
    ledger = new SqliteLedger(path.join(dir, "ledger.sqlite"));
  });
  after(async () => {
    await ledger.close();
    await rm(dir, { recursive: true, force: true });
  });

  function payer(balance: bigint) {
    const account = privateKeyToAccount(generatePrivateKey());
    escrows.set(account.address.toLowerCase(), { balance, pendingWithdrawal: 0n, unlockAt: 0n });
    /** The first call on `lane`, checked by `gateway` (throws as check() does). */
    const call = async (gateway: VoucherPayments, lane: number) => {
      const voucher = { payer: account.address, operator: OPERATOR, modelId: MODEL, lane, cumulativeAmount: PRICE, cumulativeCalls: 1n, expiry: 0n };
      const { signature } = await signVoucher(account, voucher, CHAIN_ID, VAULT);
      return gateway.check({ voucher: voucherToJson(voucher), signature }, { modelId: MODEL, price: PRICE, inputSha256: `0x${"ab".repeat(32)}` });
    };
    return { address: account.address, call };
  }

  const refused = (code: string) => (error: unknown) => error instanceof PaymentError && error.status === 402 && error.code === code;

  it("refuses the commit past the escrow, then refuses the payer's next call before it runs", async () => {
    const [a, b] = [replica(), replica()];
    const p = payer(5n * PRICE);
    for (const lane of [0, 1, 2]) await (await p.call(a, lane)).commit();
    for (const lane of [10, 11]) await (await p.call(b, lane)).commit();

    // b knows only its own two calls: the check passes, the ledger refuses the commit.
    const held = await p.call(b, 12);
    await assert.rejects(held.commit(), refused("insufficient_escrow"));
    assert.deepEqual(held.release(), { charged: false, lane: 12, nextCumulativeAmount: PRICE.toString() });
    assert.equal(await ledger.lane({ payer: p.address, operator: OPERATOR, modelId: MODEL, lane: 12 }), undefined, "nothing written");
    assert.equal(await ledger.unsettledOf(p.address, OPERATOR), 5n * PRICE);
    // Now b knows what a took: refused at the check, before any model would run.
    await assert.rejects(p.call(b, 13), refused("insufficient_escrow"));
    // a never heard of b's calls either.
    await assert.rejects((await p.call(a, 3)).commit(), refused("insufficient_escrow"));

    // A deposit makes room: the very voucher that was refused pays now, unchanged.
    escrows.get(p.address.toLowerCase())!.balance = 6n * PRICE;
    const paid = await p.call(b, 12);
    await paid.commit();
    assert.equal(paid.receipt.cumulativeAmount, PRICE);
    assert.equal(await ledger.unsettledOf(p.address, OPERATOR), 6n * PRICE);
  });

  it("refuses with credit_limit_reached when, the chain stale, the credit limit is what the replicas together pass", async () => {
    const [a, b] = [replica(), replica()];
    const p = payer(100n * PRICE);
    fresh = false;
    try {
      for (const lane of [0, 1]) await (await p.call(a, lane)).commit();
      await (await p.call(b, 10)).commit();
      await assert.rejects((await p.call(b, 11)).commit(), refused("credit_limit_reached"));
      assert.equal(await ledger.unsettledOf(p.address, OPERATOR), 3n * PRICE);
    } finally {
      fresh = true;
    }
    // With the chain back, the escrow is the limit again.
    await (await p.call(b, 11)).commit();
  });
});
