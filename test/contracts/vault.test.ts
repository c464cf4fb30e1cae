// Vault: every external function, its happy path and every revert. Expected amounts are computed here, from the
// documented rules, never read back from the contract.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import {
  encodeAbiParameters,
  encodeFunctionData,
  getAddress,
  hashTypedData,
  keccak256,
  maxUint128,
  parseSignature,
  toHex,
  zeroAddress,
  type Address,
} from "viem";
import { deployProtocol, fund, mintModel, signAuthorization, signVoucher, type Protocol, type Voucher } from "../helpers/protocol.ts";
import { increaseTime, latestTimestamp, mined, randomBytes32, setNextTimestamp } from "../helpers/chain.ts";

const BPS = 10_000n;
const PROTOCOL_BPS = 100n;
const DELAY = 3_600n;
const ROOT_FEE = 500n;
const CHILD_FEE = 300n;
const GRAND_FEE = 1_000n;
const CHILD_PARENT_BPS = 1_000n; // child -> root
// grand declares child at 2,000 bps and root at 500 bps. Child's own lineage gives root 1,000 bps of what child gets,
// so of grand's 2,000 bps to child, 2,000 * 1,000 / 10,000 = 200 flow on to root: child keeps 1,800, root 200 + 500.
const GRAND_TO_CHILD = 1_800n;
const GRAND_TO_ROOT = 700n;
const REASON = { None: 0, Stale: 1, Expired: 2, BadSignature: 3, SessionExpired: 4, SessionCapExceeded: 5, EmptyEscrow: 6 } as const;

// Written out here rather than imported from the SDK, so the digest check is independent of the SDK.
const VOUCHER_TYPE = {
  Voucher: [
    { name: "payer", type: "address" },
    { name: "operator", type: "address" },
    { name: "modelId", type: "uint256" },
    { name: "lane", type: "uint32" },
    { name: "cumulativeAmount", type: "uint256" },
    { name: "cumulativeCalls", type: "uint64" },
    { name: "expiry", type: "uint64" },
  ],
} as const;
const PERMIT_TYPE = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

/** The documented split, computed independently: each part on the gross, rounded down; holders get the rest. */
function split(gross: bigint, operatorBps: bigint, ancestorBps: bigint[] = [], withOperator = true, protocolBps = PROTOCOL_BPS) {
  const protocol = (gross * protocolBps) / BPS;
  const operator = withOperator ? (gross * operatorBps) / BPS : 0n;
  const royalties = ancestorBps.map((b) => (gross * b) / BPS);
  const upstream = royalties.reduce((a, b) => a + b, 0n);
  return { protocol, operator, royalties, upstream, holders: gross - protocol - operator - upstream };
}

const same = (a: Address, b: Address) => getAddress(a) === getAddress(b);

describe("Vault", async () => {
  const connection = await network.create();
  const { viem, networkHelpers } = connection;

  async function fixture() {
    const p = await deployProtocol(viem, { protocolFeeBps: Number(PROTOCOL_BPS), withdrawalDelay: DELAY });
    const [alice, bob, op1, op2, stranger, carol] = p.others as [W, W, W, W, W, W];
    const root = await mintModel(p, viem, { label: "root", operatorFeeBps: Number(ROOT_FEE) });
    const child = await mintModel(p, viem, {
      label: "child",
      operatorFeeBps: Number(CHILD_FEE),
      parents: [{ id: root.modelId, bps: Number(CHILD_PARENT_BPS) }],
    });
    const grand = await mintModel(p, viem, {
      label: "grand",
      operatorFeeBps: Number(GRAND_FEE),
      parents: [
        { id: child.modelId, bps: 2_000 },
        { id: root.modelId, bps: 500 },
      ],
    });
    await fund(p, alice, 1_000_000n);
    await fund(p, bob, 1_000_000n);
    return { p, alice, bob, op1, op2, stranger, carol, root, child, grand };
  }
  type W = Protocol["deployer"];
  type Fx = Awaited<ReturnType<typeof fixture>>;

  function voucher(payer: W, operator: W, modelId: bigint, cumulativeAmount: bigint, cumulativeCalls = 1n, expiry = 0n, lane = 0): Voucher {
    return { payer: payer.account.address, operator: operator.account.address, modelId, lane, cumulativeAmount, cumulativeCalls, expiry };
  }
  async function signed(p: Protocol, signer: W, v: Voucher) {
    return { voucher: v, signature: await signVoucher(p, signer, v) };
  }
  const holder = (fx: Fx) => fx.p.deployer.account.address;
  const escrow = async (fx: Fx, who: W) => (await fx.p.vault.read.escrowOf([who.account.address]))[0];
  async function events<N extends "VoucherRejected" | "VoucherSettled" | "RevenueSplit" | "RoyaltyPaid">(fx: Fx, eventName: N, blockNumber: bigint) {
    return fx.p.publicClient.getContractEvents({ address: fx.p.vault.address, abi: fx.p.vault.abi, eventName, fromBlock: blockNumber, toBlock: blockNumber });
  }

  describe("deposits", () => {
    it("deposit credits the payer's escrow and moves the tokens from the payer to the vault", async () => {
      const { p, alice } = await networkHelpers.loadFixture(fixture);
      await p.usdc.write.mint([alice.account.address, 500n]);
      await p.usdc.write.approve([p.vault.address, 500n], { account: alice.account });
      await viem.assertions.emitWithArgs(p.vault.write.deposit([500n], { account: alice.account }), p.vault, "Deposited", [
        alice.account.address,
        alice.account.address,
        500n,
      ]);
      assert.deepEqual(await p.vault.read.escrowOf([alice.account.address]), [1_000_500n, 0n, 0n]);
      assert.equal(await p.usdc.read.balanceOf([p.vault.address]), 2_000_500n);
      assert.equal(await p.usdc.read.balanceOf([alice.account.address]), 0n);
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
      assert.equal(await p.vault.read.escrowOf([alice.account.address]).then((e) => e[0]), 1_000_070n);
      assert.deepEqual(await p.vault.read.escrowOf([stranger.account.address]), [0n, 0n, 0n]);
      assert.equal(await p.usdc.read.balanceOf([stranger.account.address]), 0n);
    });

    it("rejects a zero amount, the zero payer, a missing allowance, an escrow above uint128, and deposits while paused", async () => {
      const { p, alice, stranger } = await networkHelpers.loadFixture(fixture);
      await viem.assertions.revertWithCustomError(p.vault.write.deposit([0n], { account: alice.account }), p.vault, "ZeroAmount");
      await viem.assertions.revertWithCustomError(p.vault.write.depositFor([alice.account.address, 0n]), p.vault, "ZeroAmount");
      await viem.assertions.revertWithCustomError(p.vault.write.depositFor([zeroAddress, 1n]), p.vault, "ZeroAddress");
      await p.usdc.write.mint([stranger.account.address, 10n]);
      await viem.assertions.revertWithCustomError(p.vault.write.deposit([10n], { account: stranger.account }), p.usdc, "ERC20InsufficientAllowance");

      // alice holds 1,000,000 in escrow: topping it up to exactly 2^128 - 1 works, one more unit does not.
      const room = maxUint128 - 1_000_000n;
      await p.usdc.write.mint([stranger.account.address, room + 1n]);
      await p.usdc.write.approve([p.vault.address, room + 1n], { account: stranger.account });
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.vault.write.depositFor([alice.account.address, room + 1n], { account: stranger.account }),
        p.vault,
        "AmountTooLarge",
        [room + 1n],
      );
      await mined(viem, p.vault.write.depositFor([alice.account.address, room], { account: stranger.account }));
      assert.equal((await p.vault.read.escrowOf([alice.account.address]))[0], maxUint128);
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.vault.write.depositFor([alice.account.address, 1n], { account: stranger.account }),
        p.vault,
        "AmountTooLarge",
        [1n],
      );

      await p.vault.write.pause();
      await viem.assertions.revertWithCustomError(p.vault.write.deposit([1n], { account: stranger.account }), p.vault, "EnforcedPause");
      await viem.assertions.revertWithCustomError(p.vault.write.depositFor([alice.account.address, 1n], { account: stranger.account }), p.vault, "EnforcedPause");
    });

    describe("depositWithPermit", () => {
      async function permit(fx: Fx, signer: W, value: bigint, nonce = 0n, deadlineIn = 600n) {
        const chainId = await fx.p.publicClient.getChainId();
        const deadline = (await latestTimestamp(viem)) + deadlineIn;
        const signature = await signer.signTypedData({
          account: signer.account,
          domain: { name: "USD Coin", version: "2", chainId, verifyingContract: fx.p.usdc.address },
          types: PERMIT_TYPE,
          primaryType: "Permit",
          message: { owner: signer.account.address, spender: fx.p.vault.address, value, nonce, deadline },
        });
        const { v, r, s } = parseSignature(signature);
        return { deadline, v: Number(v), r, s };
      }

      it("a valid permit (USD Coin / 2 domain) approves and deposits in one transaction", async () => {
        const fx = await networkHelpers.loadFixture(fixture);
        const { p, stranger } = fx;
        await p.usdc.write.mint([stranger.account.address, 1_000n]);
        const { deadline, v, r, s } = await permit(fx, stranger, 400n);
        await viem.assertions.emitWithArgs(
          p.vault.write.depositWithPermit([400n, deadline, v, r, s], { account: stranger.account }),
          p.vault,
          "Deposited",
          [stranger.account.address, stranger.account.address, 400n],
        );
        assert.equal(await escrow(fx, stranger), 400n);
        assert.equal(await p.usdc.read.balanceOf([stranger.account.address]), 600n);
        assert.equal(await p.usdc.read.nonces([stranger.account.address]), 1n);
        assert.equal(await p.usdc.read.allowance([stranger.account.address, p.vault.address]), 0n);
      });

      it("a permit front-run by a third party does not block the deposit", async () => {
        const fx = await networkHelpers.loadFixture(fixture);
        const { p, stranger, bob } = fx;
        await p.usdc.write.mint([stranger.account.address, 1_000n]);
        const { deadline, v, r, s } = await permit(fx, stranger, 400n);
        // bob sees the permit in the mempool and submits it to the token first: the vault's own permit call fails.
        await mined(viem, p.usdc.write.permit([stranger.account.address, p.vault.address, 400n, deadline, v, r, s], { account: bob.account }));
        await mined(viem, p.vault.write.depositWithPermit([400n, deadline, v, r, s], { account: stranger.account }));
        assert.equal(await escrow(fx, stranger), 400n);
        assert.equal(await p.usdc.read.balanceOf([stranger.account.address]), 600n);
      });

      it("an invalid permit (wrong signer, expired) deposits on an existing allowance and reverts without one", async () => {
        const fx = await networkHelpers.loadFixture(fixture);
        const { p, stranger, bob } = fx;
        await p.usdc.write.mint([stranger.account.address, 1_000n]);
        const forged = await permit(fx, bob, 300n); // signed by bob for bob, submitted by stranger
        await viem.assertions.revertWithCustomError(
          p.vault.write.depositWithPermit([300n, forged.deadline, forged.v, forged.r, forged.s], { account: stranger.account }),
          p.usdc,
          "ERC20InsufficientAllowance",
        );
        const expired = await permit(fx, stranger, 300n, 0n, 5n);
        await increaseTime(connection, 10n);
        await viem.assertions.revertWithCustomError(
          p.vault.write.depositWithPermit([300n, expired.deadline, expired.v, expired.r, expired.s], { account: stranger.account }),
          p.usdc,
          "ERC20InsufficientAllowance",
        );
        assert.equal(await escrow(fx, stranger), 0n);
        await p.usdc.write.approve([p.vault.address, 300n], { account: stranger.account });
        await mined(viem, p.vault.write.depositWithPermit([300n, forged.deadline, forged.v, forged.r, forged.s], { account: stranger.account }));
        assert.equal(await escrow(fx, stranger), 300n);
        assert.equal(await p.usdc.read.allowance([bob.account.address, p.vault.address]), 0n, "bob's permit was not applied");
      });

      it("reverts on a zero amount and while paused", async () => {
        const fx = await networkHelpers.loadFixture(fixture);
        const { p, stranger } = fx;
        await p.usdc.write.mint([stranger.account.address, 1_000n]);
        const zero = await permit(fx, stranger, 0n);
        await viem.assertions.revertWithCustomError(
          p.vault.write.depositWithPermit([0n, zero.deadline, zero.v, zero.r, zero.s], { account: stranger.account }),
          p.vault,
          "ZeroAmount",
        );
        const good = await permit(fx, stranger, 10n);
        await p.vault.write.pause();
        await viem.assertions.revertWithCustomError(
          p.vault.write.depositWithPermit([10n, good.deadline, good.v, good.r, good.s], { account: stranger.account }),
          p.vault,
          "EnforcedPause",
        );
      });
    });
  });

  describe("withdrawals", () => {
    it("request, wait exactly the delay, withdraw", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, alice } = fx;
      const hash = await p.vault.write.requestWithdrawal([300n], { account: alice.account });
      const unlockAt = (await latestTimestamp(viem)) + DELAY;
      await viem.assertions.emitWithArgs(hash, p.vault, "WithdrawalRequested", [alice.account.address, 300n, unlockAt]);
      assert.deepEqual(await p.vault.read.escrowOf([alice.account.address]), [1_000_000n, 300n, unlockAt]);
      await viem.assertions.revertWithCustomErrorWithArgs(p.vault.write.withdraw({ account: alice.account }), p.vault, "WithdrawalLocked", [unlockAt]);
      await setNextTimestamp(connection, unlockAt - 1n);
      await viem.assertions.revertWithCustomErrorWithArgs(p.vault.write.withdraw({ account: alice.account }), p.vault, "WithdrawalLocked", [unlockAt]);
      await setNextTimestamp(connection, unlockAt);
      await viem.assertions.emitWithArgs(p.vault.write.withdraw({ account: alice.account }), p.vault, "Withdrawn", [alice.account.address, 300n]);
      assert.equal(await p.usdc.read.balanceOf([alice.account.address]), 300n);
      assert.equal(await p.usdc.read.balanceOf([p.vault.address]), 2_000_000n - 300n);
      assert.deepEqual(await p.vault.read.escrowOf([alice.account.address]), [999_700n, 0n, 0n]);
      await viem.assertions.revertWithCustomError(p.vault.write.withdraw({ account: alice.account }), p.vault, "NoPendingWithdrawal");
    });

    it("rejects a zero or uncovered request; the whole escrow may be requested; a new request replaces the old one and restarts the delay", async () => {
      const { p, alice, stranger } = await networkHelpers.loadFixture(fixture);
      await viem.assertions.revertWithCustomError(p.vault.write.requestWithdrawal([0n], { account: alice.account }), p.vault, "ZeroAmount");
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.vault.write.requestWithdrawal([1_000_001n], { account: alice.account }),
        p.vault,
        "InsufficientEscrow",
        [1_000_000n, 1_000_001n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.vault.write.requestWithdrawal([1n], { account: stranger.account }),
        p.vault,
        "InsufficientEscrow",
        [0n, 1n],
      );
      await viem.assertions.revertWithCustomError(p.vault.write.withdraw({ account: stranger.account }), p.vault, "NoPendingWithdrawal");
      await mined(viem, p.vault.write.requestWithdrawal([1_000_000n], { account: alice.account }));
      await p.vault.write.requestWithdrawal([10n], { account: alice.account });
      await increaseTime(connection, DELAY);
      await p.vault.write.requestWithdrawal([20n], { account: alice.account });
      const [, pending, unlockAt] = await p.vault.read.escrowOf([alice.account.address]);
      assert.equal(pending, 20n);
      assert.equal(unlockAt, (await latestTimestamp(viem)) + DELAY);
      await viem.assertions.revertWithCustomError(p.vault.write.withdraw({ account: alice.account }), p.vault, "WithdrawalLocked");
      await increaseTime(connection, DELAY);
      await mined(viem, p.vault.write.withdraw({ account: alice.account }));
      assert.equal(await p.usdc.read.balanceOf([alice.account.address]), 20n, "only the replacing request is paid");
    });

    it("the delay in force at request time applies; a zero delay unlocks at once", async () => {
      const { p, alice } = await networkHelpers.loadFixture(fixture);
      await p.vault.write.requestWithdrawal([10n], { account: alice.account });
      const unlockAt = (await latestTimestamp(viem)) + DELAY;
      await p.vault.write.setWithdrawalDelay([0n]);
      assert.equal((await p.vault.read.escrowOf([alice.account.address]))[2], unlockAt);
      await viem.assertions.revertWithCustomError(p.vault.write.withdraw({ account: alice.account }), p.vault, "WithdrawalLocked");
      await p.vault.write.requestWithdrawal([10n], { account: alice.account });
      assert.equal((await p.vault.read.escrowOf([alice.account.address]))[2], await latestTimestamp(viem));
      await mined(viem, p.vault.write.withdraw({ account: alice.account }));
      assert.equal(await p.usdc.read.balanceOf([alice.account.address]), 10n);
    });

    it("cancelWithdrawal clears the request; without one it reverts", async () => {
      const { p, alice } = await networkHelpers.loadFixture(fixture);
      await viem.assertions.revertWithCustomError(p.vault.write.cancelWithdrawal({ account: alice.account }), p.vault, "NoPendingWithdrawal");
      await p.vault.write.requestWithdrawal([10n], { account: alice.account });
      await viem.assertions.emitWithArgs(p.vault.write.cancelWithdrawal({ account: alice.account }), p.vault, "WithdrawalCancelled", [alice.account.address]);
      assert.deepEqual(await p.vault.read.escrowOf([alice.account.address]), [1_000_000n, 0n, 0n]);
      await viem.assertions.revertWithCustomError(p.vault.write.cancelWithdrawal({ account: alice.account }), p.vault, "NoPendingWithdrawal");
      await increaseTime(connection, DELAY);
      await viem.assertions.revertWithCustomError(p.vault.write.withdraw({ account: alice.account }), p.vault, "NoPendingWithdrawal");
    });

    it("withdrawal racing settlement: settlement during the delay reduces what withdraw pays; withdraw works while paused", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, alice, op1, root } = fx;
      await p.vault.write.requestWithdrawal([900_000n], { account: alice.account });
      await p.vault.write.settle([[await signed(p, alice, voucher(alice, op1, root.modelId, 250_000n))]]);
      await p.vault.write.pause();
      await increaseTime(connection, DELAY);
      // 900,000 requested, but only 750,000 is left after the settlement: min(pending, balance).
      await viem.assertions.emitWithArgs(p.vault.write.withdraw({ account: alice.account }), p.vault, "Withdrawn", [alice.account.address, 750_000n]);
      assert.equal(await p.usdc.read.balanceOf([alice.account.address]), 750_000n);
      assert.deepEqual(await p.vault.read.escrowOf([alice.account.address]), [0n, 0n, 0n]);
    });

    it("a withdrawal whose escrow was fully consumed pays nothing and clears the request; request and cancel work while paused", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, alice, op1, root } = fx;
      await p.vault.write.pause();
      await p.vault.write.requestWithdrawal([500n], { account: alice.account });
      await p.vault.write.cancelWithdrawal({ account: alice.account });
      await p.vault.write.requestWithdrawal([500_000n], { account: alice.account });
      await p.vault.write.unpause();
      await p.vault.write.settle([[await signed(p, alice, voucher(alice, op1, root.modelId, 1_000_000n))]]);
      await increaseTime(connection, DELAY);
      const vaultBefore = await p.usdc.read.balanceOf([p.vault.address]);
      await viem.assertions.emitWithArgs(p.vault.write.withdraw({ account: alice.account }), p.vault, "Withdrawn", [alice.account.address, 0n]);
      assert.equal(await p.usdc.read.balanceOf([alice.account.address]), 0n);
      assert.equal(await p.usdc.read.balanceOf([p.vault.address]), vaultBefore);
      assert.deepEqual(await p.vault.read.escrowOf([alice.account.address]), [0n, 0n, 0n]);
    });
  });

  describe("session signers", () => {
    it("set and revoke, with events and the view; setting again replaces cap and expiry and resets spending", async () => {
      const { p, alice, stranger, op1, root } = await networkHelpers.loadFixture(fixture);
      const expiry = (await latestTimestamp(viem)) + 1_000n;
      await viem.assertions.emitWithArgs(
        p.vault.write.setSessionSigner([stranger.account.address, 5_000n, expiry], { account: alice.account }),
        p.vault,
        "SessionSignerSet",
        [alice.account.address, stranger.account.address, 5_000n, expiry],
      );
      assert.deepEqual(await p.vault.read.sessionOf([alice.account.address, stranger.account.address]), [5_000n, 0n, expiry]);
      await p.vault.write.settle([[await signed(p, stranger, voucher(alice, op1, root.modelId, 4_000n))]]);
      assert.deepEqual(await p.vault.read.sessionOf([alice.account.address, stranger.account.address]), [5_000n, 4_000n, expiry]);
      await p.vault.write.setSessionSigner([stranger.account.address, 2_000n, expiry + 5n], { account: alice.account });
      assert.deepEqual(await p.vault.read.sessionOf([alice.account.address, stranger.account.address]), [2_000n, 0n, expiry + 5n]);
      await viem.assertions.emitWithArgs(
        p.vault.write.revokeSessionSigner([stranger.account.address], { account: alice.account }),
        p.vault,
        "SessionSignerRevoked",
        [alice.account.address, stranger.account.address],
      );
      assert.deepEqual(await p.vault.read.sessionOf([alice.account.address, stranger.account.address]), [0n, 0n, 0n]);
      await viem.assertions.revertWithCustomError(
        p.vault.write.revokeSessionSigner([stranger.account.address], { account: alice.account }),
        p.vault,
        "InvalidSession",
      );
    });

    it("rejects the zero signer, the payer itself, a zero cap, a past or current expiry, and revoking an unknown signer", async () => {
      const { p, alice, stranger, bob } = await networkHelpers.loadFixture(fixture);
      const later = (await latestTimestamp(viem)) + 1_000n;
      const now = await latestTimestamp(viem);
      for (const args of [
        [zeroAddress, 1n, later],
        [alice.account.address, 1n, later],
        [stranger.account.address, 0n, later],
        [stranger.account.address, 1n, now - 1n],
      ] as const) {
        await viem.assertions.revertWithCustomError(p.vault.write.setSessionSigner([...args], { account: alice.account }), p.vault, "InvalidSession");
      }
      // expiry equal to the block's timestamp is already past.
      await setNextTimestamp(connection, now + 10n);
      await viem.assertions.revertWithCustomError(
        p.vault.write.setSessionSigner([stranger.account.address, 1n, now + 10n], { account: alice.account }),
        p.vault,
        "InvalidSession",
      );
      await viem.assertions.revertWithCustomError(
        p.vault.write.revokeSessionSigner([stranger.account.address], { account: alice.account }),
        p.vault,
        "InvalidSession",
      );
      // A session is per payer: bob's session for stranger cannot be revoked by alice.
      await p.vault.write.setSessionSigner([stranger.account.address, 1n, later], { account: bob.account });
      await viem.assertions.revertWithCustomError(
        p.vault.write.revokeSessionSigner([stranger.account.address], { account: alice.account }),
        p.vault,
        "InvalidSession",
      );
      assert.deepEqual(await p.vault.read.sessionOf([bob.account.address, stranger.account.address]), [1n, 0n, later]);
    });
  });

  describe("settle", () => {
    it("splits a payment: protocol fee, operator fee, upstream royalty, holders", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, alice, op1, root, child } = fx;
      const gross = 123_457n;
      const s = split(gross, CHILD_FEE, [CHILD_PARENT_BPS]);
      const v = voucher(alice, op1, child.modelId, gross, 7n);
      const sv = await signed(p, alice, v);
      const { result } = await p.vault.simulate.settle([[sv]], { account: op1.account.address });
      assert.equal(result, gross);
      const hash = await p.vault.write.settle([[sv]]);
      const key = keccak256(encodeAbiParameters([{ type: "address" }, { type: "address" }, { type: "uint256" }, { type: "uint32" }], [alice.account.address, op1.account.address, child.modelId, 0]));
      await viem.assertions.emitWithArgs(hash, p.vault, "VoucherSettled", [key, alice.account.address, child.modelId, op1.account.address, 0, gross, 7n, gross, 0n]);
      await viem.assertions.emitWithArgs(hash, p.vault, "RevenueSplit", [child.modelId, op1.account.address, gross, s.protocol, s.operator, s.upstream, s.holders]);
      await viem.assertions.emitWithArgs(hash, p.vault, "RoyaltyPaid", [child.modelId, root.modelId, s.royalties[0]!]);
      await viem.assertions.emitWithArgs(hash, p.vault, "FeesAccrued", [p.treasury.account.address, s.protocol]);
      await viem.assertions.emitWithArgs(hash, p.vault, "FeesAccrued", [op1.account.address, s.operator]);
      assert.equal(await p.vault.read.feesOf([p.treasury.account.address]), s.protocol);
      assert.equal(await p.vault.read.feesOf([op1.account.address]), s.operator);
      assert.equal(await child.shares.read.claimable([holder(fx)]), s.holders);
      assert.equal(await root.shares.read.claimable([holder(fx)]), s.royalties[0]);
      assert.equal(await child.shares.read.totalRevenue(), s.holders);
      assert.equal(await root.shares.read.totalRevenue(), s.royalties[0]);
      assert.deepEqual(await p.vault.read.escrowOf([alice.account.address]), [1_000_000n - gross, 0n, 0n]);
      assert.deepEqual(await p.vault.read.tabOf([alice.account.address, op1.account.address, child.modelId, 0]), [gross, 7n]);
      // Pure accounting: no token moved.
      assert.equal(await p.usdc.read.balanceOf([p.vault.address]), 2_000_000n);
    });

    it("pays every ancestor of a flattened lineage; holders get every rounding unit", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, alice, op2, root, child, grand } = fx;
      const gross = 99_999n;
      const s = split(gross, GRAND_FEE, [GRAND_TO_CHILD, GRAND_TO_ROOT]);
      assert.equal(s.protocol + s.operator + s.upstream + s.holders, gross);
      const hash = await p.vault.write.settle([[await signed(p, alice, voucher(alice, op2, grand.modelId, gross))]]);
      await viem.assertions.emitWithArgs(hash, p.vault, "RevenueSplit", [grand.modelId, op2.account.address, gross, s.protocol, s.operator, s.upstream, s.holders]);
      await viem.assertions.emitWithArgs(hash, p.vault, "RoyaltyPaid", [grand.modelId, child.modelId, s.royalties[0]!]);
      await viem.assertions.emitWithArgs(hash, p.vault, "RoyaltyPaid", [grand.modelId, root.modelId, s.royalties[1]!]);
      assert.equal(await grand.shares.read.claimable([holder(fx)]), s.holders);
      assert.equal(await child.shares.read.claimable([holder(fx)]), s.royalties[0]);
      assert.equal(await root.shares.read.claimable([holder(fx)]), s.royalties[1]);
      assert.equal(await p.vault.read.feesOf([op2.account.address]), s.operator);
      assert.equal(await p.vault.read.feesOf([p.treasury.account.address]), s.protocol);
    });

    it("holders share pro rata; a new protocol fee and treasury apply to later payments only", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, alice, bob, op1, root, stranger } = fx;
      const supply = await root.shares.read.totalSupply();
      await root.shares.write.transfer([bob.account.address, supply / 4n]);
      await p.vault.write.settle([[await signed(p, alice, voucher(alice, op1, root.modelId, 40_000n))]]);
      const a = split(40_000n, ROOT_FEE);
      assert.equal(await root.shares.read.claimable([bob.account.address]), a.holders / 4n);
      assert.equal(await root.shares.read.claimable([holder(fx)]), (a.holders * 3n) / 4n);

      await p.vault.write.setProtocolFee([1_000]);
      await p.vault.write.setTreasury([stranger.account.address]);
      await p.vault.write.settle([[await signed(p, alice, voucher(alice, op1, root.modelId, 60_000n))]]);
      const b = split(20_000n, ROOT_FEE, [], true, 1_000n);
      assert.equal(await p.vault.read.feesOf([p.treasury.account.address]), a.protocol, "accrued fees stay with the old treasury");
      assert.equal(await p.vault.read.feesOf([stranger.account.address]), b.protocol);
      assert.equal(await p.vault.read.feesOf([op1.account.address]), a.operator + b.operator);
      assert.equal(await root.shares.read.claimable([bob.account.address]), (a.holders + b.holders) / 4n);

      // With a zero protocol fee the treasury accrues nothing.
      await p.vault.write.setProtocolFee([0]);
      const hash = await p.vault.write.settle([[await signed(p, alice, voucher(alice, op1, root.modelId, 70_000n))]]);
      const c = split(10_000n, ROOT_FEE, [], true, 0n);
      await viem.assertions.emitWithArgs(hash, p.vault, "RevenueSplit", [root.modelId, op1.account.address, 10_000n, 0n, c.operator, 0n, c.holders]);
      assert.equal(await p.vault.read.feesOf([stranger.account.address]), b.protocol);
    });

    it("is idempotent and order-independent: re-settling or settling an older voucher changes nothing", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, alice, op1, root } = fx;
      const older = await signed(p, alice, voucher(alice, op1, root.modelId, 4_000n, 2n));
      const newer = await signed(p, alice, voucher(alice, op1, root.modelId, 10_000n, 5n));
      await p.vault.write.settle([[newer]]);
      const snapshot = async () => [
        await p.vault.read.escrowOf([alice.account.address]),
        await p.vault.read.tabOf([alice.account.address, op1.account.address, root.modelId, 0]),
        await p.vault.read.feesOf([op1.account.address]),
        await p.vault.read.feesOf([p.treasury.account.address]),
        await root.shares.read.claimable([holder(fx)]),
      ];
      const before = await snapshot();
      const key = await p.vault.read.tabKey([alice.account.address, op1.account.address, root.modelId, 0]);
      for (const again of [newer, older]) {
        const { result } = await p.vault.simulate.settle([[again]]);
        assert.equal(result, 0n);
        const receipt = await mined(viem, p.vault.write.settle([[again]]));
        await viem.assertions.emitWithArgs(Promise.resolve(receipt.transactionHash), p.vault, "VoucherRejected", [key, alice.account.address, root.modelId, REASON.Stale]);
        assert.equal((await events(fx, "VoucherSettled", receipt.blockNumber)).length, 0);
        assert.equal((await events(fx, "RevenueSplit", receipt.blockNumber)).length, 0);
      }
      assert.deepEqual(await snapshot(), before);
      assert.deepEqual(before[1], [10_000n, 5n]);
    });

    it("tabs are per (payer, operator, model): the same cumulative for another operator or model is charged again", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, alice, op1, op2, root, child } = fx;
      await p.vault.write.settle([
        [
          await signed(p, alice, voucher(alice, op1, root.modelId, 1_000n)),
          await signed(p, alice, voucher(alice, op2, root.modelId, 1_000n)),
          await signed(p, alice, voucher(alice, op1, child.modelId, 1_000n)),
        ],
      ]);
      assert.equal(await escrow(fx, alice), 1_000_000n - 3_000n);
      for (const [op, model] of [[op1, root], [op2, root], [op1, child]] as const) {
        assert.deepEqual(await p.vault.read.tabOf([alice.account.address, op.account.address, model.modelId, 0]), [1_000n, 1n]);
      }
      assert.deepEqual(await p.vault.read.tabOf([alice.account.address, op2.account.address, child.modelId, 0]), [0n, 0n]);
    });

    it("a batch mixing payers, models and operators is split once per run of consecutive (model, operator), skipping rejected vouchers", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, alice, bob, op1, op2, root, child, stranger } = fx;
      const R = root.modelId;
      const C = child.modelId;
      // [signer, voucher, what it charges]
      const plan: [W, Voucher, bigint][] = [
        [alice, voucher(alice, op1, R, 3_333n), 3_333n],
        [bob, voucher(bob, op1, R, 3_333n), 3_333n],
        [alice, voucher(alice, op1, C, 5_555n), 5_555n],
        [stranger, voucher(bob, op1, C, 9_999n), 0n], // forged: BadSignature, skipped without breaking the run
        [bob, voucher(bob, op1, C, 4_445n), 4_445n],
        [alice, voucher(alice, op1, R, 7_777n, 2n), 7_777n - 3_333n], // same tab as #0, newer: a new run
        [alice, voucher(alice, op2, R, 1_001n), 1_001n],
        [alice, voucher(alice, op1, R, 3_333n), 0n], // older than #5: Stale
      ];
      const batch = await Promise.all(plan.map(([s, v]) => signed(p, s, v)));

      // Independent model of the documented grouping.
      const runs: { model: bigint; op: Address; gross: bigint }[] = [];
      for (const [, v, charged] of plan) {
        if (charged === 0n) continue;
        const last = runs.at(-1);
        if (last && last.model === v.modelId && same(last.op, v.operator)) last.gross += charged;
        else runs.push({ model: v.modelId, op: v.operator, gross: charged });
      }
      assert.deepEqual(runs.map((r) => r.gross), [6_666n, 10_000n, 4_444n, 1_001n]);
      const totalCharged = plan.reduce((a, [, , c]) => a + c, 0n);

      const { result } = await p.vault.simulate.settle([batch], { account: stranger.account.address });
      assert.equal(result, totalCharged);
      const receipt = await mined(viem, p.vault.write.settle([batch], { account: stranger.account }));

      const splits = await events(fx, "RevenueSplit", receipt.blockNumber);
      assert.deepEqual(
        splits.map((e) => [e.args.modelId, getAddress(e.args.operator!), e.args.gross]),
        runs.map((r) => [r.model, getAddress(r.op), r.gross]),
      );
      const rejected = await events(fx, "VoucherRejected", receipt.blockNumber);
      assert.deepEqual(rejected.map((e) => [getAddress(e.args.payer!), e.args.reason]), [
        [getAddress(bob.account.address), REASON.BadSignature],
        [getAddress(alice.account.address), REASON.Stale],
      ]);

      let treasury = 0n, fee1 = 0n, fee2 = 0n, rootHolders = 0n, childHolders = 0n;
      for (const r of runs) {
        const isChild = r.model === C;
        const s = split(r.gross, isChild ? CHILD_FEE : ROOT_FEE, isChild ? [CHILD_PARENT_BPS] : []);
        treasury += s.protocol;
        if (same(r.op, op1.account.address)) fee1 += s.operator;
        else fee2 += s.operator;
        if (isChild) {
          childHolders += s.holders;
          rootHolders += s.royalties[0]!;
        } else rootHolders += s.holders;
      }
      assert.equal(await p.vault.read.feesOf([p.treasury.account.address]), treasury);
      assert.equal(await p.vault.read.feesOf([op1.account.address]), fee1);
      assert.equal(await p.vault.read.feesOf([op2.account.address]), fee2);
      assert.equal(await p.vault.read.feesOf([stranger.account.address]), 0n, "the submitter earns nothing");
      assert.equal(await root.shares.read.claimable([holder(fx)]), rootHolders);
      assert.equal(await child.shares.read.claimable([holder(fx)]), childHolders);
      // Splitting per voucher would round differently: the grouping is observable.
      const perVoucherOp1 = plan
        .filter(([, v, c]) => c > 0n && same(v.operator, op1.account.address))
        .reduce((a, [, v, c]) => a + (c * (v.modelId === C ? CHILD_FEE : ROOT_FEE)) / BPS, 0n);
      assert.notEqual(perVoucherOp1, fee1);

      assert.equal(await escrow(fx, alice), 1_000_000n - 3_333n - 5_555n - 4_444n - 1_001n);
      assert.equal(await escrow(fx, bob), 1_000_000n - 3_333n - 4_445n);
      assert.deepEqual(await p.vault.read.tabOf([alice.account.address, op1.account.address, R, 0]), [7_777n, 2n]);
      assert.deepEqual(await p.vault.read.tabOf([bob.account.address, op1.account.address, C, 0]), [4_445n, 1n]);
    });

    it("charges what the escrow covers, reports the shortfall, keeps the call count, and settles the rest after a new deposit", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, alice, op1, root } = fx;
      const v = await signed(p, alice, voucher(alice, op1, root.modelId, 1_500_000n, 30n));
      const key = await p.vault.read.tabKey([alice.account.address, op1.account.address, root.modelId, 0]);
      await p.vault.write.settle([[await signed(p, alice, voucher(alice, op1, root.modelId, 100_000n, 2n))]]);
      await viem.assertions.emitWithArgs(p.vault.write.settle([[v]]), p.vault, "VoucherSettled", [
        key, alice.account.address, root.modelId, op1.account.address, 0, 1_000_000n, 2n, 900_000n, 500_000n,
      ]);
      assert.deepEqual(await p.vault.read.tabOf([alice.account.address, op1.account.address, root.modelId, 0]), [1_000_000n, 2n]);
      assert.deepEqual(await p.vault.read.escrowOf([alice.account.address]), [0n, 0n, 0n]);
      await viem.assertions.emitWithArgs(p.vault.write.settle([[v]]), p.vault, "VoucherRejected", [key, alice.account.address, root.modelId, REASON.EmptyEscrow]);
      await fund(p, alice, 600_000n);
      await viem.assertions.emitWithArgs(p.vault.write.settle([[v]]), p.vault, "VoucherSettled", [
        key, alice.account.address, root.modelId, op1.account.address, 0, 1_500_000n, 30n, 500_000n, 0n,
      ]);
      assert.deepEqual(await p.vault.read.tabOf([alice.account.address, op1.account.address, root.modelId, 0]), [1_500_000n, 30n]);
      assert.equal(await escrow(fx, alice), 100_000n);
      // Split on what was actually charged, in three payments.
      const s = [100_000n, 900_000n, 500_000n].map((g) => split(g, ROOT_FEE));
      assert.equal(await p.vault.read.feesOf([op1.account.address]), s.reduce((a, x) => a + x.operator, 0n));
      assert.equal(await root.shares.read.claimable([holder(fx)]), s.reduce((a, x) => a + x.holders, 0n));
    });

    it("lanes are independent tabs: each settles its own cumulative, and a signature binds its lane", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, alice, op1, root } = fx;
      const payer = alice.account.address;
      const before = await escrow(fx, alice);
      // Three calls in flight on lanes 0, 1 and 5: each lane's voucher covers only its own call.
      const lanes = [0, 1, 5];
      const batch = await Promise.all(lanes.map((lane) => signed(p, alice, voucher(alice, op1, root.modelId, 2_000n, 1n, 0n, lane))));
      await mined(viem, p.vault.write.settle([batch], { account: op1.account }));
      assert.equal(await escrow(fx, alice), before - 6_000n);
      for (const lane of lanes) assert.deepEqual(await p.vault.read.tabOf([payer, op1.account.address, root.modelId, lane]), [2_000n, 1n]);
      assert.deepEqual(await p.vault.read.tabOf([payer, op1.account.address, root.modelId, 2]), [0n, 0n]);
      // Lane 1 advances alone; replaying lane 0's voucher is stale.
      const next = await signed(p, alice, voucher(alice, op1, root.modelId, 4_000n, 2n, 0n, 1));
      const receipt = await mined(viem, p.vault.write.settle([[next, batch[0]!]], { account: op1.account }));
      assert.deepEqual((await events(fx, "VoucherRejected", receipt.blockNumber)).map((e) => e.args.reason), [REASON.Stale]);
      assert.deepEqual(await p.vault.read.tabOf([payer, op1.account.address, root.modelId, 1]), [4_000n, 2n]);
      assert.equal(await escrow(fx, alice), before - 8_000n);
      // A signature made for lane 1 does not carry over to lane 2.
      const moved = { voucher: { ...next.voucher, lane: 2 }, signature: next.signature };
      const rejected = await mined(viem, p.vault.write.settle([[moved]], { account: op1.account }));
      assert.deepEqual((await events(fx, "VoucherRejected", rejected.blockNumber)).map((e) => e.args.reason), [REASON.BadSignature]);
      assert.deepEqual(await p.vault.read.tabOf([payer, op1.account.address, root.modelId, 2]), [0n, 0n]);
    });

    it("in one batch the escrow runs out: the next voucher is partial and the one after faces an empty escrow", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, carol, op1, op2, root, child } = fx;
      await fund(p, carol, 5_000n);
      const batch = [
        await signed(p, carol, voucher(carol, op1, root.modelId, 3_000n, 3n)),
        await signed(p, carol, voucher(carol, op1, child.modelId, 4_000n, 4n)),
        await signed(p, carol, voucher(carol, op2, root.modelId, 1_000n, 1n)),
      ];
      assert.equal((await p.vault.simulate.settle([batch])).result, 5_000n);
      const receipt = await mined(viem, p.vault.write.settle([batch]));
      const settled = await events(fx, "VoucherSettled", receipt.blockNumber);
      assert.deepEqual(settled.map((e) => [e.args.charged, e.args.shortfall, e.args.settledCalls]), [
        [3_000n, 0n, 3n],
        [2_000n, 2_000n, 0n],
      ]);
      const rejected = await events(fx, "VoucherRejected", receipt.blockNumber);
      assert.deepEqual(rejected.map((e) => [e.args.modelId, e.args.reason]), [[root.modelId, REASON.EmptyEscrow]]);
      assert.equal(await escrow(fx, carol), 0n);
      await fund(p, carol, 10_000n);
      const again = await mined(viem, p.vault.write.settle([batch]));
      const settledAgain = await events(fx, "VoucherSettled", again.blockNumber);
      assert.deepEqual(settledAgain.map((e) => [e.args.charged, e.args.shortfall, e.args.settledCalls]), [
        [2_000n, 0n, 4n],
        [1_000n, 0n, 1n],
      ]);
      assert.equal(await escrow(fx, carol), 7_000n);
    });

    it("an expired voucher is skipped (a voucher is still good at its expiry second); a stale check comes first", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, alice, op1, root } = fx;
      const expiry = (await latestTimestamp(viem)) + 100n;
      const v = await signed(p, alice, voucher(alice, op1, root.modelId, 1_000n, 1n, expiry));
      const key = await p.vault.read.tabKey([alice.account.address, op1.account.address, root.modelId, 0]);
      await setNextTimestamp(connection, expiry);
      await viem.assertions.emitWithArgs(p.vault.write.settle([[v]]), p.vault, "VoucherSettled", [
        key, alice.account.address, root.modelId, op1.account.address, 0, 1_000n, 1n, 1_000n, 0n,
      ]);
      const late = await signed(p, alice, voucher(alice, op1, root.modelId, 2_000n, 2n, expiry));
      await viem.assertions.emitWithArgs(p.vault.write.settle([[late]]), p.vault, "VoucherRejected", [key, alice.account.address, root.modelId, REASON.Expired]);
      await viem.assertions.emitWithArgs(p.vault.write.settle([[v]]), p.vault, "VoucherRejected", [key, alice.account.address, root.modelId, REASON.Stale]);
      assert.equal(await escrow(fx, alice), 999_000n);
    });

    it("a payer with no escrow is skipped (EmptyEscrow); other payers in the batch still settle", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, alice, carol, op1, root } = fx;
      const receipt = await mined(viem, p.vault.write.settle([
        [await signed(p, carol, voucher(carol, op1, root.modelId, 10n)), await signed(p, alice, voucher(alice, op1, root.modelId, 10n))],
      ]));
      const rejected = await events(fx, "VoucherRejected", receipt.blockNumber);
      assert.deepEqual(rejected.map((e) => [getAddress(e.args.payer!), e.args.reason]), [[getAddress(carol.account.address), REASON.EmptyEscrow]]);
      assert.deepEqual(await p.vault.read.tabOf([carol.account.address, op1.account.address, root.modelId, 0]), [0n, 0n]);
      assert.equal(await escrow(fx, alice), 999_990n);
    });

    it("reverts on an empty batch, while paused, and for a model that does not exist (nothing charged)", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, alice, op1, root } = fx;
      await viem.assertions.revertWithCustomError(p.vault.write.settle([[]]), p.vault, "EmptyBatch");
      const ghost = await signed(p, alice, voucher(alice, op1, 999n, 10n));
      await viem.assertions.revertWithCustomErrorWithArgs(p.vault.write.settle([[ghost]]), p.vault, "UnknownModel", [999n]);
      assert.equal(await escrow(fx, alice), 1_000_000n);
      const v = await signed(p, alice, voucher(alice, op1, root.modelId, 10n));
      await p.vault.write.pause();
      await viem.assertions.revertWithCustomError(p.vault.write.settle([[v]]), p.vault, "EnforcedPause");
      await p.vault.write.unpause();
      await mined(viem, p.vault.write.settle([[v]]));
      assert.equal(await escrow(fx, alice), 999_990n);
    });

    it("voucherDigest equals viem's hashTypedData for the same voucher and domain; tabKey is keccak(abi.encode(payer, operator, model, lane))", async () => {
      const { p, alice, op1, root } = await networkHelpers.loadFixture(fixture);
      const v = voucher(alice, op1, root.modelId, 99n, 3n, 12345n, 7);
      const chainId = await p.publicClient.getChainId();
      const domain = { name: "Modelshare Vault", version: "1", chainId, verifyingContract: p.vault.address } as const;
      assert.equal(await p.vault.read.voucherDigest([v]), hashTypedData({ domain, types: VOUCHER_TYPE, primaryType: "Voucher", message: v }));
      assert.notEqual(
        await p.vault.read.voucherDigest([{ ...v, cumulativeCalls: 4n }]),
        hashTypedData({ domain, types: VOUCHER_TYPE, primaryType: "Voucher", message: v }),
      );
      assert.notEqual(await p.vault.read.voucherDigest([{ ...v, lane: 8 }]), await p.vault.read.voucherDigest([v]));
      assert.equal(
        await p.vault.read.VOUCHER_TYPEHASH(),
        keccak256(toHex("Voucher(address payer,address operator,uint256 modelId,uint32 lane,uint256 cumulativeAmount,uint64 cumulativeCalls,uint64 expiry)")),
      );
      const [, name, version, domainChainId, verifyingContract] = await p.vault.read.eip712Domain();
      assert.deepEqual([name, version, domainChainId, getAddress(verifyingContract)], ["Modelshare Vault", "1", BigInt(chainId), getAddress(p.vault.address)]);
      assert.equal(
        await p.vault.read.tabKey([v.payer, v.operator, v.modelId, v.lane]),
        keccak256(encodeAbiParameters([{ type: "address" }, { type: "address" }, { type: "uint256" }, { type: "uint32" }], [v.payer, v.operator, v.modelId, v.lane])),
      );
    });
  });

  describe("x402 exact payments", () => {
    async function authorization(fx: Fx, payer: W, to: Address, value: bigint, window: { validAfter?: bigint; validBefore?: bigint } = {}) {
      const auth = {
        from: payer.account.address,
        to,
        value,
        validAfter: window.validAfter ?? 0n,
        validBefore: window.validBefore ?? (await latestTimestamp(viem)) + 600n,
        nonce: randomBytes32(),
      };
      return { auth, signature: await signAuthorization(fx.p, payer, auth) };
    }
    function payment(modelId: bigint, a: Awaited<ReturnType<typeof authorization>>) {
      const { auth, signature } = a;
      return { modelId, from: auth.from, value: auth.value, validAfter: auth.validAfter, validBefore: auth.validBefore, nonce: auth.nonce, signature };
    }

    it("pulls an authorization made out to the model's share token (registry.sharesOf) and splits it with the caller as operator", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, stranger, op2, child, root } = fx;
      await p.usdc.write.mint([stranger.account.address, 10_000n]);
      const payTo = await p.registry.read.sharesOf([child.modelId]);
      const a = await authorization(fx, stranger, payTo, 10_000n);
      const hash = await p.vault.write.payExact([payment(child.modelId, a)], { account: op2.account });
      const s = split(10_000n, CHILD_FEE, [CHILD_PARENT_BPS]);
      await viem.assertions.emitWithArgs(hash, p.vault, "ExactPaymentSettled", [child.modelId, stranger.account.address, op2.account.address, 10_000n, a.auth.nonce]);
      await viem.assertions.emitWithArgs(hash, p.vault, "RevenueSplit", [child.modelId, op2.account.address, 10_000n, s.protocol, s.operator, s.upstream, s.holders]);
      await viem.assertions.emitWithArgs(hash, p.usdc, "AuthorizationUsed", [stranger.account.address, a.auth.nonce]);
      assert.equal(await p.vault.read.feesOf([op2.account.address]), s.operator);
      assert.equal(await p.vault.read.feesOf([p.treasury.account.address]), s.protocol);
      assert.equal(await child.shares.read.claimable([holder(fx)]), s.holders);
      assert.equal(await root.shares.read.claimable([holder(fx)]), s.royalties[0]);
      assert.equal(await p.usdc.read.balanceOf([child.shares.address]), 0n);
      assert.equal(await p.usdc.read.balanceOf([stranger.account.address]), 0n);
      assert.equal(await p.usdc.read.balanceOf([p.vault.address]), 2_010_000n);
      assert.equal(await escrow(fx, stranger), 0n, "x402 exact does not touch escrow");
    });

    it("payExactBatch pays several models in one transaction, one split per payment", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, stranger, carol, op1, root, child } = fx;
      await p.usdc.write.mint([stranger.account.address, 3_000n]);
      await p.usdc.write.mint([carol.account.address, 777n]);
      const batch = [
        payment(root.modelId, await authorization(fx, stranger, root.shares.address, 1_000n)),
        payment(child.modelId, await authorization(fx, stranger, child.shares.address, 2_000n)),
        payment(root.modelId, await authorization(fx, carol, root.shares.address, 777n)),
      ];
      const receipt = await mined(viem, p.vault.write.payExactBatch([batch], { account: op1.account }));
      const splits = await events(fx, "RevenueSplit", receipt.blockNumber);
      assert.deepEqual(splits.map((e) => [e.args.modelId, getAddress(e.args.operator!), e.args.gross]), [
        [root.modelId, getAddress(op1.account.address), 1_000n],
        [child.modelId, getAddress(op1.account.address), 2_000n],
        [root.modelId, getAddress(op1.account.address), 777n],
      ]);
      const [r1, c, r2] = [split(1_000n, ROOT_FEE), split(2_000n, CHILD_FEE, [CHILD_PARENT_BPS]), split(777n, ROOT_FEE)];
      assert.equal(await p.vault.read.feesOf([op1.account.address]), r1.operator + c.operator + r2.operator);
      assert.equal(await root.shares.read.claimable([holder(fx)]), r1.holders + c.royalties[0]! + r2.holders);
      assert.equal(await p.usdc.read.balanceOf([stranger.account.address]), 0n);
      assert.equal(await p.usdc.read.balanceOf([carol.account.address]), 0n);
      assert.equal(await p.usdc.read.balanceOf([p.vault.address]), 2_003_777n);
    });

    it("rejects an empty batch, a zero value, an unknown or paused model, a not-yet-valid authorization, and a paused vault", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, stranger, root } = fx;
      await viem.assertions.revertWithCustomError(p.vault.write.payExactBatch([[]]), p.vault, "EmptyBatch");
      const zero = payment(root.modelId, await authorization(fx, stranger, root.shares.address, 0n));
      await viem.assertions.revertWithCustomError(p.vault.write.payExact([zero]), p.vault, "ZeroAmount");
      await viem.assertions.revertWithCustomError(p.vault.write.payExactBatch([[zero]]), p.vault, "ZeroAmount");
      await p.usdc.write.mint([stranger.account.address, 5n]);
      const paid = payment(root.modelId, await authorization(fx, stranger, root.shares.address, 5n));
      await viem.assertions.revertWithCustomErrorWithArgs(p.vault.write.payExact([{ ...paid, modelId: 99n }]), p.vault, "UnknownModel", [99n]);
      const future = (await latestTimestamp(viem)) + 1_000n;
      const early = payment(root.modelId, await authorization(fx, stranger, root.shares.address, 5n, { validAfter: future, validBefore: future + 10n }));
      await viem.assertions.revertWithCustomErrorWithArgs(p.vault.write.payExact([early]), p.usdc, "AuthorizationNotYetValid", [future]);
      await p.registry.write.setPaused([root.modelId, true]);
      await viem.assertions.revertWithCustomErrorWithArgs(p.vault.write.payExact([paid]), p.vault, "ModelPaused", [root.modelId]);
      await viem.assertions.revertWithCustomErrorWithArgs(p.vault.write.payExactBatch([[paid]]), p.vault, "ModelPaused", [root.modelId]);
      await p.registry.write.setPaused([root.modelId, false]);
      await p.vault.write.pause();
      await viem.assertions.revertWithCustomError(p.vault.write.payExact([paid]), p.vault, "EnforcedPause");
      await viem.assertions.revertWithCustomError(p.vault.write.payExactBatch([[paid]]), p.vault, "EnforcedPause");
      await p.vault.write.unpause();
      await mined(viem, p.vault.write.payExact([paid]));
      assert.equal(await p.usdc.read.balanceOf([stranger.account.address]), 0n);
    });

    it("payExact forwards only its own value: stablecoin already sitting on the share token is left for sweep", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, stranger, op1, root } = fx;
      await p.usdc.write.mint([root.shares.address, 50n]);
      await p.usdc.write.mint([stranger.account.address, 1_000n]);
      await p.vault.write.payExact([payment(root.modelId, await authorization(fx, stranger, root.shares.address, 1_000n))], { account: op1.account });
      assert.equal(await p.usdc.read.balanceOf([root.shares.address]), 50n);
      assert.equal(await root.shares.read.totalRevenue(), split(1_000n, ROOT_FEE).holders);
    });

    it("sweep splits stablecoin sent straight to a share token, with no operator fee; anyone may call it", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, child, root, stranger } = fx;
      await viem.assertions.revertWithCustomError(p.vault.write.sweep([child.modelId]), p.vault, "ZeroAmount");
      await p.usdc.write.mint([child.shares.address, 9_999n]);
      assert.equal((await p.vault.simulate.sweep([child.modelId], { account: stranger.account.address })).result, 9_999n);
      const hash = await p.vault.write.sweep([child.modelId], { account: stranger.account });
      const s = split(9_999n, CHILD_FEE, [CHILD_PARENT_BPS], false);
      await viem.assertions.emitWithArgs(hash, p.vault, "StraySwept", [child.modelId, 9_999n]);
      await viem.assertions.emitWithArgs(hash, p.vault, "RevenueSplit", [child.modelId, zeroAddress, 9_999n, s.protocol, 0n, s.upstream, s.holders]);
      assert.equal(await child.shares.read.claimable([holder(fx)]), s.holders);
      assert.equal(await root.shares.read.claimable([holder(fx)]), s.royalties[0]);
      assert.equal(await p.vault.read.feesOf([p.treasury.account.address]), s.protocol);
      assert.equal(await p.vault.read.feesOf([stranger.account.address]), 0n);
      assert.equal(await p.vault.read.feesOf([zeroAddress]), 0n);
      assert.equal(await p.usdc.read.balanceOf([child.shares.address]), 0n);
      assert.equal(await p.usdc.read.balanceOf([p.vault.address]), 2_009_999n);
      await viem.assertions.revertWithCustomError(p.vault.write.sweep([child.modelId]), p.vault, "ZeroAmount");
      await viem.assertions.revertWithCustomErrorWithArgs(p.vault.write.sweep([42n]), p.vault, "UnknownModel", [42n]);
      await p.usdc.write.mint([child.shares.address, 1n]);
      await p.vault.write.pause();
      await viem.assertions.revertWithCustomError(p.vault.write.sweep([child.modelId]), p.vault, "EnforcedPause");
    });
  });

  describe("claims", () => {
    it("claim pays royalties of several models in one transfer; claimableOf agrees beforehand", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, alice, op1, root, child, grand } = fx;
      await p.vault.write.settle([
        [await signed(p, alice, voucher(alice, op1, root.modelId, 5_000n)), await signed(p, alice, voucher(alice, op1, child.modelId, 8_000n))],
      ]);
      const r = split(5_000n, ROOT_FEE);
      const c = split(8_000n, CHILD_FEE, [CHILD_PARENT_BPS]);
      const expected = r.holders + c.royalties[0]! + c.holders;
      const ids = [root.modelId, child.modelId, grand.modelId];
      assert.equal(await p.vault.read.claimableOf([holder(fx), ids]), expected);
      assert.equal((await p.vault.simulate.claim([ids])).result, expected);
      const hash = await p.vault.write.claim([ids]);
      await viem.assertions.emitWithArgs(hash, p.vault, "Claimed", [holder(fx), expected]);
      await viem.assertions.emitWithArgs(hash, root.shares, "RoyaltiesClaimed", [holder(fx), r.holders + c.royalties[0]!]);
      assert.equal(await p.usdc.read.balanceOf([holder(fx)]), expected);
      assert.equal(await p.usdc.read.balanceOf([p.vault.address]), 2_000_000n - expected);
      assert.equal(await p.vault.read.claimableOf([holder(fx), ids]), 0n);
      await viem.assertions.revertWithCustomError(p.vault.write.claim([[root.modelId]]), p.vault, "NothingToClaim");
    });

    it("claim rejects an empty list, a holder with nothing, and an id that was never minted (0 or past the last)", async () => {
      const fx = await networkHelpers.loadFixture(fixture);
      const { p, alice, op1, root, stranger } = fx;
      await p.vault.write.settle([[await signed(p, alice, voucher(alice, op1, root.modelId, 5_000n))]]);
      await viem.assertions.revertWithCustomError(p.vault.write.claim([[]]), p.vault, "NothingToClaim");
      await viem.assertions.revertWithCustomError(p.vault.write.claim([[root.modelId]], { account: stranger.account }), p.vault, "NothingToClaim");
      const next = await p.registry.read.nextModelId();
      for (const id of [0n, next, 77n]) {
        await viem.assertions.revertWithCustomErrorWithArgs(p.vault.write.claim([[root.modelId, id]]), p.vault, "UnknownModel", [id]);
        await viem.assertions.revertWithCustomErrorWithArgs(p.vault.read.claimableOf([holder(fx), [id]]), p.registry, "UnknownModel", [id]);
      }
      assert.equal(await p.usdc.read.balanceOf([holder(fx)]), 0n);
    });

    it("claimFees pays the treasury and operators; nothing accrued reverts; claims and fee claims work while paused", async () => {
      const { p, alice, op1, root, stranger } = await networkHelpers.loadFixture(fixture);
      await p.vault.write.settle([[await signed(p, alice, voucher(alice, op1, root.modelId, 20_000n))]]);
      const s = split(20_000n, ROOT_FEE);
      await p.vault.write.pause();
      assert.equal((await p.vault.simulate.claimFees({ account: op1.account.address })).result, s.operator);
      await viem.assertions.emitWithArgs(p.vault.write.claimFees({ account: op1.account }), p.vault, "FeesClaimed", [op1.account.address, s.operator]);
      await mined(viem, p.vault.write.claimFees({ account: p.treasury.account }));
      await mined(viem, p.vault.write.claim([[root.modelId]]));
      assert.equal(await p.usdc.read.balanceOf([op1.account.address]), s.operator);
      assert.equal(await p.usdc.read.balanceOf([p.treasury.account.address]), s.protocol);
      assert.equal(await p.usdc.read.balanceOf([p.deployer.account.address]), s.holders);
      assert.equal(await p.vault.read.feesOf([op1.account.address]), 0n);
      // Everything paid in is paid out: the vault keeps alice's remaining escrow only.
      assert.equal(await p.usdc.read.balanceOf([p.vault.address]), 2_000_000n - 20_000n);
      await viem.assertions.revertWithCustomError(p.vault.write.claimFees({ account: op1.account }), p.vault, "NothingToClaim");
      await viem.assertions.revertWithCustomError(p.vault.write.claimFees({ account: stranger.account }), p.vault, "NothingToClaim");
    });
  });

  describe("views", () => {
    it("escrowOf, tabOf, sessionOf, feesOf of unknown accounts are zero; configuration getters", async () => {
      const { p, stranger, op1, root } = await networkHelpers.loadFixture(fixture);
      assert.deepEqual(await p.vault.read.escrowOf([stranger.account.address]), [0n, 0n, 0n]);
      assert.deepEqual(await p.vault.read.tabOf([stranger.account.address, op1.account.address, root.modelId, 0]), [0n, 0n]);
      assert.deepEqual(await p.vault.read.sessionOf([stranger.account.address, op1.account.address]), [0n, 0n, 0n]);
      assert.equal(await p.vault.read.feesOf([stranger.account.address]), 0n);
      assert.equal(await p.vault.read.claimableOf([stranger.account.address, []]), 0n);
      assert.equal(getAddress(await p.vault.read.asset()), getAddress(p.usdc.address));
      assert.equal(getAddress(await p.vault.read.registry()), getAddress(p.registry.address));
      assert.equal(getAddress(await p.vault.read.treasury()), getAddress(p.treasury.account.address));
      assert.equal(await p.vault.read.protocolFeeBps(), Number(PROTOCOL_BPS));
      assert.equal(await p.vault.read.withdrawalDelay(), DELAY);
      assert.equal(await p.vault.read.BPS(), 10_000n);
      assert.equal(await p.vault.read.MAX_PROTOCOL_FEE_BPS(), 1_000n);
      assert.equal(await p.vault.read.MAX_WITHDRAWAL_DELAY(), 30n * 86_400n);
      assert.equal(getAddress(await p.vault.read.owner()), getAddress(p.deployer.account.address));
      assert.equal(await p.vault.read.paused(), false);
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
      assert.equal(getAddress(await p.vault.read.treasury()), getAddress(stranger.account.address));
      assert.equal(await p.vault.read.withdrawalDelay(), 30n * 86_400n);
      for (const call of [
        p.vault.write.setProtocolFee([1], { account: stranger.account }),
        p.vault.write.setTreasury([stranger.account.address], { account: stranger.account }),
        p.vault.write.setWithdrawalDelay([1n], { account: stranger.account }),
        p.vault.write.pause({ account: stranger.account }),
        p.vault.write.unpause({ account: stranger.account }),
        p.vault.write.transferOwnership([stranger.account.address], { account: stranger.account }),
        p.vault.write.renounceOwnership({ account: stranger.account }),
        p.vault.write.upgradeToAndCall([p.deployment.contracts.vaultImplementation, "0x"], { account: stranger.account }),
      ]) {
        await viem.assertions.revertWithCustomErrorWithArgs(call, p.vault, "OwnableUnauthorizedAccount", [stranger.account.address]);
      }
      assert.equal(await p.vault.read.protocolFeeBps(), 1_000);
    });

    it("pause and unpause with events; pausing twice or unpausing when running reverts", async () => {
      const { p } = await networkHelpers.loadFixture(fixture);
      await viem.assertions.revertWithCustomError(p.vault.write.unpause(), p.vault, "ExpectedPause");
      await viem.assertions.emitWithArgs(p.vault.write.pause(), p.vault, "Paused", [p.deployer.account.address]);
      assert.equal(await p.vault.read.paused(), true);
      await viem.assertions.revertWithCustomError(p.vault.write.pause(), p.vault, "EnforcedPause");
      await viem.assertions.emitWithArgs(p.vault.write.unpause(), p.vault, "Unpaused", [p.deployer.account.address]);
      assert.equal(await p.vault.read.paused(), false);
    });

    it("ownership moves in two steps", async () => {
      const { p, stranger, bob } = await networkHelpers.loadFixture(fixture);
      await viem.assertions.emitWithArgs(p.vault.write.transferOwnership([stranger.account.address]), p.vault, "OwnershipTransferStarted", [
        p.deployer.account.address,
        stranger.account.address,
      ]);
      assert.equal(getAddress(await p.vault.read.owner()), getAddress(p.deployer.account.address));
      assert.equal(getAddress(await p.vault.read.pendingOwner()), getAddress(stranger.account.address));
      await viem.assertions.revertWithCustomErrorWithArgs(p.vault.write.acceptOwnership({ account: bob.account }), p.vault, "OwnableUnauthorizedAccount", [
        bob.account.address,
      ]);
      await mined(viem, p.vault.write.acceptOwnership({ account: stranger.account }));
      assert.equal(getAddress(await p.vault.read.owner()), getAddress(stranger.account.address));
      await viem.assertions.revertWithCustomErrorWithArgs(p.vault.write.pause(), p.vault, "OwnableUnauthorizedAccount", [p.deployer.account.address]);
      await mined(viem, p.vault.write.pause({ account: stranger.account }));
    });

    it("the proxy and the implementation cannot be initialised again; proxiableUUID only on the implementation", async () => {
      const { p, alice } = await networkHelpers.loadFixture(fixture);
      const args = [alice.account.address, p.usdc.address, p.registry.address, alice.account.address, 0, 0n] as const;
      await viem.assertions.revertWithCustomError(p.vault.write.initialize([...args]), p.vault, "InvalidInitialization");
      const impl = await viem.getContractAt("Vault", p.deployment.contracts.vaultImplementation);
      await viem.assertions.revertWithCustomError(impl.write.initialize([...args]), impl, "InvalidInitialization");
      // ERC-1967 implementation slot: keccak256("eip1967.proxy.implementation") - 1.
      assert.equal(await impl.read.proxiableUUID(), "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc");
      await viem.assertions.revertWithCustomError(p.vault.read.proxiableUUID(), p.vault, "UUPSUnauthorizedCallContext");
      assert.equal(getAddress(await p.vault.read.owner()), getAddress(p.deployer.account.address));
    });

    it("initialize checks its arguments and records them, with events", async () => {
      const { p, alice, stranger } = await networkHelpers.loadFixture(fixture);
      // OZ 5.7's proxy refuses empty init data: a harmless view call leaves the new vault uninitialised.
      const noop = encodeFunctionData({ abi: p.vault.abi, functionName: "BPS" });
      const proxy = await viem.deployContract("ERC1967Proxy", [p.deployment.contracts.vaultImplementation, noop]);
      const fresh = await viem.getContractAt("Vault", proxy.address);
      const good = [alice.account.address, p.usdc.address, p.registry.address, stranger.account.address, 250, 7_200n] as const;
      for (const args of [
        [good[0], zeroAddress, good[2], good[3], good[4], good[5]], // asset
        [good[0], good[1], zeroAddress, good[3], good[4], good[5]], // registry
        [good[0], good[1], good[2], zeroAddress, good[4], good[5]], // treasury
      ] as const) {
        await viem.assertions.revertWithCustomError(fresh.write.initialize([...args]), fresh, "ZeroAddress");
      }
      await viem.assertions.revertWithCustomErrorWithArgs(
        fresh.write.initialize([good[0], good[1], good[2], good[3], 1_001, good[5]]),
        fresh,
        "ProtocolFeeTooHigh",
        [1_001n, 1_000n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        fresh.write.initialize([good[0], good[1], good[2], good[3], good[4], 30n * 86_400n + 1n]),
        fresh,
        "WithdrawalDelayTooLong",
        [30n * 86_400n + 1n, 30n * 86_400n],
      );
      const hash = await fresh.write.initialize([...good]);
      await viem.assertions.emitWithArgs(hash, fresh, "ProtocolFeeSet", [250]);
      await viem.assertions.emitWithArgs(hash, fresh, "TreasurySet", [stranger.account.address]);
      await viem.assertions.emitWithArgs(hash, fresh, "WithdrawalDelaySet", [7_200n]);
      assert.equal(getAddress(await fresh.read.owner()), getAddress(alice.account.address));
      assert.equal(getAddress(await fresh.read.treasury()), getAddress(stranger.account.address));
      assert.equal(await fresh.read.protocolFeeBps(), 250);
      assert.equal(await fresh.read.withdrawalDelay(), 7_200n);
      // Its EIP-712 domain is its own: a voucher digest differs from the deployed vault's.
      const v = { payer: alice.account.address, operator: stranger.account.address, modelId: 1n, lane: 0, cumulativeAmount: 1n, cumulativeCalls: 1n, expiry: 0n };
      assert.notEqual(await fresh.read.voucherDigest([v]), await p.vault.read.voucherDigest([v]));
      await viem.assertions.revertWithCustomError(fresh.write.initialize([...good]), fresh, "InvalidInitialization");
    });
  });
});
