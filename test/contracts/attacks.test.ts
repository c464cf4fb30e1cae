// Attacks on the vault and share tokens: replays, forged and malleable signatures, rogue session keys, cross-domain
// vouchers, re-entry through an ERC-1271 wallet, and x402 authorizations reused, expired or redirected.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { encodeFunctionData, parseSignature, serializeSignature, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";
import { deployProtocol, fund, mintModel, signAuthorization, type Protocol, type Voucher } from "../helpers/protocol.ts";
import { impersonate, increaseTime, latestTimestamp, mined, randomBytes32 } from "../helpers/chain.ts";
import { VOUCHER_TYPES, voucherDomain } from "../../sdk/vouchers.ts";

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const REASON = { None: 0, Stale: 1, Expired: 2, BadSignature: 3, SessionExpired: 4, SessionCapExceeded: 5, EmptyEscrow: 6 };

describe("attacks", async () => {
  const connection = await network.create();
  const { viem, networkHelpers } = connection;

  async function fixture() {
    const p = await deployProtocol(viem, { withdrawalDelay: 600n });
    const [alice, mallory, op, bob] = p.others as [W, W, W, W];
    const model = await mintModel(p, viem, { label: "target" });
    const other = await mintModel(p, viem, { label: "other" });
    await fund(p, alice, 100_000n);
    const chainId = await p.publicClient.getChainId();
    return { p, alice, mallory, op, bob, model, other, chainId };
  }
  type W = Protocol["deployer"];
  type Fx = Awaited<ReturnType<typeof fixture>>;

  const voucherFor = (fx: Fx, payer: Address, amount: bigint, modelId = fx.model.modelId): Voucher => ({
    payer,
    operator: fx.op.account.address,
    modelId,
    cumulativeAmount: amount,
    cumulativeCalls: amount / 100n,
    expiry: 0n,
  });
  async function sign(signer: { signTypedData: W["signTypedData"]; account: W["account"] }, v: Voucher, chainId: number, vault: Address) {
    return signer.signTypedData({ account: signer.account, domain: voucherDomain(chainId, vault), types: VOUCHER_TYPES, primaryType: "Voucher", message: v });
  }
  /** Settles one voucher and returns the reason it was rejected, or None when it was charged. */
  async function settleOne(fx: Fx, v: Voucher, signature: Hex): Promise<number> {
    const receipt = await mined(viem, fx.p.vault.write.settle([[{ voucher: v, signature }]], { account: fx.op.account }));
    const rejected = await fx.p.publicClient.getContractEvents({
      address: fx.p.vault.address, abi: fx.p.vault.abi, eventName: "VoucherRejected", fromBlock: receipt.blockNumber, toBlock: receipt.blockNumber,
    });
    return rejected.length === 0 ? REASON.None : Number(rejected[0]!.args.reason);
  }
  async function state(fx: Fx, payer: Address) {
    return {
      escrow: await fx.p.vault.read.escrowOf([payer]),
      tab: await fx.p.vault.read.tabOf([payer, fx.op.account.address, fx.model.modelId]),
      claimable: await fx.model.shares.read.claimable([fx.p.deployer.account.address]),
    };
  }

  it("a replayed voucher is stale and charges nothing", async () => {
    const fx = await networkHelpers.loadFixture(fixture);
    const v = voucherFor(fx, fx.alice.account.address, 1_000n);
    const sig = await sign(fx.alice, v, fx.chainId, fx.p.vault.address);
    assert.equal(await settleOne(fx, v, sig), REASON.None);
    const before = await state(fx, v.payer);
    assert.equal(await settleOne(fx, v, sig), REASON.Stale);
    assert.deepEqual(await state(fx, v.payer), before);
  });

  it("a lower or equal cumulative is stale", async () => {
    const fx = await networkHelpers.loadFixture(fixture);
    const payer = fx.alice.account.address;
    await settleOne(fx, voucherFor(fx, payer, 5_000n), await sign(fx.alice, voucherFor(fx, payer, 5_000n), fx.chainId, fx.p.vault.address));
    const before = await state(fx, payer);
    for (const amount of [5_000n, 4_999n, 1n]) {
      const v = voucherFor(fx, payer, amount);
      assert.equal(await settleOne(fx, v, await sign(fx.alice, v, fx.chainId, fx.p.vault.address)), REASON.Stale);
    }
    assert.deepEqual(await state(fx, payer), before);
  });

  it("forged, wrong-signer and malleable (high-s) signatures are rejected", async () => {
    const fx = await networkHelpers.loadFixture(fixture);
    const v = voucherFor(fx, fx.alice.account.address, 1_000n);
    const good = await sign(fx.alice, v, fx.chainId, fx.p.vault.address);
    const before = await state(fx, v.payer);
    const forged = toHex(new Uint8Array(65).fill(7));
    const wrongSigner = await sign(fx.mallory, v, fx.chainId, fx.p.vault.address);
    const { r, s, yParity } = parseSignature(good);
    const malleable = serializeSignature({ r, s: toHex(SECP256K1_N - BigInt(s), { size: 32 }), yParity: yParity === 0 ? 1 : 0 });
    for (const sig of [forged, wrongSigner, malleable, "0x" as Hex, good.slice(0, 100) as Hex]) {
      assert.equal(await settleOne(fx, v, sig), REASON.BadSignature, sig);
    }
    assert.deepEqual(await state(fx, v.payer), before);
    assert.equal(await settleOne(fx, v, good), REASON.None); // the genuine one still works
  });

  it("vouchers signed for another chain id or another vault are rejected", async () => {
    const fx = await networkHelpers.loadFixture(fixture);
    const v = voucherFor(fx, fx.alice.account.address, 1_000n);
    const otherChain = await sign(fx.alice, v, fx.chainId + 1, fx.p.vault.address);
    const otherVault = await sign(fx.alice, v, fx.chainId, fx.p.registry.address);
    const before = await state(fx, v.payer);
    assert.equal(await settleOne(fx, v, otherChain), REASON.BadSignature);
    assert.equal(await settleOne(fx, v, otherVault), REASON.BadSignature);
    assert.deepEqual(await state(fx, v.payer), before);
  });

  it("a voucher whose fields were changed after signing (amount, model, operator) is rejected", async () => {
    const fx = await networkHelpers.loadFixture(fixture);
    const v = voucherFor(fx, fx.alice.account.address, 1_000n);
    const sig = await sign(fx.alice, v, fx.chainId, fx.p.vault.address);
    for (const tampered of [
      { ...v, cumulativeAmount: 90_000n },
      { ...v, modelId: fx.other.modelId },
      { ...v, operator: fx.mallory.account.address },
      { ...v, cumulativeCalls: 1n },
    ]) {
      assert.equal(await settleOne(fx, tampered, sig), REASON.BadSignature);
    }
  });

  it("a session signer works within its cap and is refused past its cap, after expiry and after revocation", async () => {
    const fx = await networkHelpers.loadFixture(fixture);
    const payer = fx.alice.account.address;
    const session = privateKeyToAccount(generatePrivateKey());
    const expiry = (await latestTimestamp(viem)) + 1_000n;
    await fx.p.vault.write.setSessionSigner([session.address, 3_000n, expiry], { account: fx.alice.account });
    const signAs = (v: Voucher) => session.signTypedData({ domain: voucherDomain(fx.chainId, fx.p.vault.address), types: VOUCHER_TYPES, primaryType: "Voucher", message: v });

    assert.equal(await settleOne(fx, voucherFor(fx, payer, 2_000n), await signAs(voucherFor(fx, payer, 2_000n))), REASON.None);
    assert.deepEqual(await fx.p.vault.read.sessionOf([payer, session.address]), [3_000n, 2_000n, expiry]);
    // 2,000 spent: another 1,500 would pass the 3,000 cap.
    const over = voucherFor(fx, payer, 3_500n);
    const before = await state(fx, payer);
    assert.equal(await settleOne(fx, over, await signAs(over)), REASON.SessionCapExceeded);
    assert.deepEqual(await state(fx, payer), before);
    // The payer's own signature is not bound by the session cap.
    assert.equal(await settleOne(fx, over, await sign(fx.alice, over, fx.chainId, fx.p.vault.address)), REASON.None);

    const next = voucherFor(fx, payer, 4_000n);
    await increaseTime(connection, 1_001n);
    assert.equal(await settleOne(fx, next, await signAs(next)), REASON.SessionExpired);

    await fx.p.vault.write.setSessionSigner([session.address, 10_000n, (await latestTimestamp(viem)) + 1_000n], { account: fx.alice.account });
    await fx.p.vault.write.revokeSessionSigner([session.address], { account: fx.alice.account });
    assert.equal(await settleOne(fx, next, await signAs(next)), REASON.BadSignature);
    // A session key of another payer cannot sign for alice.
    await fx.p.vault.write.setSessionSigner([session.address, 10_000n, (await latestTimestamp(viem)) + 1_000n], { account: fx.mallory.account });
    assert.equal(await settleOne(fx, next, await signAs(next)), REASON.BadSignature);
  });

  it("settlement beyond the escrow charges what is there and never more; a racing withdrawal gets the rest", async () => {
    const fx = await networkHelpers.loadFixture(fixture);
    const payer = fx.alice.account.address;
    await fx.p.vault.write.requestWithdrawal([100_000n], { account: fx.alice.account });
    const v = voucherFor(fx, payer, 60_000n);
    assert.equal(await settleOne(fx, v, await sign(fx.alice, v, fx.chainId, fx.p.vault.address)), REASON.None);
    const big = voucherFor(fx, payer, 500_000n);
    assert.equal(await settleOne(fx, big, await sign(fx.alice, big, fx.chainId, fx.p.vault.address)), REASON.None);
    assert.deepEqual(await fx.p.vault.read.tabOf([payer, fx.op.account.address, fx.model.modelId]), [100_000n, 600n]);
    assert.equal((await fx.p.vault.read.escrowOf([payer]))[0], 0n);
    await increaseTime(connection, 600n);
    await mined(viem, fx.p.vault.write.withdraw({ account: fx.alice.account }));
    assert.equal(await fx.p.usdc.read.balanceOf([payer]), 0n, "nothing left to withdraw: all of it was owed");
  });

  it("a smart-account payer (ERC-1271) pays with its owner's signature; a stranger's signature is refused", async () => {
    const fx = await networkHelpers.loadFixture(fixture);
    const account = await viem.deployContract("SmartAccount", [fx.bob.account.address]);
    await fx.p.usdc.write.mint([fx.p.deployer.account.address, 10_000n]);
    await fx.p.usdc.write.approve([fx.p.vault.address, 10_000n]);
    await fx.p.vault.write.depositFor([account.address, 10_000n]);
    const v = voucherFor(fx, account.address, 4_000n);
    assert.equal(await settleOne(fx, v, await sign(fx.mallory, v, fx.chainId, fx.p.vault.address)), REASON.BadSignature);
    assert.equal(await settleOne(fx, v, await sign(fx.bob, v, fx.chainId, fx.p.vault.address)), REASON.None);
    assert.equal((await fx.p.vault.read.escrowOf([account.address]))[0], 6_000n);
  });

  it("an ERC-1271 wallet that re-enters the vault while its signature is checked changes nothing", async () => {
    const fx = await networkHelpers.loadFixture(fixture);
    const wallet = await viem.deployContract("ReentrantWallet", [fx.p.vault.address]);
    await fx.p.usdc.write.mint([fx.p.deployer.account.address, 10_000n]);
    await fx.p.usdc.write.approve([fx.p.vault.address, 10_000n]);
    await fx.p.vault.write.depositFor([wallet.address, 10_000n]);
    const v = voucherFor(fx, wallet.address, 3_000n);
    const batch = [{ voucher: v, signature: "0x1234" as Hex }];
    // The wallet re-submits the same batch from inside isValidSignature, and alternatively tries to withdraw.
    await wallet.write.arm([encodeFunctionData({ abi: fx.p.vault.abi, functionName: "settle", args: [batch] })]);
    assert.equal(await settleOne(fx, v, "0x1234"), REASON.None);
    assert.equal((await fx.p.vault.read.escrowOf([wallet.address]))[0], 7_000n, "charged exactly once");
    assert.deepEqual(await fx.p.vault.read.tabOf([wallet.address, fx.op.account.address, fx.model.modelId]), [3_000n, 30n]);
    await wallet.write.arm([encodeFunctionData({ abi: fx.p.vault.abi, functionName: "claimFees" })]);
    const v2 = voucherFor(fx, wallet.address, 4_000n);
    assert.equal(await settleOne(fx, v2, "0x1234"), REASON.None);
    assert.equal((await fx.p.vault.read.escrowOf([wallet.address]))[0], 6_000n);
  });

  it("share tokens accept revenue, claims and forwarding only from the vault", async () => {
    const fx = await networkHelpers.loadFixture(fixture);
    const { shares } = fx.model;
    await fx.p.usdc.write.mint([shares.address, 1_000n]);
    for (const call of [
      shares.write.addRevenue([1_000_000n], { account: fx.mallory.account }),
      shares.write.claimFor([fx.mallory.account.address], { account: fx.mallory.account }),
      shares.write.forward([1_000n], { account: fx.mallory.account }),
    ]) {
      await viem.assertions.revertWithCustomError(call, shares, "OnlyVault");
    }
    // Even the registry (which created the clone) cannot credit revenue.
    const registry = await impersonate(connection, fx.p.registry.address);
    await viem.assertions.revertWithCustomError(shares.write.addRevenue([1n], { account: registry.account }), shares, "OnlyVault");
    assert.equal(await shares.read.totalRevenue(), 0n);
  });

  describe("x402 exact authorizations", () => {
    async function auth(fx: Fx, to: Address, value: bigint, validBefore?: bigint) {
      const a = {
        from: fx.bob.account.address,
        to,
        value,
        validAfter: 0n,
        validBefore: validBefore ?? (await latestTimestamp(viem)) + 600n,
        nonce: randomBytes32(),
      };
      return { ...a, signature: await signAuthorization(fx.p, fx.bob, a) };
    }
    const pay = (modelId: bigint, a: Awaited<ReturnType<typeof auth>>) => ({
      modelId, from: a.from, value: a.value, validAfter: a.validAfter, validBefore: a.validBefore, nonce: a.nonce, signature: a.signature,
    });

    it("an authorization cannot be used twice", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      await fx.p.usdc.write.mint([fx.bob.account.address, 10_000n]);
      const a = await auth(fx, fx.model.shares.address, 1_000n);
      await mined(viem, fx.p.vault.write.payExact([pay(fx.model.modelId, a)], { account: fx.op.account }));
      await viem.assertions.revertWithCustomErrorWithArgs(
        fx.p.vault.write.payExact([pay(fx.model.modelId, a)], { account: fx.op.account }),
        fx.p.usdc,
        "AuthorizationAlreadyUsed",
        [fx.bob.account.address, a.nonce],
      );
      assert.equal(await fx.p.usdc.read.balanceOf([fx.bob.account.address]), 9_000n);
    });

    it("an expired authorization is refused", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      await fx.p.usdc.write.mint([fx.bob.account.address, 10_000n]);
      const a = await auth(fx, fx.model.shares.address, 1_000n, (await latestTimestamp(viem)) + 5n);
      await increaseTime(connection, 10n);
      await viem.assertions.revertWithCustomError(
        fx.p.vault.write.payExact([pay(fx.model.modelId, a)], { account: fx.op.account }),
        fx.p.usdc,
        "AuthorizationExpired",
      );
      assert.equal(await fx.p.usdc.read.balanceOf([fx.bob.account.address]), 10_000n);
    });

    it("an authorization made out to one model cannot be credited to another", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      await fx.p.usdc.write.mint([fx.bob.account.address, 10_000n]);
      const a = await auth(fx, fx.model.shares.address, 1_000n);
      await viem.assertions.revertWithCustomError(
        fx.p.vault.write.payExact([pay(fx.other.modelId, a)], { account: fx.op.account }),
        fx.p.usdc,
        "InvalidSignature",
      );
      assert.equal(await fx.p.usdc.read.balanceOf([fx.bob.account.address]), 10_000n);
      assert.equal(await fx.other.shares.read.totalRevenue(), 0n);
      // Submitted straight to the token, it still lands on the right model, and sweep credits it there.
      await fx.p.usdc.write.transferWithAuthorization([a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, a.signature]);
      await fx.p.vault.write.sweep([fx.model.modelId]);
      assert.equal(await fx.model.shares.read.totalRevenue() > 0n, true);
    });
  });

  it("claims are pull payments: one holder claiming leaves every other holder's royalties untouched", async () => {
    const fx = await networkHelpers.loadFixture(fixture);
    const shares = fx.model.shares;
    await shares.write.transfer([fx.bob.account.address, (await shares.read.totalSupply()) / 4n]);
    const v = voucherFor(fx, fx.alice.account.address, 10_000n);
    await settleOne(fx, v, await sign(fx.alice, v, fx.chainId, fx.p.vault.address));
    const bobBefore = await shares.read.claimable([fx.bob.account.address]);
    assert.ok(bobBefore > 0n);
    await fx.p.vault.write.claim([[fx.model.modelId]]);
    assert.equal(await shares.read.claimable([fx.bob.account.address]), bobBefore);
    await viem.assertions.revertWithCustomError(fx.p.vault.write.claim([[fx.model.modelId]], { account: fx.mallory.account }), fx.p.vault, "NothingToClaim");
  });
});
