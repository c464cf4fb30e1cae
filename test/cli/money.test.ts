// deposit / withdraw / claim / balance, run as subprocesses against a hardhat node. The model is minted directly
// (fake CIDs) and revenue comes from a voucher signed with sdk/vouchers.ts and settled through the vault.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { privateKeyToAccount } from "viem/accounts";
import { testStablecoinAbi, vaultAbi } from "../../sdk/contracts.ts";
import { signVoucher } from "../../sdk/vouchers.ts";
import { address, errorLine, ENVIRONMENT, KEYS, REJECTED, startHarness, type Harness } from "./harness.ts";

const creator = KEYS[1];
const payer = KEYS[2];
const operator = KEYS[3];
const holder = KEYS[4];

describe("modelshare deposit / withdraw / claim / balance", () => {
  let h: Harness;
  let modelId: bigint;

  before(async () => {
    h = await startHarness();
    modelId = await h.mintDirect(creator, {
      holders: [
        { address: address(creator), amount: 600n * 10n ** 18n },
        { address: address(holder), amount: 400n * 10n ** 18n },
      ],
    });
    const stablecoin = h.deployment.stablecoin.address;
    const fundHash = await h.wallet(payer).writeContract({
      address: stablecoin,
      abi: testStablecoinAbi,
      functionName: "mint",
      args: [address(payer), 20_000_000n],
      chain: undefined,
      account: privateKeyToAccount(payer),
    });
    await h.publicClient.waitForTransactionReceipt({ hash: fundHash });
  });

  after(async () => h?.stop());

  it("deposits with a permit in one transaction", async () => {
    const r = await h.cli(["deposit", "10", "--json"], { key: payer });
    assert.equal(r.code, 0, r.stderr);
    const out = r.json<{ escrow: string; method: string; transactions: unknown[] }>();
    assert.equal(out.escrow, "10");
    assert.equal(out.method, "depositWithPermit");
    assert.equal(out.transactions.length, 1);
  });

  it("deposits base units with --raw", async () => {
    const r = await h.cli(["deposit", "1000000", "--raw", "--json"], { key: payer });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json<{ escrow: string }>().escrow, "11000000");
  });

  it("refuses to deposit more than the wallet holds, sending nothing", async () => {
    const before = await h.nonce(address(payer));
    const r = await h.cli(["deposit", "1000"], { key: payer });
    assert.equal(r.code, ENVIRONMENT);
    assert.match(errorLine(r), /holds 9 USDC; cannot deposit 1000$/);
    assert.equal(await h.nonce(address(payer)), before);
  });

  it("rejects an amount with more decimals than the stablecoin", async () => {
    const before = await h.nonce(address(payer));
    const r = await h.cli(["deposit", "0.0000001"], { key: payer });
    assert.equal(r.code, 2);
    assert.match(errorLine(r), /has 7 decimals; the stablecoin has only 6/);
    assert.equal(await h.nonce(address(payer)), before);
  });

  it("requests a withdrawal, refuses to execute it early, executes it after the delay", async () => {
    const request = await h.cli(["withdraw", "request", "3", "--json"], { key: payer });
    assert.equal(request.code, 0, request.stderr);
    const requested = request.json<{ pendingWithdrawal: string; unlockAt: number; unlocked: boolean }>();
    assert.equal(requested.pendingWithdrawal, "3");
    assert.equal(requested.unlocked, false);

    const status = await h.cli(["withdraw"], { key: payer });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /withdrawal of 3 unlocks .*\(in (59m \d+s|1h)\)/);

    const before = await h.nonce(address(payer));
    const early = await h.cli(["withdraw", "execute"], { key: payer });
    assert.equal(early.code, REJECTED);
    assert.match(errorLine(early), /the withdrawal is locked until \d{4}-.*\(in /);
    assert.equal(await h.nonce(address(payer)), before);

    await h.rpc("evm_increaseTime", [3_601]);
    await h.rpc("evm_mine");
    const done = await h.cli(["withdraw", "execute", "--json"], { key: payer });
    assert.equal(done.code, 0, done.stderr);
    const withdrawn = done.json<{ withdrawn: string; escrow: string; pendingWithdrawal: string }>();
    assert.equal(withdrawn.withdrawn, "3");
    assert.equal(withdrawn.escrow, "8");
    assert.equal(withdrawn.pendingWithdrawal, "0");
  });

  it("cancels a request, and refuses to withdraw more than the escrow or to cancel nothing", async () => {
    assert.equal((await h.cli(["withdraw", "request", "1"], { key: payer })).code, 0);
    const cancel = await h.cli(["withdraw", "cancel", "--json"], { key: payer });
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.equal(cancel.json<{ cancelled: string }>().cancelled, "1");

    const before = await h.nonce(address(payer));
    const tooMuch = await h.cli(["withdraw", "request", "100"], { key: payer });
    assert.equal(tooMuch.code, REJECTED);
    assert.match(errorLine(tooMuch), /escrow holds 8; cannot withdraw 100/);
    const nothing = await h.cli(["withdraw", "cancel"], { key: payer });
    assert.equal(nothing.code, REJECTED);
    assert.match(errorLine(nothing), /no withdrawal request to cancel/);
    assert.equal(await h.nonce(address(payer)), before);
  });

  it("claims royalties after a settled voucher, by default from every model held", async () => {
    const { vault } = h.deployment.contracts;
    const voucher = { payer: address(payer), operator: address(operator), modelId, lane: 0, cumulativeAmount: 1_000_000n, cumulativeCalls: 500n, expiry: 0n };
    const signed = await signVoucher(privateKeyToAccount(payer), voucher, 31337, vault);
    const hash = await h.wallet(operator).writeContract({
      address: vault,
      abi: vaultAbi,
      functionName: "settle",
      args: [[signed]],
      chain: undefined,
      account: privateKeyToAccount(operator),
    });
    await h.publicClient.waitForTransactionReceipt({ hash });

    // 1 USDC: 1% protocol, 5% operator, 94% to holders split 60/40.
    const balance = await h.cli(["balance", "--json"], { key: creator });
    assert.equal(balance.code, 0, balance.stderr);
    const b = balance.json<{ claimable: string; models: { modelId: string; shares: string; claimable: string }[] }>();
    assert.equal(b.claimable, "0.564");
    assert.deepEqual(b.models.map((m) => [m.modelId, m.shares, m.claimable]), [[modelId.toString(), "600", "0.564"]]);

    const claim = await h.cli(["claim", "--json"], { key: creator });
    assert.equal(claim.code, 0, claim.stderr);
    const c = claim.json<{ claimed: string; txHash: string; gasUsed: string }>();
    assert.equal(c.claimed, "0.564");
    assert.match(c.txHash, /^0x[0-9a-f]{64}$/);
    const held = await h.publicClient.readContract({
      address: h.deployment.stablecoin.address,
      abi: testStablecoinAbi,
      functionName: "balanceOf",
      args: [address(creator)],
    });
    assert.equal(held, 564_000n);

    // Nothing left: no transaction, exit 0.
    const before = await h.nonce(address(creator));
    const again = await h.cli(["claim"], { key: creator });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /nothing to claim/);
    assert.equal(await h.nonce(address(creator)), before);

    // Explicit ids, and operator fees.
    const holderClaim = await h.cli(["claim", modelId.toString(), "--json"], { key: holder });
    assert.equal(holderClaim.json<{ claimed: string }>().claimed, "0.376");
    const fees = await h.cli(["claim", "--fees", "--json"], { key: operator });
    assert.equal(fees.code, 0, fees.stderr);
    assert.equal(fees.json<{ fees: string }>().fees, "0.05");
  });

  it("shows the payer's balance: wallet, escrow, pending withdrawal", async () => {
    assert.equal((await h.cli(["withdraw", "request", "2"], { key: payer })).code, 0);
    const r = await h.cli(["balance", "--json"], { key: payer });
    assert.equal(r.code, 0, r.stderr);
    const b = r.json<{ stablecoin: string; escrow: string; pendingWithdrawal: string; unlockAt: number | null; symbol: string }>();
    assert.equal(b.symbol, "USDC");
    assert.equal(b.stablecoin, "12");
    assert.equal(b.escrow, "7");
    assert.equal(b.pendingWithdrawal, "2");
    assert.ok(b.unlockAt && b.unlockAt > 0);
    const human = await h.cli(["balance", "--address", address(payer)], { key: null });
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /escrow\s+7\n/);
    assert.match(human.stdout, /pending withdrawal\s+2, unlocks /);
  });
});
