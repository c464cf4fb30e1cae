import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { getAddress, hashDomain, keccak256, parseSignature, toHex, zeroHash, type Address, type Hex } from "viem";
import {
  CANCEL_AUTHORIZATION_TYPES as CANCEL_TYPES,
  EIP712_DOMAIN_FIELDS,
  PERMIT_TYPES,
  RECEIVE_WITH_AUTHORIZATION_TYPES as RECEIVE_TYPES,
  TRANSFER_WITH_AUTHORIZATION_TYPES,
} from "../../sdk/typed-data.ts";
import { latestTimestamp, mined, randomBytes32 } from "../helpers/chain.ts";
import type { Authorization } from "../helpers/protocol.ts";


describe("TestStablecoin", async () => {
  const connection = await network.create();
  const { viem, networkHelpers } = connection;

  async function tokenFixture() {
    const publicClient = await viem.getPublicClient();
    const [deployer, alice, bob, relayer, mallory] = await viem.getWalletClients();
    const usdc = await viem.deployContract("TestStablecoin", ["USD Coin", "USDC"]);
    const wallet = await viem.deployContract("SmartAccount", [alice!.account.address]);
    await mined(viem, usdc.write.mint([alice!.account.address, 1_000_000_000n]));
    await mined(viem, usdc.write.mint([wallet.address, 50_000_000n]));
    const chainId = await publicClient.getChainId();
    return { publicClient, usdc, wallet, chainId, deployer: deployer!, alice: alice!, bob: bob!, relayer: relayer!, mallory: mallory! };
  }
  type Fx = Awaited<ReturnType<typeof tokenFixture>>;
  type Wallet = Fx["alice"];

  function domain(fx: Fx, overrides: { name?: string; chainId?: number; verifyingContract?: Address } = {}) {
    return {
      name: overrides.name ?? "USD Coin",
      version: "2",
      chainId: overrides.chainId ?? fx.chainId,
      verifyingContract: overrides.verifyingContract ?? fx.usdc.address,
    };
  }

  async function signTransfer(fx: Fx, signer: Wallet, auth: Authorization, d = domain(fx)) {
    return signer.signTypedData({
      account: signer.account,
      domain: d,
      types: TRANSFER_WITH_AUTHORIZATION_TYPES,
      primaryType: "TransferWithAuthorization",
      message: auth,
    });
  }

  async function signReceive(fx: Fx, signer: Wallet, auth: Authorization) {
    return signer.signTypedData({
      account: signer.account,
      domain: domain(fx),
      types: RECEIVE_TYPES,
      primaryType: "ReceiveWithAuthorization",
      message: auth,
    });
  }

  async function signCancel(fx: Fx, signer: Wallet, authorizer: Address, nonce: Hex) {
    return signer.signTypedData({
      account: signer.account,
      domain: domain(fx),
      types: CANCEL_TYPES,
      primaryType: "CancelAuthorization",
      message: { authorizer, nonce },
    });
  }

  async function newAuth(fx: Fx, overrides: Partial<Authorization> = {}): Promise<Authorization> {
    const now = await latestTimestamp(viem);
    return {
      from: fx.alice.account.address,
      to: fx.bob.account.address,
      value: 1_234_567n,
      validAfter: 0n,
      validBefore: now + 3600n,
      nonce: randomBytes32(),
      ...overrides,
    };
  }

  const args = (a: Authorization) => [a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce] as const;

  describe("metadata and domain", () => {
    it("name, symbol, 6 decimals; anyone can mint", async () => {
      const fx = await networkHelpers.loadFixture(tokenFixture);
      assert.equal(await fx.usdc.read.name(), "USD Coin");
      assert.equal(await fx.usdc.read.symbol(), "USDC");
      assert.equal(await fx.usdc.read.decimals(), 6);
      await viem.assertions.emitWithArgs(
        fx.usdc.write.mint([fx.bob.account.address, 5n], { account: fx.mallory.account }),
        fx.usdc,
        "Transfer",
        ["0x0000000000000000000000000000000000000000", getAddress(fx.bob.account.address), 5n],
      );
      assert.equal(await fx.usdc.read.balanceOf([fx.bob.account.address]), 5n);
      assert.equal(await fx.usdc.read.totalSupply(), 1_000_000_000n + 50_000_000n + 5n);
    });

    it("EIP-712 domain is USDC's: name 'USD Coin', version '2' (eip712Domain and DOMAIN_SEPARATOR)", async () => {
      const fx = await networkHelpers.loadFixture(tokenFixture);
      const [fields, name, version, chainId, verifyingContract, salt, extensions] = await fx.usdc.read.eip712Domain();
      assert.equal(fields, "0x0f");
      assert.equal(name, "USD Coin");
      assert.equal(version, "2");
      assert.equal(chainId, BigInt(fx.chainId));
      assert.equal(getAddress(verifyingContract), getAddress(fx.usdc.address));
      assert.equal(salt, zeroHash);
      assert.deepEqual(extensions, []);
      const expected = hashDomain({
        domain: { ...domain(fx), chainId: BigInt(fx.chainId) },
        types: EIP712_DOMAIN_FIELDS,
      });
      assert.equal(await fx.usdc.read.DOMAIN_SEPARATOR(), expected);
    });

    it("type hashes are the EIP-2612 / EIP-3009 ones", async () => {
      const fx = await networkHelpers.loadFixture(tokenFixture);
      const h = (s: string) => keccak256(toHex(s));
      assert.equal(await fx.usdc.read.PERMIT_TYPEHASH(), h("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"));
      assert.equal(
        await fx.usdc.read.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(),
        h("TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"),
      );
      assert.equal(
        await fx.usdc.read.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(),
        h("ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"),
      );
      assert.equal(await fx.usdc.read.CANCEL_AUTHORIZATION_TYPEHASH(), h("CancelAuthorization(address authorizer,bytes32 nonce)"));
    });
  });

  describe("permit (EIP-2612)", () => {
    async function signPermit(fx: Fx, signer: Wallet, msg: { owner: Address; spender: Address; value: bigint; nonce: bigint; deadline: bigint }) {
      const sig = await signer.signTypedData({
        account: signer.account,
        domain: domain(fx),
        types: PERMIT_TYPES,
        primaryType: "Permit",
        message: msg,
      });
      return parseSignature(sig);
    }

    it("sets the allowance, emits Approval, bumps the nonce; replay reverts InvalidSignature", async () => {
      const fx = await networkHelpers.loadFixture(tokenFixture);
      const owner = fx.alice.account.address;
      const spender = fx.bob.account.address;
      const deadline = (await latestTimestamp(viem)) + 600n;
      const msg = { owner, spender, value: 777n, nonce: 0n, deadline };
      const { v, r, s } = await signPermit(fx, fx.alice, msg);
      await viem.assertions.emitWithArgs(
        fx.usdc.write.permit([owner, spender, 777n, deadline, Number(v), r, s], { account: fx.relayer.account }),
        fx.usdc,
        "Approval",
        [getAddress(owner), getAddress(spender), 777n],
      );
      assert.equal(await fx.usdc.read.allowance([owner, spender]), 777n);
      assert.equal(await fx.usdc.read.nonces([owner]), 1n);
      await viem.assertions.revertWithCustomError(
        fx.usdc.write.permit([owner, spender, 777n, deadline, Number(v), r, s]),
        fx.usdc,
        "InvalidSignature",
      );
      // The next nonce works.
      const second = await signPermit(fx, fx.alice, { ...msg, value: 1n, nonce: 1n });
      await mined(viem, fx.usdc.write.permit([owner, spender, 1n, deadline, Number(second.v), second.r, second.s]));
      assert.equal(await fx.usdc.read.allowance([owner, spender]), 1n);
      assert.equal(await fx.usdc.read.nonces([owner]), 2n);
    });

    it("deadline == block time is accepted; deadline < block time reverts PermitExpired(deadline)", async () => {
      const fx = await networkHelpers.loadFixture(tokenFixture);
      const owner = fx.alice.account.address;
      const spender = fx.bob.account.address;
      const t = (await latestTimestamp(viem)) + 100n;
      const ok = await signPermit(fx, fx.alice, { owner, spender, value: 5n, nonce: 0n, deadline: t });
      await networkHelpers.time.setNextBlockTimestamp(t);
      await mined(viem, fx.usdc.write.permit([owner, spender, 5n, t, Number(ok.v), ok.r, ok.s]));
      assert.equal(await fx.usdc.read.allowance([owner, spender]), 5n);

      const late = await signPermit(fx, fx.alice, { owner, spender, value: 6n, nonce: 1n, deadline: t });
      await networkHelpers.time.setNextBlockTimestamp(t + 1n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        fx.usdc.write.permit([owner, spender, 6n, t, Number(late.v), late.r, late.s]),
        fx.usdc,
        "PermitExpired",
        [t],
      );
      assert.equal(await fx.usdc.read.nonces([owner]), 1n, "a failed permit does not consume the nonce");
    });

    it("a wrong signer or tampered value reverts InvalidSignature", async () => {
      const fx = await networkHelpers.loadFixture(tokenFixture);
      const owner = fx.alice.account.address;
      const spender = fx.mallory.account.address;
      const deadline = (await latestTimestamp(viem)) + 600n;
      const msg = { owner, spender, value: 10n, nonce: 0n, deadline };
      const byMallory = await signPermit(fx, fx.mallory, msg);
      await viem.assertions.revertWithCustomError(
        fx.usdc.write.permit([owner, spender, 10n, deadline, Number(byMallory.v), byMallory.r, byMallory.s]),
        fx.usdc,
        "InvalidSignature",
      );
      const byAlice = await signPermit(fx, fx.alice, msg);
      await viem.assertions.revertWithCustomError(
        fx.usdc.write.permit([owner, spender, 11n, deadline, Number(byAlice.v), byAlice.r, byAlice.s]),
        fx.usdc,
        "InvalidSignature",
      );
      assert.equal(await fx.usdc.read.allowance([owner, spender]), 0n);
    });

    it("an ERC-1271 wallet can permit through its owner's signature", async () => {
      const fx = await networkHelpers.loadFixture(tokenFixture);
      const owner = fx.wallet.address;
      const spender = fx.bob.account.address;
      const deadline = (await latestTimestamp(viem)) + 600n;
      const { v, r, s } = await signPermit(fx, fx.alice, { owner, spender, value: 9n, nonce: 0n, deadline });
      await mined(viem, fx.usdc.write.permit([owner, spender, 9n, deadline, Number(v), r, s]));
      assert.equal(await fx.usdc.read.allowance([owner, spender]), 9n);
    });
  });

  describe("transferWithAuthorization (EIP-3009)", () => {
    it("bytes signature: moves the funds, emits AuthorizationUsed, marks the nonce; anyone may submit", async () => {
      const fx = await networkHelpers.loadFixture(tokenFixture);
      const auth = await newAuth(fx);
      const signature = await signTransfer(fx, fx.alice, auth);
      assert.equal(await fx.usdc.read.authorizationState([auth.from, auth.nonce]), false);
      const hash = await fx.usdc.write.transferWithAuthorization([...args(auth), signature], { account: fx.relayer.account });
      await viem.assertions.emitWithArgs(Promise.resolve(hash), fx.usdc, "AuthorizationUsed", [getAddress(auth.from), auth.nonce]);
      await viem.assertions.emitWithArgs(Promise.resolve(hash), fx.usdc, "Transfer", [getAddress(auth.from), getAddress(auth.to), auth.value]);
      assert.equal(await fx.usdc.read.balanceOf([auth.to]), auth.value);
      assert.equal(await fx.usdc.read.balanceOf([auth.from]), 1_000_000_000n - auth.value);
      assert.equal(await fx.usdc.read.authorizationState([auth.from, auth.nonce]), true);
      await viem.assertions.revertWithCustomErrorWithArgs(
        fx.usdc.write.transferWithAuthorization([...args(auth), signature]),
        fx.usdc,
        "AuthorizationAlreadyUsed",
        [getAddress(auth.from), auth.nonce],
      );
    });

    it("(v, r, s) overload: moves the funds; a bad signature reverts InvalidSignature", async () => {
      const fx = await networkHelpers.loadFixture(tokenFixture);
      const auth = await newAuth(fx, { value: 42n });
      const { v, r, s } = parseSignature(await signTransfer(fx, fx.alice, auth));
      await mined(viem, fx.usdc.write.transferWithAuthorization([...args(auth), Number(v), r, s], { account: fx.relayer.account }));
      assert.equal(await fx.usdc.read.balanceOf([auth.to]), 42n);
      assert.equal(await fx.usdc.read.authorizationState([auth.from, auth.nonce]), true);

      const other = await newAuth(fx, { value: 43n });
      const bad = parseSignature(await signTransfer(fx, fx.mallory, other));
      await viem.assertions.revertWithCustomError(
        fx.usdc.write.transferWithAuthorization([...args(other), Number(bad.v), bad.r, bad.s]),
        fx.usdc,
        "InvalidSignature",
      );
      // v,r,s replay of the first authorization
      await viem.assertions.revertWithCustomErrorWithArgs(
        fx.usdc.write.transferWithAuthorization([...args(auth), Number(v), r, s]),
        fx.usdc,
        "AuthorizationAlreadyUsed",
        [getAddress(auth.from), auth.nonce],
      );
    });

    it("validity window: now <= validAfter reverts NotYetValid; now >= validBefore reverts Expired; inside works", async () => {
      const fx = await networkHelpers.loadFixture(tokenFixture);
      const t = (await latestTimestamp(viem)) + 1_000n;
      const auth = await newAuth(fx, { validAfter: t, validBefore: t + 10n });
      const signature = await signTransfer(fx, fx.alice, auth);

      await networkHelpers.time.setNextBlockTimestamp(t);
      await viem.assertions.revertWithCustomErrorWithArgs(
        fx.usdc.write.transferWithAuthorization([...args(auth), signature]),
        fx.usdc,
        "AuthorizationNotYetValid",
        [t],
      );
      await networkHelpers.time.setNextBlockTimestamp(t + 10n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        fx.usdc.write.transferWithAuthorization([...args(auth), signature]),
        fx.usdc,
        "AuthorizationExpired",
        [t + 10n],
      );
      assert.equal(await fx.usdc.read.authorizationState([auth.from, auth.nonce]), false);

      // Inside the window, at validAfter + 1 and validBefore - 1.
      const snapshot = await networkHelpers.takeSnapshot();
      await networkHelpers.time.setNextBlockTimestamp(t + 1n);
      await mined(viem, fx.usdc.write.transferWithAuthorization([...args(auth), signature]));
      assert.equal(await fx.usdc.read.balanceOf([auth.to]), auth.value);
      await snapshot.restore();
      await networkHelpers.time.setNextBlockTimestamp(t + 9n);
      await mined(viem, fx.usdc.write.transferWithAuthorization([...args(auth), signature]));
      assert.equal(await fx.usdc.read.balanceOf([auth.to]), auth.value);
    });

    it("wrong signer, tampered fields, wrong domain (name, chain, contract) revert InvalidSignature", async () => {
      const fx = await networkHelpers.loadFixture(tokenFixture);
      const auth = await newAuth(fx);
      const good = await signTransfer(fx, fx.alice, auth);
      const cases: [Authorization, Hex][] = [
        [auth, await signTransfer(fx, fx.mallory, auth)],
        [{ ...auth, value: auth.value + 1n }, good],
        [{ ...auth, to: fx.mallory.account.address }, good],
        [{ ...auth, validBefore: auth.validBefore + 1n }, good],
        [{ ...auth, nonce: randomBytes32() }, good],
        [auth, await signTransfer(fx, fx.alice, auth, domain(fx, { name: "USDC" }))],
        [auth, await signTransfer(fx, fx.alice, auth, domain(fx, { chainId: fx.chainId + 1 }))],
        [auth, await signTransfer(fx, fx.alice, auth, domain(fx, { verifyingContract: fx.wallet.address }))],
        [auth, "0x"],
        [auth, `0x${"11".repeat(65)}`],
      ];
      for (const [a, sig] of cases) {
        await viem.assertions.revertWithCustomError(fx.usdc.write.transferWithAuthorization([...args(a), sig]), fx.usdc, "InvalidSignature");
      }
      // A receiveWithAuthorization signature is not a transfer authorization.
      const asReceive = await signReceive(fx, fx.alice, auth);
      await viem.assertions.revertWithCustomError(fx.usdc.write.transferWithAuthorization([...args(auth), asReceive]), fx.usdc, "InvalidSignature");
      // The genuine one still works afterwards.
      await mined(viem, fx.usdc.write.transferWithAuthorization([...args(auth), good]));
      assert.equal(await fx.usdc.read.balanceOf([auth.to]), auth.value);
    });

    it("nonces are per authorizer; an insufficient balance reverts and leaves the nonce unused", async () => {
      const fx = await networkHelpers.loadFixture(tokenFixture);
      await mined(viem, fx.usdc.write.mint([fx.bob.account.address, 100n]));
      const nonce = randomBytes32();
      const a1 = await newAuth(fx, { nonce, value: 10n });
      const a2 = await newAuth(fx, { nonce, from: fx.bob.account.address, to: fx.alice.account.address, value: 10n });
      await mined(viem, fx.usdc.write.transferWithAuthorization([...args(a1), await signTransfer(fx, fx.alice, a1)]));
      await mined(viem, fx.usdc.write.transferWithAuthorization([...args(a2), await signTransfer(fx, fx.bob, a2)]));
      assert.equal(await fx.usdc.read.authorizationState([fx.alice.account.address, nonce]), true);
      assert.equal(await fx.usdc.read.authorizationState([fx.bob.account.address, nonce]), true);

      const tooMuch = await newAuth(fx, { from: fx.bob.account.address, value: 1_000n });
      await viem.assertions.revertWithCustomErrorWithArgs(
        fx.usdc.write.transferWithAuthorization([...args(tooMuch), await signTransfer(fx, fx.bob, tooMuch)]),
        fx.usdc,
        "ERC20InsufficientBalance",
        [getAddress(fx.bob.account.address), 100n, 1_000n],
      );
      assert.equal(await fx.usdc.read.authorizationState([fx.bob.account.address, tooMuch.nonce]), false);
    });

    it("an ERC-1271 wallet pays through its owner's signature; a stranger's signature is rejected", async () => {
      const fx = await networkHelpers.loadFixture(tokenFixture);
      const auth = await newAuth(fx, { from: fx.wallet.address, value: 3_000_000n });
      await viem.assertions.revertWithCustomError(
        fx.usdc.write.transferWithAuthorization([...args(auth), await signTransfer(fx, fx.mallory, auth)]),
        fx.usdc,
        "InvalidSignature",
      );
      await mined(viem, fx.usdc.write.transferWithAuthorization([...args(auth), await signTransfer(fx, fx.alice, auth)]));
      assert.equal(await fx.usdc.read.balanceOf([fx.wallet.address]), 50_000_000n - 3_000_000n);
      assert.equal(await fx.usdc.read.balanceOf([auth.to]), 3_000_000n);
    });
  });

  describe("receiveWithAuthorization", () => {
    it("only the payee may submit (CallerMustBePayee); the payee receives", async () => {
      const fx = await networkHelpers.loadFixture(tokenFixture);
      const auth = await newAuth(fx, { value: 55n });
      const signature = await signReceive(fx, fx.alice, auth);
      await viem.assertions.revertWithCustomErrorWithArgs(
        fx.usdc.write.receiveWithAuthorization([...args(auth), signature], { account: fx.relayer.account }),
        fx.usdc,
        "CallerMustBePayee",
        [getAddress(fx.relayer.account.address), getAddress(auth.to)],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        fx.usdc.write.receiveWithAuthorization([...args(auth), signature], { account: fx.alice.account }),
        fx.usdc,
        "CallerMustBePayee",
        [getAddress(fx.alice.account.address), getAddress(auth.to)],
      );
      await viem.assertions.emitWithArgs(
        fx.usdc.write.receiveWithAuthorization([...args(auth), signature], { account: fx.bob.account }),
        fx.usdc,
        "AuthorizationUsed",
        [getAddress(auth.from), auth.nonce],
      );
      assert.equal(await fx.usdc.read.balanceOf([auth.to]), 55n);
      assert.equal(await fx.usdc.read.authorizationState([auth.from, auth.nonce]), true);
      await viem.assertions.revertWithCustomErrorWithArgs(
        fx.usdc.write.receiveWithAuthorization([...args(auth), signature], { account: fx.bob.account }),
        fx.usdc,
        "AuthorizationAlreadyUsed",
        [getAddress(auth.from), auth.nonce],
      );
    });

    it("a TransferWithAuthorization signature is not accepted; window and expiry are enforced", async () => {
      const fx = await networkHelpers.loadFixture(tokenFixture);
      const auth = await newAuth(fx);
      await viem.assertions.revertWithCustomError(
        fx.usdc.write.receiveWithAuthorization([...args(auth), await signTransfer(fx, fx.alice, auth)], { account: fx.bob.account }),
        fx.usdc,
        "InvalidSignature",
      );
      const now = await latestTimestamp(viem);
      const early = await newAuth(fx, { validAfter: now + 1_000n, validBefore: now + 2_000n });
      await viem.assertions.revertWithCustomErrorWithArgs(
        fx.usdc.write.receiveWithAuthorization([...args(early), await signReceive(fx, fx.alice, early)], { account: fx.bob.account }),
        fx.usdc,
        "AuthorizationNotYetValid",
        [now + 1_000n],
      );
      const late = await newAuth(fx, { validBefore: now });
      await viem.assertions.revertWithCustomErrorWithArgs(
        fx.usdc.write.receiveWithAuthorization([...args(late), await signReceive(fx, fx.alice, late)], { account: fx.bob.account }),
        fx.usdc,
        "AuthorizationExpired",
        [now],
      );
    });
  });

  describe("cancelAuthorization", () => {
    it("burns an unused nonce (AuthorizationCanceled); the authorization can no longer be used", async () => {
      const fx = await networkHelpers.loadFixture(tokenFixture);
      const auth = await newAuth(fx);
      const transferSig = await signTransfer(fx, fx.alice, auth);
      const cancelSig = await signCancel(fx, fx.alice, auth.from, auth.nonce);
      await viem.assertions.emitWithArgs(
        fx.usdc.write.cancelAuthorization([auth.from, auth.nonce, cancelSig], { account: fx.relayer.account }),
        fx.usdc,
        "AuthorizationCanceled",
        [getAddress(auth.from), auth.nonce],
      );
      assert.equal(await fx.usdc.read.authorizationState([auth.from, auth.nonce]), true);
      await viem.assertions.revertWithCustomErrorWithArgs(
        fx.usdc.write.transferWithAuthorization([...args(auth), transferSig]),
        fx.usdc,
        "AuthorizationAlreadyUsed",
        [getAddress(auth.from), auth.nonce],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        fx.usdc.write.cancelAuthorization([auth.from, auth.nonce, cancelSig]),
        fx.usdc,
        "AuthorizationAlreadyUsed",
        [getAddress(auth.from), auth.nonce],
      );
      assert.equal(await fx.usdc.read.balanceOf([auth.to]), 0n);
    });

    it("cannot cancel a used nonce; a wrong signer reverts InvalidSignature", async () => {
      const fx = await networkHelpers.loadFixture(tokenFixture);
      const auth = await newAuth(fx);
      await mined(viem, fx.usdc.write.transferWithAuthorization([...args(auth), await signTransfer(fx, fx.alice, auth)]));
      await viem.assertions.revertWithCustomErrorWithArgs(
        fx.usdc.write.cancelAuthorization([auth.from, auth.nonce, await signCancel(fx, fx.alice, auth.from, auth.nonce)]),
        fx.usdc,
        "AuthorizationAlreadyUsed",
        [getAddress(auth.from), auth.nonce],
      );
      const fresh = randomBytes32();
      await viem.assertions.revertWithCustomError(
        fx.usdc.write.cancelAuthorization([fx.alice.account.address, fresh, await signCancel(fx, fx.mallory, fx.alice.account.address, fresh)]),
        fx.usdc,
        "InvalidSignature",
      );
      assert.equal(await fx.usdc.read.authorizationState([fx.alice.account.address, fresh]), false);
    });
  });
});
