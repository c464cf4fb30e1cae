import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { getAddress, hashDomain, parseSignature, zeroAddress, type Address } from "viem";
import { deployProtocol, fund, mintModel, signVoucher } from "../helpers/protocol.ts";
import { impersonate, latestTimestamp, mined } from "../helpers/chain.ts";
import { EIP712_DOMAIN_FIELDS, PERMIT_TYPES } from "../../sdk/typed-data.ts";

const SCALE = 10n ** 36n;
const BPS = 10_000n;
const E18 = 10n ** 18n;

/**
 * Exact pro-rata ledger, independent of the contract: each holder's entitlement is kept as a numerator over the
 * (fixed) supply, so `floor(num / supply)` is the holder's exact share rounded down.
 */
class Ledger {
  readonly supply: bigint;
  readonly balances = new Map<string, bigint>();
  readonly earnedNum = new Map<string, bigint>();
  readonly claimed = new Map<string, bigint>();
  total = 0n;

  constructor(holdings: [Address, bigint][]) {
    for (const [a, b] of holdings) this.balances.set(a.toLowerCase(), (this.balances.get(a.toLowerCase()) ?? 0n) + b);
    this.supply = [...this.balances.values()].reduce((s, v) => s + v, 0n);
  }
  distribute(amount: bigint) {
    this.total += amount;
    for (const [h, b] of this.balances) this.earnedNum.set(h, (this.earnedNum.get(h) ?? 0n) + amount * b);
  }
  transfer(from: Address, to: Address, value: bigint) {
    const f = from.toLowerCase();
    const t = to.toLowerCase();
    this.balances.set(f, this.balances.get(f)! - value);
    this.balances.set(t, (this.balances.get(t) ?? 0n) + value);
  }
  claim(holder: Address, amount: bigint) {
    const h = holder.toLowerCase();
    this.claimed.set(h, (this.claimed.get(h) ?? 0n) + amount);
  }
  /** floor(exact entitlement) - already claimed. */
  expected(holder: Address) {
    const h = holder.toLowerCase();
    return (this.earnedNum.get(h) ?? 0n) / this.supply - (this.claimed.get(h) ?? 0n);
  }
  holders(): Address[] {
    return [...this.balances.keys()] as Address[];
  }
}

describe("ModelShares", async () => {
  const connection = await network.create();
  const { viem, networkHelpers } = connection;

  /** A model with three holders whose balances do not divide round numbers, and the vault impersonated. */
  async function sharesFixture() {
    const p = await deployProtocol(viem);
    const [alice, bob, carol, dave] = p.others;
    const holdings: [Address, bigint][] = [
      [alice!.account.address, 7n * E18 + 3n],
      [bob!.account.address, 5n * E18],
      [carol!.account.address, 1n * E18 + 1n],
    ];
    const { modelId, shares } = await mintModel(p, viem, {
      holders: holdings.map(([address, amount]) => ({ address, amount })),
      label: "shares-fixture",
    });
    await impersonate(connection, p.vault.address);
    await impersonate(connection, p.registry.address);
    return { p, modelId, shares, holdings, alice: alice!, bob: bob!, carol: carol!, dave: dave! };
  }

  type Fx = Awaited<ReturnType<typeof sharesFixture>>;

  async function addRevenue(fx: Fx, amount: bigint) {
    return mined(viem, fx.shares.write.addRevenue([amount], { account: fx.p.vault.address }));
  }

  /** Σ(rps·balance + correction) + dust == SCALE · (totalRevenue − claimed): the accumulator loses nothing. */
  async function assertAccumulatorExact(fx: Fx, holders: Address[], totalClaimed: bigint) {
    const rps = await fx.shares.read.revenuePerShare();
    const dust = await fx.shares.read.carriedDust();
    let sum = 0n;
    for (const h of holders) {
      sum += rps * (await fx.shares.read.balanceOf([h])) + (await fx.shares.read.correctionOf([h]));
    }
    const totalRevenue = await fx.shares.read.totalRevenue();
    assert.equal(sum + dust, SCALE * (totalRevenue - totalClaimed), "accumulator + dust accounts for every unit");
    assert.ok(dust < (await fx.shares.read.totalSupply()), "dust is below one accumulator step");
  }

  describe("metadata", () => {
    it("name, symbol, decimals, modelId, immutables and supply", async () => {
      const fx = await networkHelpers.loadFixture(sharesFixture);
      assert.equal(await fx.shares.read.name(), `Modelshare #${fx.modelId}`);
      assert.equal(await fx.shares.read.symbol(), `MS${fx.modelId}`);
      assert.equal(await fx.shares.read.decimals(), 18);
      assert.equal(await fx.shares.read.modelId(), fx.modelId);
      assert.equal(getAddress(await fx.shares.read.registry()), getAddress(fx.p.registry.address));
      assert.equal(getAddress(await fx.shares.read.vault()), getAddress(fx.p.vault.address));
      assert.equal(getAddress(await fx.shares.read.asset()), getAddress(fx.p.usdc.address));
      assert.equal(await fx.shares.read.totalSupply(), fx.holdings.reduce((s, [, b]) => s + b, 0n));
      assert.equal(await fx.shares.read.revenuePerShare(), 0n);
      assert.equal(await fx.shares.read.totalRevenue(), 0n);
      assert.equal(await fx.shares.read.carriedDust(), 0n);
    });

    it("multi-digit model ids appear in name and symbol", async () => {
      const fx = await networkHelpers.loadFixture(sharesFixture);
      let last = fx.modelId;
      let token = fx.shares;
      while (last < 12n) {
        const m = await mintModel(fx.p, viem, { label: `digits-${last}` });
        last = m.modelId;
        token = m.shares;
      }
      assert.equal(await token.read.name(), "Modelshare #12");
      assert.equal(await token.read.symbol(), "MS12");
      assert.equal(await token.read.modelId(), 12n);
    });
  });

  describe("access control", () => {
    it("initialize: only the registry (OnlyRegistry), and only once (AlreadyInitialized)", async () => {
      const fx = await networkHelpers.loadFixture(sharesFixture);
      const args = [[fx.dave.account.address], [1n]] as const;
      await viem.assertions.revertWithCustomError(
        fx.shares.write.initialize(args, { account: fx.dave.account }),
        fx.shares,
        "OnlyRegistry",
      );
      await viem.assertions.revertWithCustomError(
        fx.shares.write.initialize(args, { account: fx.p.vault.address }),
        fx.shares,
        "OnlyRegistry",
      );
      await viem.assertions.revertWithCustomError(
        fx.shares.write.initialize(args, { account: fx.p.registry.address }),
        fx.shares,
        "AlreadyInitialized",
      );
      assert.equal(await fx.shares.read.balanceOf([fx.dave.account.address]), 0n);
      // The implementation refuses strangers too.
      const impl = await viem.getContractAt("ModelShares", fx.p.sharesImpl.address);
      await viem.assertions.revertWithCustomError(impl.write.initialize(args, { account: fx.dave.account }), impl, "OnlyRegistry");
    });

    it("addRevenue, claimFor and forward: only the vault (OnlyVault)", async () => {
      const fx = await networkHelpers.loadFixture(sharesFixture);
      for (const account of [fx.dave.account, fx.alice.account, fx.p.deployer.account]) {
        await viem.assertions.revertWithCustomError(fx.shares.write.addRevenue([1n], { account }), fx.shares, "OnlyVault");
        await viem.assertions.revertWithCustomError(
          fx.shares.write.claimFor([fx.alice.account.address], { account }),
          fx.shares,
          "OnlyVault",
        );
        await viem.assertions.revertWithCustomError(fx.shares.write.forward([0n], { account }), fx.shares, "OnlyVault");
      }
      await viem.assertions.revertWithCustomError(
        fx.shares.write.addRevenue([1n], { account: fx.p.registry.address }),
        fx.shares,
        "OnlyVault",
      );
    });
  });

  describe("transfers", () => {
    it("to the share contract itself reverts TransferToShareContract (transfer and transferFrom)", async () => {
      const fx = await networkHelpers.loadFixture(sharesFixture);
      await viem.assertions.revertWithCustomError(
        fx.shares.write.transfer([fx.shares.address, 1n], { account: fx.alice.account }),
        fx.shares,
        "TransferToShareContract",
      );
      await mined(viem, fx.shares.write.approve([fx.bob.account.address, 10n], { account: fx.alice.account }));
      await viem.assertions.revertWithCustomError(
        fx.shares.write.transferFrom([fx.alice.account.address, fx.shares.address, 1n], { account: fx.bob.account }),
        fx.shares,
        "TransferToShareContract",
      );
      assert.equal(await fx.shares.read.balanceOf([fx.shares.address]), 0n);
    });

    it("to the zero address reverts ERC20InvalidReceiver; above balance reverts ERC20InsufficientBalance", async () => {
      const fx = await networkHelpers.loadFixture(sharesFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        fx.shares.write.transfer([zeroAddress, 1n], { account: fx.alice.account }),
        fx.shares,
        "ERC20InvalidReceiver",
        [zeroAddress],
      );
      const bal = await fx.shares.read.balanceOf([fx.carol.account.address]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        fx.shares.write.transfer([fx.dave.account.address, bal + 1n], { account: fx.carol.account }),
        fx.shares,
        "ERC20InsufficientBalance",
        [getAddress(fx.carol.account.address), bal, bal + 1n],
      );
    });

    it("to self leaves balance, claimable and correction unchanged", async () => {
      const fx = await networkHelpers.loadFixture(sharesFixture);
      await addRevenue(fx, 1_000_003n);
      const a = fx.alice.account.address;
      const before = [await fx.shares.read.balanceOf([a]), await fx.shares.read.claimable([a]), await fx.shares.read.correctionOf([a])];
      await viem.assertions.emitWithArgs(
        fx.shares.write.transfer([a, 3n * E18], { account: fx.alice.account }),
        fx.shares,
        "Transfer",
        [getAddress(a), getAddress(a), 3n * E18],
      );
      const after = [await fx.shares.read.balanceOf([a]), await fx.shares.read.claimable([a]), await fx.shares.read.correctionOf([a])];
      assert.deepEqual(after, before);
      assert.ok(before[1]! > 0n);
    });

    it("transfers before any revenue record no correction", async () => {
      const fx = await networkHelpers.loadFixture(sharesFixture);
      await mined(viem, fx.shares.write.transfer([fx.dave.account.address, 5n], { account: fx.alice.account }));
      assert.equal(await fx.shares.read.correctionOf([fx.alice.account.address]), 0n);
      assert.equal(await fx.shares.read.correctionOf([fx.dave.account.address]), 0n);
    });
  });

  describe("royalty accounting", () => {
    it("addRevenue raises revenuePerShare by floor((amount·1e36 + dust)/supply) and emits RevenueDistributed", async () => {
      const fx = await networkHelpers.loadFixture(sharesFixture);
      const supply = await fx.shares.read.totalSupply();
      let rps = 0n;
      let dust = 0n;
      for (const amount of [1n, 999_999n, 12_345_678_901n]) {
        const scaled = amount * SCALE + dust;
        rps += scaled / supply;
        dust = scaled % supply;
        await viem.assertions.emitWithArgs(
          fx.shares.write.addRevenue([amount], { account: fx.p.vault.address }),
          fx.shares,
          "RevenueDistributed",
          [amount, rps],
        );
        assert.equal(await fx.shares.read.revenuePerShare(), rps);
        assert.equal(await fx.shares.read.carriedDust(), dust);
      }
      assert.equal(await fx.shares.read.totalRevenue(), 1n + 999_999n + 12_345_678_901n);
    });

    it("revenue, mid-stream transfers, more revenue: each claimable is the exact pro-rata share, floored", async () => {
      const fx = await networkHelpers.loadFixture(sharesFixture);
      const ledger = new Ledger(fx.holdings);
      const everyone = [fx.alice, fx.bob, fx.carol, fx.dave].map((w) => w.account.address);
      const check = async (label: string) => {
        for (const h of everyone) {
          assert.equal(await fx.shares.read.claimable([h]), ledger.expected(h), `${label}: ${h}`);
        }
        await assertAccumulatorExact(fx, everyone, 0n);
      };

      await addRevenue(fx, 1_000_003n);
      ledger.distribute(1_000_003n);
      await check("after first revenue");

      // Transfers move no royalties: claimables are identical right after.
      const before = await Promise.all(everyone.map((h) => fx.shares.read.claimable([h])));
      await mined(viem, fx.shares.write.transfer([fx.dave.account.address, 2n * E18 + 1n], { account: fx.alice.account }));
      ledger.transfer(fx.alice.account.address, fx.dave.account.address, 2n * E18 + 1n);
      await mined(viem, fx.shares.write.approve([fx.bob.account.address, E18], { account: fx.carol.account }));
      await mined(
        viem,
        fx.shares.write.transferFrom([fx.carol.account.address, fx.bob.account.address, E18], { account: fx.bob.account }),
      );
      ledger.transfer(fx.carol.account.address, fx.bob.account.address, E18);
      assert.deepEqual(await Promise.all(everyone.map((h) => fx.shares.read.claimable([h]))), before);
      await check("after transfers");

      for (const amount of [7_777_777n, 3n, 424_242_424_242n]) {
        await addRevenue(fx, amount);
        ledger.distribute(amount);
        await check(`after ${amount}`);
      }
      // Dave only earned from the second phase; Carol (now 1 wei) keeps her first-phase royalties.
      assert.ok((await fx.shares.read.claimable([fx.dave.account.address])) > 0n);
      assert.equal(await fx.shares.read.balanceOf([fx.carol.account.address]), 1n);
    });

    it("claimFor pays what was claimable, emits RoyaltiesClaimed, and accrual continues exactly", async () => {
      const fx = await networkHelpers.loadFixture(sharesFixture);
      const ledger = new Ledger(fx.holdings);
      const everyone = [fx.alice, fx.bob, fx.carol, fx.dave].map((w) => w.account.address);
      await addRevenue(fx, 5_000_000_001n);
      ledger.distribute(5_000_000_001n);
      const a = fx.alice.account.address;
      const due = ledger.expected(a);
      const { result } = await fx.shares.simulate.claimFor([a], { account: fx.p.vault.address });
      assert.equal(result, due);
      await viem.assertions.emitWithArgs(
        fx.shares.write.claimFor([a], { account: fx.p.vault.address }),
        fx.shares,
        "RoyaltiesClaimed",
        [getAddress(a), due],
      );
      ledger.claim(a, due);
      assert.equal(await fx.shares.read.claimable([a]), 0n);
      await assertAccumulatorExact(fx, everyone, due);

      // Nothing due: returns 0 and emits nothing.
      const { result: zero } = await fx.shares.simulate.claimFor([a], { account: fx.p.vault.address });
      assert.equal(zero, 0n);
      const receipt = await mined(viem, fx.shares.write.claimFor([a], { account: fx.p.vault.address }));
      assert.equal(receipt.logs.length, 0);

      // Claimed holder transfers, then more revenue.
      await mined(viem, fx.shares.write.transfer([fx.dave.account.address, 4n * E18], { account: fx.alice.account }));
      ledger.transfer(a, fx.dave.account.address, 4n * E18);
      await addRevenue(fx, 999_999_999n);
      ledger.distribute(999_999_999n);
      for (const h of everyone) assert.equal(await fx.shares.read.claimable([h]), ledger.expected(h), h);
      await assertAccumulatorExact(fx, everyone, due);
    });

    it("dust: non-dividing amounts are carried; claimables never exceed the total; the accumulator loses nothing", async () => {
      const fx = await networkHelpers.loadFixture(sharesFixture);
      const ledger = new Ledger(fx.holdings);
      const holders = ledger.holders();
      for (const amount of [1n, 2n, 3n, 7n, 11n, 13n, 1_000_001n, 5n, 17n]) {
        await addRevenue(fx, amount);
        ledger.distribute(amount);
        let sum = 0n;
        for (const h of holders) {
          const c = await fx.shares.read.claimable([h]);
          // Provable bound of the accumulator (see the BUG test below for why it is not exactly floor(exact)).
          assert.ok(c <= ledger.expected(h) && c >= ledger.expected(h) - 1n, `${h}: ${c} vs ${ledger.expected(h)}`);
          sum += c;
        }
        const dust = await fx.shares.read.carriedDust();
        assert.ok(sum <= ledger.total, "never more than paid in");
        assert.ok(ledger.total - sum <= BigInt(holders.length), `shortfall ${ledger.total - sum} at most the holder count`);
        assert.ok(sum * SCALE + dust <= ledger.total * SCALE);
        await assertAccumulatorExact(fx, holders, 0n);
      }
      // After the last distribution the carried dust has been released: every holder is at floor(exact) again.
      for (const h of holders) assert.equal(await fx.shares.read.claimable([h]), ledger.expected(h), h);
    });

    it("claimable is floor(exact share), or one unit less only when the share is within balance/1e36 above an integer", async () => {
      // Supply 13e18+4 (alice 7e18+3, bob 5e18, carol 1e18+1). After 1, 2, 3 and 7 units, alice's exact share is
      // 7.0000000000000000008 and carol's 1.0000000000000000007: the floored accumulator sits a hair below exact, so
      // they get one unit less, as the documented bound allows; bob (4.99...) gets exactly floor.
      const fx = await networkHelpers.loadFixture(sharesFixture);
      const ledger = new Ledger(fx.holdings);
      for (const amount of [1n, 2n, 3n, 7n]) {
        await addRevenue(fx, amount);
        ledger.distribute(amount);
      }
      let short = 0;
      for (const h of ledger.holders()) {
        const got = await fx.shares.read.claimable([h]);
        const want = ledger.expected(h);
        const balance = ledger.balances.get(h.toLowerCase())!;
        const fractionNum = ledger.earnedNum.get(h.toLowerCase())! % ledger.supply; // fractional part * supply
        if (got === want - 1n) {
          short++;
          assert.ok(fractionNum * SCALE < balance * ledger.supply, `${h} is short although its fraction is large`);
        } else {
          assert.equal(got, want, h);
        }
      }
      assert.equal(short, 2, "alice and carol sit just above an integer");
      // 6 more units (19 in all) put every exact share well away from an integer: all at floor(exact) again.
      await addRevenue(fx, 6n);
      ledger.distribute(6n);
      for (const h of ledger.holders()) assert.equal(await fx.shares.read.claimable([h]), ledger.expected(h), h);
    });

    it("one unit of revenue raises the accumulator even at the maximum supply (2^96 - 1)", async () => {
      const p = await deployProtocol(viem);
      const max = 2n ** 96n - 1n;
      const { shares } = await mintModel(p, viem, { holders: [{ address: p.deployer.account.address, amount: max }] });
      await impersonate(connection, p.vault.address);
      await mined(viem, shares.write.addRevenue([1n], { account: p.vault.address }));
      assert.equal(await shares.read.revenuePerShare(), SCALE / max);
      assert.ok((await shares.read.revenuePerShare()) > 0n);
      assert.equal(await shares.read.claimable([p.deployer.account.address]), 0n); // (SCALE/max)*max < SCALE
      await mined(viem, shares.write.addRevenue([1n], { account: p.vault.address }));
      // Two units paid to the only holder: the carried dust makes the second unit whole.
      assert.equal(await shares.read.claimable([p.deployer.account.address]), 1n);
    });
  });

  describe("permit (EIP-2612)", () => {
    async function signPermit(
      fx: Fx,
      signer: Fx["alice"],
      msg: { owner: Address; spender: Address; value: bigint; nonce: bigint; deadline: bigint },
      name?: string,
      verifyingContract?: Address,
    ) {
      const sig = await signer.signTypedData({
        account: signer.account,
        domain: {
          name: name ?? `Modelshare #${fx.modelId}`,
          version: "1",
          chainId: await fx.p.publicClient.getChainId(),
          verifyingContract: verifyingContract ?? fx.shares.address,
        },
        types: PERMIT_TYPES,
        primaryType: "Permit",
        message: msg,
      });
      return parseSignature(sig);
    }

    it("domain is name 'Modelshare #<id>', version '1': eip712Domain and DOMAIN_SEPARATOR", async () => {
      const fx = await networkHelpers.loadFixture(sharesFixture);
      const chainId = await fx.p.publicClient.getChainId();
      const [, name, version, cid, verifyingContract] = await fx.shares.read.eip712Domain();
      assert.equal(name, `Modelshare #${fx.modelId}`);
      assert.equal(version, "1");
      assert.equal(cid, BigInt(chainId));
      assert.equal(getAddress(verifyingContract), getAddress(fx.shares.address));
      const expected = hashDomain({
        domain: { name: `Modelshare #${fx.modelId}`, version: "1", chainId: BigInt(chainId), verifyingContract: fx.shares.address },
        types: EIP712_DOMAIN_FIELDS,
      });
      assert.equal(await fx.shares.read.DOMAIN_SEPARATOR(), expected);
    });

    it("a valid permit sets the allowance and bumps the nonce; it cannot be replayed", async () => {
      const fx = await networkHelpers.loadFixture(sharesFixture);
      const owner = fx.alice.account.address;
      const spender = fx.dave.account.address;
      const deadline = (await latestTimestamp(viem)) + 3600n;
      const msg = { owner, spender, value: 123n * E18, nonce: 0n, deadline };
      const { v, r, s } = await signPermit(fx, fx.alice, msg);
      await viem.assertions.emitWithArgs(
        fx.shares.write.permit([owner, spender, msg.value, deadline, Number(v), r, s], { account: fx.bob.account }),
        fx.shares,
        "Approval",
        [getAddress(owner), getAddress(spender), msg.value],
      );
      assert.equal(await fx.shares.read.allowance([owner, spender]), msg.value);
      assert.equal(await fx.shares.read.nonces([owner]), 1n);
      await mined(viem, fx.shares.write.transferFrom([owner, spender, 2n], { account: fx.dave.account }));
      assert.equal(await fx.shares.read.balanceOf([spender]), 2n);
      // Replay: the nonce moved on, so the recovered signer differs from the owner.
      await viem.assertions.revertWithCustomError(
        fx.shares.write.permit([owner, spender, msg.value, deadline, Number(v), r, s]),
        fx.shares,
        "ERC2612InvalidSigner",
      );
    });

    it("an expired permit reverts ERC2612ExpiredSignature", async () => {
      const fx = await networkHelpers.loadFixture(sharesFixture);
      const owner = fx.alice.account.address;
      const deadline = (await latestTimestamp(viem)) - 1n;
      const msg = { owner, spender: fx.dave.account.address, value: 1n, nonce: 0n, deadline };
      const { v, r, s } = await signPermit(fx, fx.alice, msg);
      await viem.assertions.revertWithCustomErrorWithArgs(
        fx.shares.write.permit([owner, msg.spender, 1n, deadline, Number(v), r, s]),
        fx.shares,
        "ERC2612ExpiredSignature",
        [deadline],
      );
    });

    it("a wrong signer, a wrong domain name or another model's token revert ERC2612InvalidSigner", async () => {
      const fx = await networkHelpers.loadFixture(sharesFixture);
      const owner = fx.alice.account.address;
      const spender = fx.dave.account.address;
      const deadline = (await latestTimestamp(viem)) + 3600n;
      const msg = { owner, spender, value: 1n, nonce: 0n, deadline };
      const byBob = await signPermit(fx, fx.bob, msg);
      await viem.assertions.revertWithCustomErrorWithArgs(
        fx.shares.write.permit([owner, spender, 1n, deadline, Number(byBob.v), byBob.r, byBob.s]),
        fx.shares,
        "ERC2612InvalidSigner",
        [getAddress(fx.bob.account.address), getAddress(owner)],
      );
      const wrongName = await signPermit(fx, fx.alice, msg, "Modelshare");
      await viem.assertions.revertWithCustomError(
        fx.shares.write.permit([owner, spender, 1n, deadline, Number(wrongName.v), wrongName.r, wrongName.s]),
        fx.shares,
        "ERC2612InvalidSigner",
      );
      // A permit for model 1 cannot be used on model 2's token.
      const other = await mintModel(fx.p, viem, { holders: [{ address: owner, amount: 10n }] });
      const forModel1 = await signPermit(fx, fx.alice, msg);
      await viem.assertions.revertWithCustomError(
        other.shares.write.permit([owner, spender, 1n, deadline, Number(forModel1.v), forModel1.r, forModel1.s]),
        other.shares,
        "ERC2612InvalidSigner",
      );
      assert.equal(await fx.shares.read.allowance([owner, spender]), 0n);
      assert.equal(await fx.shares.read.nonces([owner]), 0n);
    });
  });

  describe("through the vault", () => {
    /** Root G, parent P (97 bps to G), child C (611 bps to P), operator fee 777 on C; holders spread over them. */
    async function lineageFixture() {
      const p = await deployProtocol(viem);
      const [payer, operator, h1, h2, h3] = p.others;
      const g = await mintModel(p, viem, {
        holders: [
          { address: h1!.account.address, amount: 3n },
          { address: h2!.account.address, amount: 4n },
        ],
        label: "G",
      });
      const par = await mintModel(p, viem, {
        parents: [{ id: g.modelId, bps: 97 }],
        holders: [{ address: h3!.account.address, amount: 10n * E18 }],
        label: "P",
      });
      const c = await mintModel(p, viem, {
        parents: [{ id: par.modelId, bps: 611 }],
        operatorFeeBps: 777,
        holders: [
          { address: h1!.account.address, amount: 2n * E18 + 1n },
          { address: h2!.account.address, amount: 1n * E18 },
        ],
        label: "C",
      });
      await fund(p, payer!, 10n ** 12n);
      return { p, g, par, c, payer: payer!, operator: operator!, h1: h1!, h2: h2!, h3: h3! };
    }

    async function settle(fx: Awaited<ReturnType<typeof lineageFixture>>, cumulativeAmount: bigint, calls: bigint) {
      const voucher = {
        payer: fx.payer.account.address,
        operator: fx.operator.account.address,
        modelId: fx.c.modelId,
        lane: 0,
        cumulativeAmount,
        cumulativeCalls: calls,
        expiry: 0n,
      };
      const signature = await signVoucher(fx.p, fx.payer, voucher);
      return mined(viem, fx.p.vault.write.settle([[{ voucher, signature }]], { account: fx.operator.account }));
    }

    it("a settled voucher credits each share token exactly its part of the split", async () => {
      const fx = await networkHelpers.loadFixture(lineageFixture);
      const gross = 1_234_567n;
      await settle(fx, gross, 1n);
      const protocolFee = (gross * 100n) / BPS;
      const operatorFee = (gross * 777n) / BPS;
      const rows = await fx.p.registry.read.ancestorsOf([fx.c.modelId]);
      const royalty = new Map(rows.map((r) => [r.modelId, (gross * BigInt(r.bps)) / BPS]));
      const upstream = [...royalty.values()].reduce((s, v) => s + v, 0n);
      const holders = gross - protocolFee - operatorFee - upstream;

      assert.equal(royalty.get(fx.g.modelId), (gross * ((611n * 97n) / BPS)) / BPS);
      assert.equal(await fx.c.shares.read.totalRevenue(), holders);
      assert.equal(await fx.par.shares.read.totalRevenue(), royalty.get(fx.par.modelId));
      assert.equal(await fx.g.shares.read.totalRevenue(), royalty.get(fx.g.modelId));
      assert.equal(await fx.p.vault.read.feesOf([fx.operator.account.address]), operatorFee);
      assert.equal(await fx.p.vault.read.feesOf([fx.p.treasury.account.address]), protocolFee);

      const cLedger = new Ledger([
        [fx.h1.account.address, 2n * E18 + 1n],
        [fx.h2.account.address, 1n * E18],
      ]);
      cLedger.distribute(holders);
      const gLedger = new Ledger([
        [fx.h1.account.address, 3n],
        [fx.h2.account.address, 4n],
      ]);
      gLedger.distribute(royalty.get(fx.g.modelId)!);
      for (const h of [fx.h1, fx.h2]) {
        assert.equal(await fx.c.shares.read.claimable([h.account.address]), cLedger.expected(h.account.address));
        assert.equal(await fx.g.shares.read.claimable([h.account.address]), gLedger.expected(h.account.address));
      }
      assert.equal(await fx.par.shares.read.claimable([fx.h3.account.address]), royalty.get(fx.par.modelId));
    });

    it("claims several models in one vault.claim, with mid-stream transfers", async () => {
      const fx = await networkHelpers.loadFixture(lineageFixture);
      const h1 = fx.h1.account.address;
      await settle(fx, 1_000_000n, 1n);
      // h1 gives half of its C shares to h3 between two payments.
      await mined(viem, fx.c.shares.write.transfer([fx.h3.account.address, E18], { account: fx.h1.account }));
      await settle(fx, 3_000_000n, 2n);
      const dueC = await fx.c.shares.read.claimable([h1]);
      const dueG = await fx.g.shares.read.claimable([h1]);
      assert.ok(dueC > 0n && dueG > 0n);

      // Independent expectation for C: two distributions, balances change between them.
      const split = (gross: bigint, rows: readonly { bps: number }[]) =>
        gross - (gross * 100n) / BPS - (gross * 777n) / BPS - rows.reduce((s, r) => s + (gross * BigInt(r.bps)) / BPS, 0n);
      const rows = await fx.p.registry.read.ancestorsOf([fx.c.modelId]);
      const ledger = new Ledger([
        [h1, 2n * E18 + 1n],
        [fx.h2.account.address, E18],
      ]);
      ledger.distribute(split(1_000_000n, rows));
      ledger.transfer(h1, fx.h3.account.address, E18);
      ledger.distribute(split(2_000_000n, rows));
      assert.equal(dueC, ledger.expected(h1));

      const before = await fx.p.usdc.read.balanceOf([h1]);
      const hash = fx.p.vault.write.claim([[fx.c.modelId, fx.g.modelId]], { account: fx.h1.account });
      await viem.assertions.emitWithArgs(hash, fx.c.shares, "RoyaltiesClaimed", [getAddress(h1), dueC]);
      assert.equal((await fx.p.usdc.read.balanceOf([h1])) - before, dueC + dueG);
      assert.equal(await fx.c.shares.read.claimable([h1]), 0n);
      assert.equal(await fx.g.shares.read.claimable([h1]), 0n);
      assert.ok((await fx.c.shares.read.claimable([fx.h3.account.address])) > 0n);
    });

    it("forward: stray stablecoin on the share token is swept through the vault into the split", async () => {
      const fx = await networkHelpers.loadFixture(lineageFixture);
      const amount = 500_001n;
      await mined(viem, fx.p.usdc.write.mint([fx.c.shares.address, amount]));
      const vaultBefore = await fx.p.usdc.read.balanceOf([fx.p.vault.address]);
      await mined(viem, fx.p.vault.write.sweep([fx.c.modelId], { account: fx.h3.account }));
      assert.equal(await fx.p.usdc.read.balanceOf([fx.c.shares.address]), 0n);
      assert.equal((await fx.p.usdc.read.balanceOf([fx.p.vault.address])) - vaultBefore, amount);
      const rows = await fx.p.registry.read.ancestorsOf([fx.c.modelId]);
      // No operator on a sweep: its fee stays with the holders.
      const expected = amount - (amount * 100n) / BPS - rows.reduce((s, r) => s + (amount * BigInt(r.bps)) / BPS, 0n);
      assert.equal(await fx.c.shares.read.totalRevenue(), expected);
    });

    it("forward moves exactly `amount` to the vault when called by the vault", async () => {
      const fx = await networkHelpers.loadFixture(lineageFixture);
      await mined(viem, fx.p.usdc.write.mint([fx.c.shares.address, 1_000n]));
      await impersonate(connection, fx.p.vault.address);
      const before = await fx.p.usdc.read.balanceOf([fx.p.vault.address]);
      await mined(viem, fx.c.shares.write.forward([400n], { account: fx.p.vault.address }));
      assert.equal((await fx.p.usdc.read.balanceOf([fx.p.vault.address])) - before, 400n);
      assert.equal(await fx.p.usdc.read.balanceOf([fx.c.shares.address]), 600n);
      await viem.assertions.revertWithCustomError(
        fx.c.shares.write.forward([601n], { account: fx.p.vault.address }),
        fx.p.usdc,
        "ERC20InsufficientBalance",
      );
    });
  });
});
