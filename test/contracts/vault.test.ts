// Vault: every external function, its happy path and every revert.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { encodeAbiParameters, getAddress, keccak256, parseSignature, zeroAddress, type Address } from "viem";
import { deployProtocol, fund, mintModel, signAuthorization, signVoucher, type Protocol, type Voucher } from "../helpers/protocol.ts";
import { increaseTime, latestTimestamp, mined, randomBytes32 } from "../helpers/chain.ts";
import { hashVoucher } from "../../sdk/vouchers.ts";
import { PERMIT_TYPES } from "../../sdk/typed-data.ts";

const BPS = 10_000n;
const PROTOCOL_BPS = 100n;
const DELAY = 3_600n;
const ROOT_FEE = 500n;
const CHILD_FEE = 300n;
const CHILD_PARENT_BPS = 1_000n;

/** The documented split, computed independently: each part on the gross, rounded down; holders get the rest. */
function split(gross: bigint, operatorBps: bigint, ancestorBps: bigint[] = [], withOperator = true) {
  const protocol = (gross * PROTOCOL_BPS) / BPS;
  const operator = withOperator ? (gross * operatorBps) / BPS : 0n;
  const royalties = ancestorBps.map((b) => (gross * b) / BPS);
  const upstream = royalties.reduce((a, b) => a + b, 0n);
  return { protocol, operator, royalties, upstream, holders: gross - protocol - operator - upstream };
}

describe("Vault", async () => {
  const connection = await network.create();
  const { viem, networkHelpers } = connection;

  async function fixture() {
    const p = await deployProtocol(viem, { protocolFeeBps: Number(PROTOCOL_BPS), withdrawalDelay: DELAY });
    const [alice, bob, op1, op2, stranger] = p.others as [W, W, W, W, W];
    const root = await mintModel(p, viem, { label: "root", operatorFeeBps: Number(ROOT_FEE) });
    const child = await mintModel(p, viem, {
      label: "child",
      operatorFeeBps: Number(CHILD_FEE),
      parents: [{ id: root.modelId, bps: Number(CHILD_PARENT_BPS) }],
    });
    await fund(p, alice, 1_000_000n);
    await fund(p, bob, 1_000_000n);
    return { p, alice, bob, op1, op2, stranger, root, child };
  }
  type W = Protocol["deployer"];
  type Fx = Awaited<ReturnType<typeof fixture>>;

  function voucher(payer: W, operator: W, modelId: bigint, cumulativeAmount: bigint, cumulativeCalls = 1n, expiry = 0n): Voucher {
    return { payer: payer.account.address, operator: operator.account.address, modelId, cumulativeAmount, cumulativeCalls, expiry };
  }
  async function signed(p: Protocol, signer: W, v: Voucher) {
    return { voucher: v, signature: await signVoucher(p, signer, v) };
  }
  const holder = (fx: Fx) => fx.p.deployer.account.address;

  describe("deposits", () => {
    it("deposit credits the payer's escrow and moves the tokens", async () => {
      const { p, alice } = await networkHelpers.loadFixture(fixture);
      await p.usdc.write.mint([alice.account.address, 500n]);
      await p.usdc.write.approve([p.vault.address, 500n], { account: alice.account });
      await viem.assertions.emitWithArgs(p.vault.write.deposit([500n], { account: alice.account }), p.vault, "Deposited", [
        alice.account.address,
        alice.account.address,
        500n,
      ]);
      assert.equal((await p.vault.read.escrowOf([alice.account.address]))[0], 1_000_500n);
      assert.equal(await p.usdc.read.balanceOf([p.vault.address]), 2_000_500n);
    });

    it("depositFor credits another payer, paid by the caller", async () => {
      const { p, alice, stranger } = await networkHelpers.loadFixture(fixture);
      await p.usdc.write.mint([stranger.account.address, 70n]);
      await p.usdc.write.approve([p.vault.address, 70n], { account: stranger.account });
      await viem.assertions.emitWithArgs(
        p.vault.write.depositFor([alice.account.address, 70n], { account: stranger.account }),
        p.vault,
        "Deposited",
        [alice.account.address, stranger.account.address, 70n],
      );
      assert.equal((await p.vault.read.escrowOf([alice.account.address]))[0], 1_000_070n);
      assert.equal((await p.vault.read.escrowOf([stranger.account.address]))[0], 0n);
    });

    it("rejects a zero amount, the zero payer, and deposits while paused", async () => {
      const { p, alice } = await networkHelpers.loadFixture(fixture);
      await viem.assertions.revertWithCustomError(p.vault.write.deposit([0n], { account: alice.account }), p.vault, "ZeroAmount");
      await viem.assertions.revertWithCustomError(p.vault.write.depositFor([zeroAddress, 1n]), p.vault, "ZeroAddress");
      await p.vault.write.pause();
      await viem.assertions.revertWithCustomError(p.vault.write.deposit([1n], { account: alice.account }), p.vault, "EnforcedPause");
    });

    it("depositWithPermit: a valid permit deposits; a bad permit still deposits when allowance exists; none at all fails", async () => {
      const { p, stranger } = await networkHelpers.loadFixture(fixture);
      const owner = stranger.account.address;
      await p.usdc.write.mint([owner, 1_000n]);
      const chainId = await p.publicClient.getChainId();
      const deadline = (await latestTimestamp(viem)) + 600n;
      const signature = await stranger.signTypedData({
        account: stranger.account,
        domain: { name: "USD Coin", version: "2", chainId, verifyingContract: p.usdc.address },
        types: PERMIT_TYPES,
        primaryType: "Permit",
        message: { owner, spender: p.vault.address, value: 400n, nonce: 0n, deadline },
      });
      const { v, r, s } = parseSignature(signature);
      await mined(viem, p.vault.write.depositWithPermit([400n, deadline, Number(v), r, s], { account: stranger.account }));
      assert.equal((await p.vault.read.escrowOf([owner]))[0], 400n);
      // A replayed (now invalid) permit is ignored when the allowance is there, e.g. after a front-run permit.
      await p.usdc.write.approve([p.vault.address, 100n], { account: stranger.account });
      await mined(viem, p.vault.write.depositWithPermit([100n, deadline, Number(v), r, s], { account: stranger.account }));
      assert.equal((await p.vault.read.escrowOf([owner]))[0], 500n);
      await viem.assertions.revertWithCustomError(
        p.vault.write.depositWithPermit([100n, deadline, Number(v), r, s], { account: stranger.account }),
        p.usdc,
        "ERC20InsufficientAllowance",
      );
    });
  });

  describe("withdrawals", () => {
    it("request, wait for the delay, withdraw", async () => {
      const { p, alice } = await networkHelpers.loadFixture(fixture);
      const tx = p.vault.write.requestWithdrawal([300n], { account: alice.account });
      const hash = await tx;
      const unlockAt = (await latestTimestamp(viem)) + DELAY;
      await viem.assertions.emitWithArgs(Promise.resolve(hash), p.vault, "WithdrawalRequested", [alice.account.address, 300n, unlockAt]);
      assert.deepEqual(await p.vault.read.escrowOf([alice.account.address]), [1_000_000n, 300n, unlockAt]);
      await viem.assertions.revertWithCustomErrorWithArgs(p.vault.write.withdraw({ account: alice.account }), p.vault, "WithdrawalLocked", [unlockAt]);
      await increaseTime(connection, DELAY);
      await viem.assertions.emitWithArgs(p.vault.write.withdraw({ account: alice.account }), p.vault, "Withdrawn", [
        alice.account.address,
        300n,
      ]);
      assert.equal(await p.usdc.read.balanceOf([alice.account.address]), 300n);
      assert.deepEqual(await p.vault.read.escrowOf([alice.account.address]), [999_700n, 0n, 0n]);
      await viem.assertions.revertWithCustomError(p.vault.write.withdraw({ account: alice.account }), p.vault, "NoPendingWithdrawal");
    });

    it("rejects a zero or uncovered request; a new request replaces the old one and restarts the delay", async () => {
      const { p, alice } = await networkHelpers.loadFixture(fixture);
      await viem.assertions.revertWithCustomError(p.vault.write.requestWithdrawal([0n], { account: alice.account }), p.vault, "ZeroAmount");
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.vault.write.requestWithdrawal([1_000_001n], { account: alice.account }),
        p.vault,
        "InsufficientEscrow",
        [1_000_000n, 1_000_001n],
      );
      await p.vault.write.requestWithdrawal([10n], { account: alice.account });
      await increaseTime(connection, DELAY);
      await p.vault.write.requestWithdrawal([20n], { account: alice.account });
      const [, pending, unlockAt] = await p.vault.read.escrowOf([alice.account.address]);
      assert.equal(pending, 20n);
      assert.equal(unlockAt, (await latestTimestamp(viem)) + DELAY);
      await viem.assertions.revertWithCustomError(p.vault.write.withdraw({ account: alice.account }), p.vault, "WithdrawalLocked");
    });

    it("cancelWithdrawal clears the request; without one it reverts", async () => {
      const { p, alice } = await networkHelpers.loadFixture(fixture);
      await viem.assertions.revertWithCustomError(p.vault.write.cancelWithdrawal({ account: alice.account }), p.vault, "NoPendingWithdrawal");
      await p.vault.write.requestWithdrawal([10n], { account: alice.account });
      await viem.assertions.emitWithArgs(p.vault.write.cancelWithdrawal({ account: alice.account }), p.vault, "WithdrawalCancelled", [
        alice.account.address,
      ]);
      assert.deepEqual(await p.vault.read.escrowOf([alice.account.address]), [1_000_000n, 0n, 0n]);
    });

    it("settlement during the delay reduces what withdraw pays; withdraw works while paused", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, alice, op1, root } = fx;
      await p.vault.write.requestWithdrawal([1_000_000n], { account: alice.account });
      await p.vault.write.settle([[await signed(p, alice, voucher(alice, op1, root.modelId, 250_000n))]]);
      await p.vault.write.pause();
      await increaseTime(connection, DELAY);
      await viem.assertions.emitWithArgs(p.vault.write.withdraw({ account: alice.account }), p.vault, "Withdrawn", [
        alice.account.address,
        750_000n,
      ]);
      assert.equal(await p.usdc.read.balanceOf([alice.account.address]), 750_000n);
      assert.deepEqual(await p.vault.read.escrowOf([alice.account.address]), [0n, 0n, 0n]);
    });
  });

  describe("session signers", () => {
    it("set and revoke, with events and the view", async () => {
      const { p, alice, stranger } = await networkHelpers.loadFixture(fixture);
      const expiry = (await latestTimestamp(viem)) + 1_000n;
      await viem.assertions.emitWithArgs(
        p.vault.write.setSessionSigner([stranger.account.address, 5_000n, expiry], { account: alice.account }),
        p.vault,
        "SessionSignerSet",
        [alice.account.address, stranger.account.address, 5_000n, expiry],
      );
      assert.deepEqual(await p.vault.read.sessionOf([alice.account.address, stranger.account.address]), [5_000n, 0n, expiry]);
      await viem.assertions.emitWithArgs(
        p.vault.write.revokeSessionSigner([stranger.account.address], { account: alice.account }),
        p.vault,
        "SessionSignerRevoked",
        [alice.account.address, stranger.account.address],
      );
      assert.deepEqual(await p.vault.read.sessionOf([alice.account.address, stranger.account.address]), [0n, 0n, 0n]);
    });

    it("rejects the zero signer, the payer itself, a zero cap, a past expiry, and revoking an unknown signer", async () => {
      const { p, alice, stranger } = await networkHelpers.loadFixture(fixture);
      const later = (await latestTimestamp(viem)) + 1_000n;
      const now = await latestTimestamp(viem);
      for (const args of [
        [zeroAddress, 1n, later],
        [alice.account.address, 1n, later],
        [stranger.account.address, 0n, later],
        [stranger.account.address, 1n, now],
      ] as const) {
        await viem.assertions.revertWithCustomError(p.vault.write.setSessionSigner([...args], { account: alice.account }), p.vault, "InvalidSession");
      }
      await viem.assertions.revertWithCustomError(
        p.vault.write.revokeSessionSigner([stranger.account.address], { account: alice.account }),
        p.vault,
        "InvalidSession",
      );
    });
  });

  describe("settle", () => {
    it("splits a payment: protocol fee, operator fee, upstream royalty, holders", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, alice, op1, root, child } = fx;
      const gross = 123_457n;
      const s = split(gross, CHILD_FEE, [CHILD_PARENT_BPS]);
      const v = voucher(alice, op1, child.modelId, gross, 7n);
      const hash = await p.vault.write.settle([[await signed(p, alice, v)]]);
      const key = await p.vault.read.tabKey([alice.account.address, op1.account.address, child.modelId]);
      await viem.assertions.emitWithArgs(Promise.resolve(hash), p.vault, "VoucherSettled", [
        key, alice.account.address, child.modelId, op1.account.address, gross, 7n, gross, 0n,
      ]);
      await viem.assertions.emitWithArgs(Promise.resolve(hash), p.vault, "RevenueSplit", [
        child.modelId, op1.account.address, gross, s.protocol, s.operator, s.upstream, s.holders,
      ]);
      await viem.assertions.emitWithArgs(Promise.resolve(hash), p.vault, "RoyaltyPaid", [child.modelId, root.modelId, s.royalties[0]!]);
      assert.equal(await p.vault.read.feesOf([fx.p.treasury.account.address]), s.protocol);
      assert.equal(await p.vault.read.feesOf([op1.account.address]), s.operator);
      assert.equal(await child.shares.read.claimable([holder(fx)]), s.holders);
      assert.equal(await root.shares.read.claimable([holder(fx)]), s.royalties[0]);
      assert.deepEqual(await p.vault.read.escrowOf([alice.account.address]), [1_000_000n - gross, 0n, 0n]);
      assert.deepEqual(await p.vault.read.tabOf([alice.account.address, op1.account.address, child.modelId]), [gross, 7n]);
    });

    it("is idempotent and order-independent: re-settling or settling an older voucher changes nothing", async () => {
      const { p, alice, op1, root } = await networkHelpers.loadFixture(fixture);
      const older = await signed(p, alice, voucher(alice, op1, root.modelId, 4_000n, 2n));
      const newer = await signed(p, alice, voucher(alice, op1, root.modelId, 10_000n, 5n));
      await p.vault.write.settle([[newer]]);
      const escrow = await p.vault.read.escrowOf([alice.account.address]);
      const key = await p.vault.read.tabKey([alice.account.address, op1.account.address, root.modelId]);
      for (const again of [newer, older]) {
        await viem.assertions.emitWithArgs(p.vault.write.settle([[again]]), p.vault, "VoucherRejected", [
          key, alice.account.address, root.modelId, 1, // RejectReason.Stale
        ]);
      }
      assert.deepEqual(await p.vault.read.escrowOf([alice.account.address]), escrow);
      assert.deepEqual(await p.vault.read.tabOf([alice.account.address, op1.account.address, root.modelId]), [10_000n, 5n]);
    });

    it("splits once per run of consecutive vouchers with the same model and operator", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, alice, bob, op1, op2, root } = fx;
      const batch = [
        await signed(p, alice, voucher(alice, op1, root.modelId, 3_333n)),
        await signed(p, bob, voucher(bob, op1, root.modelId, 3_333n)),
        await signed(p, bob, voucher(bob, op2, root.modelId, 7_777n)),
      ];
      const receipt = await mined(viem, p.vault.write.settle([batch]));
      const splits = await p.publicClient.getContractEvents({
        address: p.vault.address,
        abi: p.vault.abi,
        eventName: "RevenueSplit",
        fromBlock: receipt.blockNumber,
        toBlock: receipt.blockNumber,
      });
      assert.deepEqual(splits.map((e) => [getAddress(e.args.operator!), e.args.gross]), [
        [getAddress(op1.account.address), 6_666n],
        [getAddress(op2.account.address), 7_777n],
      ]);
      const a = split(6_666n, ROOT_FEE);
      const b = split(7_777n, ROOT_FEE);
      assert.equal(await p.vault.read.feesOf([fx.p.treasury.account.address]), a.protocol + b.protocol);
      assert.equal(await p.vault.read.feesOf([op1.account.address]), a.operator);
      assert.equal(await p.vault.read.feesOf([op2.account.address]), b.operator);
      assert.equal(await root.shares.read.claimable([holder(fx)]), a.holders + b.holders);
    });

    it("charges what the escrow covers, reports the shortfall, and settles the rest after a new deposit", async () => {
      const { p, alice, op1, root } = await networkHelpers.loadFixture(fixture);
      const v = await signed(p, alice, voucher(alice, op1, root.modelId, 1_500_000n, 30n));
      const key = await p.vault.read.tabKey([alice.account.address, op1.account.address, root.modelId]);
      await viem.assertions.emitWithArgs(p.vault.write.settle([[v]]), p.vault, "VoucherSettled", [
        key, alice.account.address, root.modelId, op1.account.address, 1_000_000n, 0n, 1_000_000n, 500_000n,
      ]);
      assert.deepEqual(await p.vault.read.tabOf([alice.account.address, op1.account.address, root.modelId]), [1_000_000n, 0n]);
      await viem.assertions.emitWithArgs(p.vault.write.settle([[v]]), p.vault, "VoucherRejected", [
        key, alice.account.address, root.modelId, 6, // RejectReason.EmptyEscrow
      ]);
      await fund(p, alice, 600_000n);
      await p.vault.write.settle([[v]]);
      assert.deepEqual(await p.vault.read.tabOf([alice.account.address, op1.account.address, root.modelId]), [1_500_000n, 30n]);
      assert.equal((await p.vault.read.escrowOf([alice.account.address]))[0], 100_000n);
    });

    it("skips an expired voucher; reverts on an empty batch and while paused", async () => {
      const { p, alice, op1, root } = await networkHelpers.loadFixture(fixture);
      const expiry = (await latestTimestamp(viem)) + 10n;
      const v = await signed(p, alice, voucher(alice, op1, root.modelId, 1_000n, 1n, expiry));
      await increaseTime(connection, 11n);
      const key = await p.vault.read.tabKey([alice.account.address, op1.account.address, root.modelId]);
      await viem.assertions.emitWithArgs(p.vault.write.settle([[v]]), p.vault, "VoucherRejected", [
        key, alice.account.address, root.modelId, 2, // RejectReason.Expired
      ]);
      assert.equal((await p.vault.read.escrowOf([alice.account.address]))[0], 1_000_000n);
      await viem.assertions.revertWithCustomError(p.vault.write.settle([[]]), p.vault, "EmptyBatch");
      await p.vault.write.pause();
      await viem.assertions.revertWithCustomError(p.vault.write.settle([[v]]), p.vault, "EnforcedPause");
    });

    it("voucherDigest and tabKey match the SDK's EIP-712 hash and the documented key", async () => {
      const { p, alice, op1, root } = await networkHelpers.loadFixture(fixture);
      const v = voucher(alice, op1, root.modelId, 99n, 3n, 12345n);
      const chainId = await p.publicClient.getChainId();
      assert.equal(await p.vault.read.voucherDigest([v]), hashVoucher(v, chainId, p.vault.address));
      assert.equal(
        await p.vault.read.tabKey([v.payer, v.operator, v.modelId]),
        keccak256(encodeAbiParameters([{ type: "address" }, { type: "address" }, { type: "uint256" }], [v.payer, v.operator, v.modelId])),
      );
    });
  });

  describe("x402 exact payments", () => {
    async function authorization(fx: Fx, payer: W, to: Address, value: bigint, validBefore?: bigint) {
      const auth = {
        from: payer.account.address,
        to,
        value,
        validAfter: 0n,
        validBefore: validBefore ?? (await latestTimestamp(viem)) + 600n,
        nonce: randomBytes32(),
      };
      return { auth, signature: await signAuthorization(fx.p, payer, auth) };
    }
    function payment(modelId: bigint, a: Awaited<ReturnType<typeof authorization>>) {
      const { auth, signature } = a;
      return { modelId, from: auth.from, value: auth.value, validAfter: auth.validAfter, validBefore: auth.validBefore, nonce: auth.nonce, signature };
    }

    it("pulls an authorization made out to the model's share token and splits it with the caller as operator", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, stranger, op2, child, root } = fx;
      await p.usdc.write.mint([stranger.account.address, 10_000n]);
      const a = await authorization(fx, stranger, child.shares.address, 10_000n);
      const hash = await p.vault.write.payExact([payment(child.modelId, a)], { account: op2.account });
      await viem.assertions.emitWithArgs(Promise.resolve(hash), p.vault, "ExactPaymentSettled", [
        child.modelId, stranger.account.address, op2.account.address, 10_000n, a.auth.nonce,
      ]);
      const s = split(10_000n, CHILD_FEE, [CHILD_PARENT_BPS]);
      assert.equal(await p.vault.read.feesOf([op2.account.address]), s.operator);
      assert.equal(await child.shares.read.claimable([holder(fx)]), s.holders);
      assert.equal(await root.shares.read.claimable([holder(fx)]), s.royalties[0]);
      assert.equal(await p.usdc.read.balanceOf([child.shares.address]), 0n);
      assert.equal(await p.usdc.read.balanceOf([stranger.account.address]), 0n);
    });

    it("payExactBatch pays several; rejects an empty batch, zero value, a paused or unknown model", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, stranger, op1, root, child } = fx;
      await p.usdc.write.mint([stranger.account.address, 3_000n]);
      const batch = [
        payment(root.modelId, await authorization(fx, stranger, root.shares.address, 1_000n)),
        payment(child.modelId, await authorization(fx, stranger, child.shares.address, 2_000n)),
      ];
      await mined(viem, p.vault.write.payExactBatch([batch], { account: op1.account }));
      assert.equal(await p.usdc.read.balanceOf([stranger.account.address]), 0n);
      await viem.assertions.revertWithCustomError(p.vault.write.payExactBatch([[]]), p.vault, "EmptyBatch");
      const zero = payment(root.modelId, await authorization(fx, stranger, root.shares.address, 0n));
      await viem.assertions.revertWithCustomError(p.vault.write.payExact([zero]), p.vault, "ZeroAmount");
      await p.usdc.write.mint([stranger.account.address, 5n]);
      const paid = payment(root.modelId, await authorization(fx, stranger, root.shares.address, 5n));
      await viem.assertions.revertWithCustomErrorWithArgs(p.vault.write.payExact([{ ...paid, modelId: 99n }]), p.vault, "UnknownModel", [99n]);
      await p.registry.write.setPaused([root.modelId, true]);
      await viem.assertions.revertWithCustomErrorWithArgs(p.vault.write.payExact([paid]), p.vault, "ModelPaused", [root.modelId]);
      await p.vault.write.pause();
      await viem.assertions.revertWithCustomError(p.vault.write.payExact([paid]), p.vault, "EnforcedPause");
    });

    it("sweep splits stablecoin sent straight to a share token, with no operator fee", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, root } = fx;
      await viem.assertions.revertWithCustomError(p.vault.write.sweep([root.modelId]), p.vault, "ZeroAmount");
      await p.usdc.write.mint([root.shares.address, 9_999n]);
      await viem.assertions.emitWithArgs(p.vault.write.sweep([root.modelId]), p.vault, "StraySwept", [root.modelId, 9_999n]);
      const s = split(9_999n, ROOT_FEE, [], false);
      assert.equal(await root.shares.read.claimable([holder(fx)]), s.holders);
      assert.equal(await p.vault.read.feesOf([fx.p.treasury.account.address]), s.protocol);
      assert.equal(await p.usdc.read.balanceOf([root.shares.address]), 0n);
    });
  });

  describe("claims", () => {
    it("claim pays royalties of several models in one transfer; claimableOf agrees beforehand", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, alice, op1, root, child } = fx;
      await p.vault.write.settle([
        [await signed(p, alice, voucher(alice, op1, root.modelId, 5_000n)), await signed(p, alice, voucher(alice, op1, child.modelId, 8_000n))],
      ]);
      const expected = (await root.shares.read.claimable([holder(fx)])) + (await child.shares.read.claimable([holder(fx)]));
      assert.ok(expected > 0n);
      assert.equal(await p.vault.read.claimableOf([holder(fx), [root.modelId, child.modelId]]), expected);
      await viem.assertions.emitWithArgs(p.vault.write.claim([[root.modelId, child.modelId]]), p.vault, "Claimed", [holder(fx), expected]);
      assert.equal(await p.usdc.read.balanceOf([holder(fx)]), expected);
      assert.equal(await p.vault.read.claimableOf([holder(fx), [root.modelId, child.modelId]]), 0n);
      await viem.assertions.revertWithCustomError(p.vault.write.claim([[root.modelId]]), p.vault, "NothingToClaim");
      await viem.assertions.revertWithCustomErrorWithArgs(p.vault.write.claim([[77n]]), p.vault, "UnknownModel", [77n]);
    });

    it("claimFees pays the treasury and operators; nothing accrued reverts", async () => {
      const { p, alice, op1, root, stranger } = await networkHelpers.loadFixture(fixture);
      await p.vault.write.settle([[await signed(p, alice, voucher(alice, op1, root.modelId, 20_000n))]]);
      const s = split(20_000n, ROOT_FEE);
      await viem.assertions.emitWithArgs(p.vault.write.claimFees({ account: op1.account }), p.vault, "FeesClaimed", [op1.account.address, s.operator]);
      await mined(viem, p.vault.write.claimFees({ account: p.treasury.account }));
      assert.equal(await p.usdc.read.balanceOf([op1.account.address]), s.operator);
      assert.equal(await p.usdc.read.balanceOf([p.treasury.account.address]), s.protocol);
      await viem.assertions.revertWithCustomError(p.vault.write.claimFees({ account: op1.account }), p.vault, "NothingToClaim");
      await viem.assertions.revertWithCustomError(p.vault.write.claimFees({ account: stranger.account }), p.vault, "NothingToClaim");
    });
  });

  describe("admin", () => {
    it("protocol fee, treasury and withdrawal delay: owner only, bounded, with events", async () => {
      const { p, stranger } = await networkHelpers.loadFixture(fixture);
      await viem.assertions.emitWithArgs(p.vault.write.setProtocolFee([1_000]), p.vault, "ProtocolFeeSet", [1_000]);
      await viem.assertions.revertWithCustomErrorWithArgs(p.vault.write.setProtocolFee([1_001]), p.vault, "ProtocolFeeTooHigh", [1_001n, 1_000n]);
      await viem.assertions.emitWithArgs(p.vault.write.setTreasury([stranger.account.address]), p.vault, "TreasurySet", [stranger.account.address]);
      await viem.assertions.revertWithCustomError(p.vault.write.setTreasury([zeroAddress]), p.vault, "ZeroAddress");
      await viem.assertions.emitWithArgs(p.vault.write.setWithdrawalDelay([30n * 86_400n]), p.vault, "WithdrawalDelaySet", [30n * 86_400n]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.vault.write.setWithdrawalDelay([30n * 86_400n + 1n]),
        p.vault,
        "WithdrawalDelayTooLong",
        [30n * 86_400n + 1n, 30n * 86_400n],
      );
      assert.equal(await p.vault.read.protocolFeeBps(), 1_000);
      assert.equal((await p.vault.read.treasury()).toLowerCase(), stranger.account.address.toLowerCase());
      assert.equal(await p.vault.read.withdrawalDelay(), 30n * 86_400n);
      for (const call of [
        p.vault.write.setProtocolFee([1], { account: stranger.account }),
        p.vault.write.setTreasury([stranger.account.address], { account: stranger.account }),
        p.vault.write.setWithdrawalDelay([1n], { account: stranger.account }),
        p.vault.write.pause({ account: stranger.account }),
        p.vault.write.unpause({ account: stranger.account }),
      ]) {
        await viem.assertions.revertWithCustomErrorWithArgs(call, p.vault, "OwnableUnauthorizedAccount", [stranger.account.address]);
      }
    });

    it("pause and unpause; the proxy and the implementation cannot be initialised again", async () => {
      const { p, alice } = await networkHelpers.loadFixture(fixture);
      await viem.assertions.emit(p.vault.write.pause(), p.vault, "Paused");
      await viem.assertions.emit(p.vault.write.unpause(), p.vault, "Unpaused");
      const args = [alice.account.address, p.usdc.address, p.registry.address, alice.account.address, 0, 0n] as const;
      await viem.assertions.revertWithCustomError(p.vault.write.initialize([...args]), p.vault, "InvalidInitialization");
      const impl = await viem.getContractAt("Vault", p.deployment.contracts.vaultImplementation);
      await viem.assertions.revertWithCustomError(impl.write.initialize([...args]), impl, "InvalidInitialization");
      assert.equal((await p.vault.read.asset()).toLowerCase(), p.usdc.address.toLowerCase());
      assert.equal((await p.vault.read.registry()).toLowerCase(), p.registry.address.toLowerCase());
    });
  });
});

