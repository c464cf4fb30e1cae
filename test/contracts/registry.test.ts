import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import {
  encodeFunctionData,
  getAddress,
  keccak256,
  sha256,
  toFunctionSelector,
  toHex,
  zeroAddress,
  zeroHash,
  type Address,
  type Hex,
} from "viem";
import { CID } from "multiformats/cid";
import { sha256 as mfSha256 } from "multiformats/hashes/sha2";
import { deployProtocol, type Protocol } from "../helpers/protocol.ts";
import { impersonate, mined } from "../helpers/chain.ts";

const RAW = 0x55;
const DAG_PB = 0x70;
const DAG_CBOR = 0x71;
const BPS = 10_000n;
const UINT96_MAX = 2n ** 96n - 1n;
const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";

/** A real CIDv1 (sha2-256) built by multiformats for `content`, as binary hex. */
async function realCid(content: string, codec = RAW): Promise<Hex> {
  const digest = await mfSha256.digest(new TextEncoder().encode(content));
  return toHex(CID.create(1, codec, digest).bytes);
}

/** The CID text form multiformats gives for binary `cid` (base32, `b...`). */
function cidString(cid: Hex): string {
  return CID.decode(Buffer.from(cid.slice(2), "hex")).toString();
}

interface Params {
  weightsSha256: Hex;
  weightsCid: Hex;
  metadataCid: Hex;
  pricePerCall: bigint;
  operatorFeeBps: number;
  parentIds: bigint[];
  parentBps: number[];
  recipients: Address[];
  amounts: bigint[];
}

let labelCounter = 0;
async function params(recipient: Address, overrides: Partial<Params> = {}): Promise<Params> {
  const label = `registry-test-${labelCounter++}`;
  return {
    weightsSha256: sha256(toHex(`${label}-weights`)),
    weightsCid: await realCid(`${label}-weights`, RAW),
    metadataCid: await realCid(`${label}-card`, DAG_CBOR),
    pricePerCall: 2_000n,
    operatorFeeBps: 500,
    parentIds: [],
    parentBps: [],
    recipients: [recipient],
    amounts: [1_000n * 10n ** 18n],
    ...overrides,
  };
}

/** Reference flattening written from the spec (DESIGN §3.1 / Lineage NatSpec), independent of the contract. */
function referenceFlatten(
  parents: { id: bigint; bps: bigint }[],
  ancestry: Map<bigint, Map<bigint, bigint>>,
): Map<bigint, bigint> {
  const rows = new Map<bigint, bigint>();
  const add = (id: bigint, bps: bigint) => rows.set(id, (rows.get(id) ?? 0n) + bps);
  for (const { id, bps } of parents) {
    let own = bps;
    for (const [ancestor, a] of ancestry.get(id) ?? new Map()) {
      const share = (bps * a) / BPS;
      if (share === 0n) continue;
      own -= share;
      add(ancestor, share);
    }
    if (own !== 0n) add(id, own);
  }
  return rows;
}

function asMap(list: readonly { modelId: bigint; bps: number }[]): Map<bigint, bigint> {
  const m = new Map<bigint, bigint>();
  for (const row of list) {
    assert.equal(m.has(row.modelId), false, `ancestor ${row.modelId} listed twice`);
    m.set(row.modelId, BigInt(row.bps));
  }
  return m;
}

describe("ModelRegistry", async () => {
  const connection = await network.create();
  const { viem, networkHelpers } = connection;

  async function deployed() {
    return deployProtocol(viem);
  }

  /** Mints with `p` from `creator` (default deployer) and returns the new id and share token address. */
  async function mintWith(p: Protocol, mp: Params, creator = p.deployer) {
    const { result } = await p.registry.simulate.mint([mp], { account: creator.account.address });
    await mined(viem, p.registry.write.mint([mp], { account: creator.account }));
    return { modelId: result[0], shares: result[1] };
  }

  async function mintSimple(p: Protocol, overrides: Partial<Params> = {}, creator = p.deployer) {
    return mintWith(p, await params(creator.account.address, overrides), creator);
  }

  describe("initial state and initialisation", () => {
    it("is initialised with owner, name, symbol, share implementation and next id 1", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      assert.equal(getAddress(await p.registry.read.owner()), getAddress(p.deployer.account.address));
      assert.equal(await p.registry.read.name(), "Modelshare Model");
      assert.equal(await p.registry.read.symbol(), "MODEL");
      assert.equal(getAddress(await p.registry.read.sharesImplementation()), getAddress(p.sharesImpl.address));
      assert.equal(await p.registry.read.nextModelId(), 1n);
      assert.equal(await p.registry.read.MAX_PARENTS(), 8n);
      assert.equal(await p.registry.read.MAX_ANCESTORS(), 16n);
      assert.equal(await p.registry.read.MAX_UPSTREAM_BPS(), 5_000n);
      assert.equal(await p.registry.read.MAX_OPERATOR_FEE_BPS(), 3_000n);
      assert.equal(await p.registry.read.MAX_RECIPIENTS(), 64n);
    });

    it("cannot be initialised twice", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      await viem.assertions.revertWithCustomError(
        p.registry.write.initialize([p.others[0]!.account.address, p.sharesImpl.address]),
        p.registry,
        "InvalidInitialization",
      );
    });

    it("the implementation behind the proxy cannot be initialised (constructor disables initializers)", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const slot = await p.publicClient.getStorageAt({ address: p.registry.address, slot: IMPLEMENTATION_SLOT });
      const implAddress = getAddress(`0x${slot!.slice(-40)}`);
      const impl = await viem.getContractAt("ModelRegistry", implAddress);
      await viem.assertions.revertWithCustomError(
        impl.write.initialize([p.others[0]!.account.address, p.sharesImpl.address], { account: p.others[0]!.account }),
        impl,
        "InvalidInitialization",
      );
      // A fresh implementation is disabled from birth too.
      const fresh = await viem.deployContract("ModelRegistry");
      await viem.assertions.revertWithCustomError(
        fresh.write.initialize([p.deployer.account.address, p.sharesImpl.address]),
        fresh,
        "InvalidInitialization",
      );
    });

    it("initialize rejects a zero share implementation (ZeroAddress)", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const impl = await viem.deployContract("ModelRegistry");
      // OZ 5.7's ERC1967Proxy refuses empty init data: pass a harmless view call so the proxy stays uninitialised.
      const proxy = await viem.deployContract("ERC1967Proxy", [
        impl.address,
        encodeFunctionData({ abi: impl.abi, functionName: "name" }),
      ]);
      const registry = await viem.getContractAt("ModelRegistry", proxy.address);
      await viem.assertions.revertWithCustomError(
        registry.write.initialize([p.deployer.account.address, zeroAddress]),
        registry,
        "ZeroAddress",
      );
    });
  });

  describe("mint", () => {
    it("records weights hash, CIDs, terms, shares, NFT owner and emits ModelMinted + VersionPublished", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const [creator, alice, bob, carol] = p.others;
      const mp = await params(alice!.account.address, {
        weightsCid: await realCid("weights bytes", RAW),
        metadataCid: await realCid("model card", DAG_PB),
        pricePerCall: 12_345n,
        operatorFeeBps: 777,
        recipients: [alice!.account.address, bob!.account.address, carol!.account.address],
        amounts: [600n * 10n ** 18n + 7n, 300n * 10n ** 18n, 1n],
      });
      const { result } = await p.registry.simulate.mint([mp], { account: creator!.account.address });
      const [modelId, sharesAddress] = result;
      assert.equal(modelId, 1n);
      const tx = p.registry.write.mint([mp], { account: creator!.account });
      await viem.assertions.emitWithArgs(tx, p.registry, "ModelMinted", [
        modelId,
        getAddress(creator!.account.address),
        getAddress(sharesAddress),
        12_345n,
        777,
        mp.recipients.map((a) => getAddress(a)),
        mp.amounts,
      ]);
      assert.equal(await p.registry.read.nextModelId(), 2n);
      assert.equal(getAddress(await p.registry.read.ownerOf([modelId])), getAddress(creator!.account.address));
      assert.equal(await p.registry.read.balanceOf([creator!.account.address]), 1n);

      const [sha, wCid, mCid] = await p.registry.read.versionOf([modelId, 1]);
      assert.equal(sha, mp.weightsSha256);
      assert.equal(wCid, mp.weightsCid);
      assert.equal(mCid, mp.metadataCid);
      assert.deepEqual(await p.registry.read.versionOf([modelId, 0]), [sha, wCid, mCid]);

      const info = await p.registry.read.modelOf([modelId]);
      assert.equal(getAddress(info.owner), getAddress(creator!.account.address));
      assert.equal(getAddress(info.shares), getAddress(sharesAddress));
      assert.equal(info.pricePerCall, 12_345n);
      assert.equal(info.operatorFeeBps, 777);
      assert.equal(info.upstreamBps, 0);
      assert.equal(info.latestVersion, 1);
      assert.equal(info.paused, false);
      assert.equal(getAddress(await p.registry.read.sharesOf([modelId])), getAddress(sharesAddress));
      assert.deepEqual(await p.registry.read.ancestorsOf([modelId]), []);

      const shares = await viem.getContractAt("ModelShares", sharesAddress);
      assert.equal(await shares.read.modelId(), modelId);
      assert.equal(await shares.read.totalSupply(), mp.amounts.reduce((a, b) => a + b, 0n));
      for (let i = 0; i < mp.recipients.length; i++) {
        assert.equal(await shares.read.balanceOf([mp.recipients[i]!]), mp.amounts[i]);
      }
      assert.equal(await shares.read.balanceOf([creator!.account.address]), 0n, "NFT owner gets no shares unless listed");
    });

    it("emits VersionPublished(1) with the exact bytes and returns consecutive ids with distinct share tokens", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const mp = await params(p.deployer.account.address);
      await viem.assertions.emitWithArgs(p.registry.write.mint([mp]), p.registry, "VersionPublished", [
        1n,
        1,
        mp.weightsSha256,
        mp.weightsCid,
        mp.metadataCid,
      ]);
      const second = await mintSimple(p);
      assert.equal(second.modelId, 2n);
      assert.notEqual(getAddress(second.shares), getAddress(await p.registry.read.sharesOf([1n])));
      assert.equal(await p.registry.read.nextModelId(), 3n);
    });

    it("accepts every supported codec (raw, dag-pb, dag-cbor) for both CIDs", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      for (const codec of [RAW, DAG_PB, DAG_CBOR]) {
        const mp = await params(p.deployer.account.address, {
          weightsCid: await realCid(`w-${codec}`, codec),
          metadataCid: await realCid(`m-${codec}`, codec),
        });
        const { modelId } = await mintWith(p, mp);
        const [, w, m] = await p.registry.read.versionOf([modelId, 1]);
        assert.equal(w, mp.weightsCid);
        assert.equal(m, mp.metadataCid);
      }
    });

    it("mints the NFT with _mint: a contract without an ERC-721 receiver can be the creator", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      // The stablecoin is a contract with no onERC721Received hook.
      const asContract = await impersonate(connection, p.usdc.address);
      const mp = await params(p.deployer.account.address);
      await mined(viem, p.registry.write.mint([mp], { account: asContract.account }));
      assert.equal(getAddress(await p.registry.read.ownerOf([1n])), getAddress(p.usdc.address));
      await networkHelpers.stopImpersonatingAccount(p.usdc.address);
    });

    it("accepts the boundaries: operator fee 3000, max uint96 price, 64 recipients, supply 2^96-1", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const recipients = Array.from({ length: 64 }, (_, i) => getAddress(`0x${(i + 1).toString(16).padStart(40, "0")}`));
      const amounts = recipients.map((_, i) => BigInt(i + 1));
      const { modelId, shares } = await mintSimple(p, {
        operatorFeeBps: 3000,
        pricePerCall: UINT96_MAX,
        recipients,
        amounts,
      });
      const info = await p.registry.read.modelOf([modelId]);
      assert.equal(info.operatorFeeBps, 3000);
      assert.equal(info.pricePerCall, UINT96_MAX);
      const token = await viem.getContractAt("ModelShares", shares);
      assert.equal(await token.read.totalSupply(), (64n * 65n) / 2n);
      assert.equal(await token.read.balanceOf([recipients[63]!]), 64n);

      const big = await mintSimple(p, {
        recipients: [p.deployer.account.address, p.others[0]!.account.address],
        amounts: [UINT96_MAX - 1n, 1n],
      });
      const bigToken = await viem.getContractAt("ModelShares", big.shares);
      assert.equal(await bigToken.read.totalSupply(), UINT96_MAX);
    });

    it("sums the amounts of a recipient listed twice", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const a = p.others[0]!.account.address;
      const { shares } = await mintSimple(p, { recipients: [a, a], amounts: [5n, 7n] });
      const token = await viem.getContractAt("ModelShares", shares);
      assert.equal(await token.read.balanceOf([a]), 12n);
      assert.equal(await token.read.totalSupply(), 12n);
    });

    describe("reverts", () => {
      async function expectMintError(overrides: Partial<Params>, error: string, args?: unknown[]) {
        const p = await networkHelpers.loadFixture(deployed);
        const mp = await params(p.deployer.account.address, overrides);
        const promise = p.registry.write.mint([mp]);
        if (args === undefined) {
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          await viem.assertions.revertWithCustomError(promise, p.registry, error as any);
        } else {
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          await viem.assertions.revertWithCustomErrorWithArgs(promise, p.registry, error as any, args as any);
        }
        assert.equal(await p.registry.read.nextModelId(), 1n, "a failed mint leaves nextModelId");
      }

      const good = "0x01551220" + keccak256(toHex("digest")).slice(2);
      const badCids: [string, Hex][] = [
        ["empty", "0x"],
        ["35 bytes", good.slice(0, -2) as Hex],
        ["37 bytes", (good + "00") as Hex],
        ["CIDv0 multihash (34 bytes)", ("0x1220" + keccak256(toHex("v0")).slice(2)) as Hex],
        ["version 0x00", ("0x00" + good.slice(4)) as Hex],
        ["version 0x02", ("0x02" + good.slice(4)) as Hex],
        ["codec 0x72 (libp2p-key)", ("0x0172" + good.slice(6)) as Hex],
        ["codec 0x00", ("0x0100" + good.slice(6)) as Hex],
        ["hash code 0x13 (sha2-512)", ("0x015513" + good.slice(8)) as Hex],
        ["hash code 0x1e (blake3)", ("0x01551e" + good.slice(8)) as Hex],
        ["digest length 0x21", ("0x01551221" + good.slice(10)) as Hex],
        ["digest length 0x1f", ("0x0155121f" + good.slice(10)) as Hex],
        ["zero digest", ("0x01551220" + "00".repeat(32)) as Hex],
      ];
      for (const [name, cid] of badCids) {
        it(`InvalidCid: weights CID ${name}`, async () => {
          await expectMintError({ weightsCid: cid }, "InvalidCid", []);
        });
        it(`InvalidCid: metadata CID ${name}`, async () => {
          await expectMintError({ metadataCid: cid }, "InvalidCid", []);
        });
      }

      it("InvalidWeightsHash: zero sha256", async () => {
        await expectMintError({ weightsSha256: zeroHash }, "InvalidWeightsHash", []);
      });
      it("PriceOutOfRange: price 0", async () => {
        await expectMintError({ pricePerCall: 0n }, "PriceOutOfRange", [0n]);
      });
      it("OperatorFeeTooHigh: 3001 bps", async () => {
        await expectMintError({ operatorFeeBps: 3001 }, "OperatorFeeTooHigh", [3001n, 3000n]);
      });
      it("OperatorFeeTooHigh: 10000 bps", async () => {
        await expectMintError({ operatorFeeBps: 10_000 }, "OperatorFeeTooHigh", [10_000n, 3000n]);
      });
      it("LengthMismatch: recipients vs amounts", async () => {
        const p = await networkHelpers.loadFixture(deployed);
        await expectMintError(
          { recipients: [p.deployer.account.address, p.others[0]!.account.address], amounts: [1n] },
          "LengthMismatch",
          [],
        );
      });
      it("LengthMismatch: parentIds vs parentBps", async () => {
        const p = await networkHelpers.loadFixture(deployed);
        const mp = await params(p.deployer.account.address);
        await mintWith(p, mp);
        const child = await params(p.deployer.account.address, { parentIds: [1n], parentBps: [] });
        await viem.assertions.revertWithCustomErrorWithArgs(p.registry.write.mint([child]), p.registry, "LengthMismatch", []);
        const child2 = await params(p.deployer.account.address, { parentIds: [], parentBps: [100] });
        await viem.assertions.revertWithCustomErrorWithArgs(p.registry.write.mint([child2]), p.registry, "LengthMismatch", []);
      });
      it("NoRecipients", async () => {
        await expectMintError({ recipients: [], amounts: [] }, "NoRecipients", []);
      });
      it("TooManyRecipients: 65", async () => {
        const recipients = Array.from({ length: 65 }, (_, i) => getAddress(`0x${(i + 1).toString(16).padStart(40, "0")}`));
        await expectMintError({ recipients, amounts: recipients.map(() => 1n) }, "TooManyRecipients", [65n, 64n]);
      });
      it("ZeroRecipient", async () => {
        const p = await networkHelpers.loadFixture(deployed);
        await expectMintError(
          { recipients: [p.deployer.account.address, zeroAddress], amounts: [1n, 1n] },
          "ZeroRecipient",
          [],
        );
      });
      it("ZeroShareAmount", async () => {
        const p = await networkHelpers.loadFixture(deployed);
        await expectMintError(
          { recipients: [p.deployer.account.address, p.others[0]!.account.address], amounts: [1n, 0n] },
          "ZeroShareAmount",
          [],
        );
      });
      it("SupplyTooLarge: total 2^96 (and a single amount of 2^96)", async () => {
        const p = await networkHelpers.loadFixture(deployed);
        await expectMintError(
          { recipients: [p.deployer.account.address, p.others[0]!.account.address], amounts: [UINT96_MAX, 1n] },
          "SupplyTooLarge",
          [UINT96_MAX + 1n],
        );
        await expectMintError({ amounts: [2n ** 200n] }, "SupplyTooLarge", [2n ** 200n]);
      });
      it("a supply whose sum overflows uint256 still reverts", async () => {
        const p = await networkHelpers.loadFixture(deployed);
        const mp = await params(p.deployer.account.address, {
          recipients: [p.deployer.account.address, p.others[0]!.account.address],
          amounts: [2n ** 255n, 2n ** 255n],
        });
        await viem.assertions.revert(p.registry.write.mint([mp]));
      });
    });
  });

  describe("lineage", () => {
    it("UnknownModel parent (id 0, unminted id), DuplicateParent, ZeroParentBps, UpstreamTooHigh", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const a = await mintSimple(p);
      const b = await mintSimple(p);
      const me = p.deployer.account.address;
      const cases: [Partial<Params>, string, unknown[]][] = [
        [{ parentIds: [0n], parentBps: [100] }, "UnknownModel", [0n]],
        [{ parentIds: [a.modelId, 99n], parentBps: [100, 100] }, "UnknownModel", [99n]],
        [{ parentIds: [a.modelId, b.modelId, a.modelId], parentBps: [100, 100, 100] }, "DuplicateParent", [a.modelId]],
        [{ parentIds: [a.modelId, b.modelId], parentBps: [100, 0] }, "ZeroParentBps", [b.modelId]],
        [{ parentIds: [a.modelId, b.modelId], parentBps: [2_500, 2_501] }, "UpstreamTooHigh", [5_001n, 5_000n]],
        [{ parentIds: [a.modelId], parentBps: [65_535] }, "UpstreamTooHigh", [65_535n, 5_000n]],
      ];
      for (const [overrides, error, args] of cases) {
        const mp = await params(me, overrides);
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        await viem.assertions.revertWithCustomErrorWithArgs(p.registry.write.mint([mp]), p.registry, error as any, args as any);
      }
      // Exactly 5000 is allowed.
      const ok = await mintSimple(p, { parentIds: [a.modelId, b.modelId], parentBps: [2_500, 2_500] });
      assert.equal((await p.registry.read.modelOf([ok.modelId])).upstreamBps, 5_000);
    });

    it("a model cannot name itself (its id does not exist yet) as parent", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      await mintSimple(p);
      const next = await p.registry.read.nextModelId();
      const mp = await params(p.deployer.account.address, { parentIds: [next], parentBps: [100] });
      await viem.assertions.revertWithCustomErrorWithArgs(p.registry.write.mint([mp]), p.registry, "UnknownModel", [next]);
    });

    it("TooManyParents: 9 existing parents; 8 are accepted", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const ids: bigint[] = [];
      for (let i = 0; i < 9; i++) ids.push((await mintSimple(p)).modelId);
      const nine = await params(p.deployer.account.address, { parentIds: ids, parentBps: ids.map(() => 100) });
      await viem.assertions.revertWithCustomErrorWithArgs(p.registry.write.mint([nine]), p.registry, "TooManyParents", [9n, 8n]);
      const eight = await mintSimple(p, { parentIds: ids.slice(0, 8), parentBps: ids.slice(0, 8).map(() => 625) });
      const list = await p.registry.read.ancestorsOf([eight.modelId]);
      assert.deepEqual(asMap(list), new Map(ids.slice(0, 8).map((id) => [id, 625n])));
      assert.equal((await p.registry.read.modelOf([eight.modelId])).upstreamBps, 5_000);
    });

    it("parent with its own parent: grandparent gets floor(b*a/10000), parent the rest; events and views", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const g = await mintSimple(p);
      const a = 97n;
      const b = 611n;
      const parent = await mintSimple(p, { parentIds: [g.modelId], parentBps: [Number(a)] });
      assert.deepEqual(asMap(await p.registry.read.ancestorsOf([parent.modelId])), new Map([[g.modelId, a]]));

      const toGrand = (b * a) / BPS;
      assert.equal(toGrand, 5n); // 5.9267 floored
      const mp = await params(p.deployer.account.address, { parentIds: [parent.modelId], parentBps: [Number(b)] });
      const childId = await p.registry.read.nextModelId();
      const hash = await p.registry.write.mint([mp]);
      await viem.assertions.emitWithArgs(Promise.resolve(hash), p.registry, "ParentDeclared", [childId, parent.modelId, Number(b)]);
      await viem.assertions.emitWithArgs(Promise.resolve(hash), p.registry, "AncestorRecorded", [childId, g.modelId, Number(toGrand)]);
      await viem.assertions.emitWithArgs(Promise.resolve(hash), p.registry, "AncestorRecorded", [childId, parent.modelId, Number(b - toGrand)]);

      const rows = asMap(await p.registry.read.ancestorsOf([childId]));
      assert.deepEqual(rows, new Map([[g.modelId, toGrand], [parent.modelId, b - toGrand]]));
      assert.equal((await p.registry.read.modelOf([childId])).upstreamBps, Number(b));

      const terms = await p.registry.read.paymentTermsOf([childId]);
      assert.equal(getAddress(terms.shares), getAddress(await p.registry.read.sharesOf([childId])));
      assert.equal(terms.operatorFeeBps, mp.operatorFeeBps);
      assert.equal(terms.paused, false);
      assert.equal(terms.ancestors.length, 2);
      for (let i = 0; i < terms.ancestors.length; i++) {
        assert.equal(
          getAddress(terms.ancestorShares[i]!),
          getAddress(await p.registry.read.sharesOf([terms.ancestors[i]!.modelId])),
        );
      }
    });

    it("flattening realistic bps whose product exceeds 2^16 (4321 x 1234) does not overflow", async () => {
      // Regression: the product of two uint16 bps used to be computed in uint16 arithmetic and panicked.
      const p = await networkHelpers.loadFixture(deployed);
      const g = await mintSimple(p);
      const parent = await mintSimple(p, { parentIds: [g.modelId], parentBps: [1_234] });
      const child = await mintSimple(p, { parentIds: [parent.modelId], parentBps: [4_321] });
      const toGrand = (4_321n * 1_234n) / BPS; // 533
      assert.deepEqual(
        asMap(await p.registry.read.ancestorsOf([child.modelId])),
        new Map([[g.modelId, toGrand], [parent.modelId, 4_321n - toGrand]]),
      );
    });

    it("an ancestor reached through two parents is summed (diamond), matching the reference flattening", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const root = await mintSimple(p);
      const other = await mintSimple(p);
      const x = await mintSimple(p, { parentIds: [root.modelId], parentBps: [25] });
      const y = await mintSimple(p, { parentIds: [root.modelId, other.modelId], parentBps: [19, 31] });
      const ancestry = new Map<bigint, Map<bigint, bigint>>();
      for (const id of [root.modelId, other.modelId, x.modelId, y.modelId]) {
        ancestry.set(id, asMap(await p.registry.read.ancestorsOf([id])));
      }
      const parents = [
        { id: x.modelId, bps: 2_601n },
        { id: y.modelId, bps: 1_999n },
      ];
      const z = await mintSimple(p, { parentIds: parents.map((q) => q.id), parentBps: parents.map((q) => Number(q.bps)) });
      const rows = asMap(await p.registry.read.ancestorsOf([z.modelId]));
      const expected = referenceFlatten(parents, ancestry);
      assert.deepEqual(rows, expected);
      // Root is reached via x and y: floor(2601*25/1e4) + floor(1999*19/1e4) = 6 + 3.
      assert.equal(rows.get(root.modelId), 6n + 3n);
      assert.equal(rows.get(other.modelId), (1_999n * 31n) / BPS);
      assert.equal(rows.get(x.modelId), 2_601n - 6n);
      assert.equal(rows.get(y.modelId), 1_999n - 3n - 6n);
      const total = [...rows.values()].reduce((s, v) => s + v, 0n);
      assert.equal(total, 2_601n + 1_999n, "flattened rows sum to the declared upstream");
      assert.equal(BigInt((await p.registry.read.modelOf([z.modelId])).upstreamBps), total);
    });

    it("a grand-share that rounds to zero bps is dropped and stays with the parent", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const g = await mintSimple(p);
      const parent = await mintSimple(p, { parentIds: [g.modelId], parentBps: [1] });
      const child = await mintSimple(p, { parentIds: [parent.modelId], parentBps: [5_000] });
      // floor(5000 * 1 / 10000) = 0 -> no row for g.
      assert.deepEqual(asMap(await p.registry.read.ancestorsOf([child.modelId])), new Map([[parent.modelId, 5_000n]]));
    });

    it("deep chains flatten (multi-level) with bounded rows", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const ancestry = new Map<bigint, Map<bigint, bigint>>();
      let prev = await mintSimple(p);
      ancestry.set(prev.modelId, new Map());
      for (let depth = 0; depth < 6; depth++) {
        const bps = 255n - BigInt(depth) * 7n;
        const next = await mintSimple(p, { parentIds: [prev.modelId], parentBps: [Number(bps)] });
        const expected = referenceFlatten([{ id: prev.modelId, bps }], ancestry);
        const rows = asMap(await p.registry.read.ancestorsOf([next.modelId]));
        assert.deepEqual(rows, expected, `depth ${depth + 1}`);
        ancestry.set(next.modelId, rows);
        prev = next;
      }
    });

    describe("ancestor row cap (16)", () => {
      /** Ancestor bps are small (100) so that long lineages stay under the 50% upstream cap.
       * 16 roots; mids 1..8 each with one root parent; a wide mid with two roots (3 rows); 8 mids with 2 own roots. */
      async function lineageFamily() {
        const p = await deployProtocol(viem);
        const me = p.deployer.account.address;
        const mintIt = async (mp: Params) => {
          const { result } = await p.registry.simulate.mint([mp]);
          await mined(viem, p.registry.write.mint([mp]));
          return result[0];
        };
        const roots: bigint[] = [];
        for (let i = 0; i < 16; i++) roots.push(await mintIt(await params(me)));
        const mids: bigint[] = [];
        for (let i = 0; i < 8; i++) mids.push(await mintIt(await params(me, { parentIds: [roots[i]!], parentBps: [100] })));
        const wideMid = await mintIt(await params(me, { parentIds: [roots[7]!, roots[8]!], parentBps: [100, 100] }));
        const twoRootMids: bigint[] = [];
        for (let i = 0; i < 8; i++) {
          twoRootMids.push(
            await mintIt(await params(me, { parentIds: [roots[2 * i]!, roots[2 * i + 1]!], parentBps: [100, 100] })),
          );
        }
        return { p, roots, mids, wideMid, twoRootMids };
      }

      it("exactly 16 flattened rows are accepted", async () => {
        const { p, roots, mids } = await networkHelpers.loadFixture(lineageFamily);
        const child = await mintSimple(p, { parentIds: mids, parentBps: mids.map(() => 600) });
        const rows = asMap(await p.registry.read.ancestorsOf([child.modelId]));
        assert.equal(rows.size, 16);
        for (let i = 0; i < 8; i++) {
          assert.equal(rows.get(roots[i]!), (600n * 100n) / BPS);
          assert.equal(rows.get(mids[i]!), 600n - (600n * 100n) / BPS);
        }
        assert.equal((await p.registry.read.paymentTermsOf([child.modelId])).ancestors.length, 16);
      });

      it("17 flattened rows revert TooManyAncestors(17, 16)", async () => {
        const { p, mids, wideMid } = await networkHelpers.loadFixture(lineageFamily);
        const parents = [...mids.slice(0, 7), wideMid];
        const mp = await params(p.deployer.account.address, { parentIds: parents, parentBps: parents.map(() => 600) });
        await viem.assertions.revertWithCustomErrorWithArgs(p.registry.write.mint([mp]), p.registry, "TooManyAncestors", [17n, 16n]);
      });

      it("a lineage flattening far beyond 16 rows (24) reverts TooManyAncestors, not a panic", async () => {
        // 8 parents with 2 distinct roots each: 16 roots + 8 parents = 24 rows. Lineage._add keeps one spare row and
        // then keeps counting, so the merge loop must not index past the array.
        const { p, twoRootMids } = await networkHelpers.loadFixture(lineageFamily);
        const mp = await params(p.deployer.account.address, { parentIds: twoRootMids, parentBps: twoRootMids.map(() => 600) });
        await viem.assertions.revertWithCustomError(p.registry.write.mint([mp]), p.registry, "TooManyAncestors");
      });

      it("18 flattened rows (count passes the spare row once) still revert TooManyAncestors(18, 16)", async () => {
        const { p, mids, twoRootMids } = await networkHelpers.loadFixture(lineageFamily);
        // twoRootMids[4..7] bring roots 8..15 + themselves (12 rows); mids[0..3] bring roots 0..3 + themselves (8).
        // Take 2 two-root mids (6 rows) + 6 single mids (12 rows) = 18 rows, with the 18th added last.
        const parents = [twoRootMids[4]!, twoRootMids[5]!, ...mids.slice(0, 6)];
        const mp = await params(p.deployer.account.address, { parentIds: parents, parentBps: parents.map(() => 600) });
        await viem.assertions.revertWithCustomErrorWithArgs(p.registry.write.mint([mp]), p.registry, "TooManyAncestors", [18n, 16n]);
      });
    });
  });

  describe("publishVersion", () => {
    it("increments the version, keeps history, moves tokenURI and emits VersionPublished + MetadataUpdate", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const first = await params(p.deployer.account.address);
      const { modelId } = await mintWith(p, first);
      const v2 = {
        sha: sha256(toHex("weights v2")),
        w: await realCid("weights v2", RAW),
        m: await realCid("card v2", DAG_PB),
      };
      const { result } = await p.registry.simulate.publishVersion([modelId, v2.sha, v2.w, v2.m]);
      assert.equal(result, 2);
      const hash = await p.registry.write.publishVersion([modelId, v2.sha, v2.w, v2.m]);
      await viem.assertions.emitWithArgs(Promise.resolve(hash), p.registry, "VersionPublished", [modelId, 2, v2.sha, v2.w, v2.m]);
      await viem.assertions.emitWithArgs(Promise.resolve(hash), p.registry, "MetadataUpdate", [modelId]);

      assert.equal((await p.registry.read.modelOf([modelId])).latestVersion, 2);
      assert.deepEqual(await p.registry.read.versionOf([modelId, 1]), [first.weightsSha256, first.weightsCid, first.metadataCid]);
      assert.deepEqual(await p.registry.read.versionOf([modelId, 2]), [v2.sha, v2.w, v2.m]);
      assert.deepEqual(await p.registry.read.versionOf([modelId, 0]), [v2.sha, v2.w, v2.m]);
      assert.equal(await p.registry.read.tokenURI([modelId]), `ipfs://${cidString(v2.m)}`);
      await viem.assertions.revertWithCustomErrorWithArgs(p.registry.read.versionOf([modelId, 3]), p.registry, "UnknownModel", [modelId]);

      // A third version; the first two stay readable.
      const v3m = await realCid("card v3", DAG_CBOR);
      await mined(viem, p.registry.write.publishVersion([modelId, sha256(toHex("w3")), await realCid("w3"), v3m]));
      assert.equal((await p.registry.read.modelOf([modelId])).latestVersion, 3);
      assert.equal((await p.registry.read.versionOf([modelId, 2]))[2], v2.m);
      assert.equal((await p.registry.read.versionOf([modelId, 0]))[2], v3m);
      assert.equal(await p.registry.read.tokenURI([modelId]), `ipfs://${cidString(v3m)}`);
    });

    it("publishing to one model leaves another untouched", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const one = await params(p.deployer.account.address);
      const a = await mintWith(p, one);
      const b = await mintSimple(p);
      await mined(viem, p.registry.write.publishVersion([b.modelId, sha256(toHex("x")), await realCid("x"), await realCid("y")]));
      assert.equal((await p.registry.read.modelOf([a.modelId])).latestVersion, 1);
      assert.equal((await p.registry.read.versionOf([a.modelId, 0]))[0], one.weightsSha256);
    });

    it("reverts NotModelOwner, UnknownModel, InvalidCid and InvalidWeightsHash", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const { modelId } = await mintSimple(p);
      const stranger = p.others[3]!;
      const sha = sha256(toHex("v"));
      const w = await realCid("w");
      const m = await realCid("m");
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.registry.write.publishVersion([modelId, sha, w, m], { account: stranger.account }),
        p.registry,
        "NotModelOwner",
        [modelId, getAddress(stranger.account.address)],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.registry.write.publishVersion([42n, sha, w, m]),
        p.registry,
        "UnknownModel",
        [42n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.registry.write.publishVersion([modelId, sha, "0x0155", m]),
        p.registry,
        "InvalidCid",
        [],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.registry.write.publishVersion([modelId, sha, w, ("0x01551220" + "00".repeat(32)) as Hex]),
        p.registry,
        "InvalidCid",
        [],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.registry.write.publishVersion([modelId, zeroHash, w, m]),
        p.registry,
        "InvalidWeightsHash",
        [],
      );
      assert.equal((await p.registry.read.modelOf([modelId])).latestVersion, 1);
    });
  });

  describe("terms: setPrice, setOperatorFee, setPaused", () => {
    it("setPrice: owner changes it (event), 0 reverts, non-owner and unknown model revert", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const { modelId } = await mintSimple(p);
      await viem.assertions.emitWithArgs(p.registry.write.setPrice([modelId, 9_999n]), p.registry, "PriceChanged", [modelId, 9_999n]);
      assert.equal((await p.registry.read.modelOf([modelId])).pricePerCall, 9_999n);
      await mined(viem, p.registry.write.setPrice([modelId, 1n]));
      assert.equal((await p.registry.read.modelOf([modelId])).pricePerCall, 1n);
      await viem.assertions.revertWithCustomErrorWithArgs(p.registry.write.setPrice([modelId, 0n]), p.registry, "PriceOutOfRange", [0n]);
      const stranger = p.others[1]!;
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.registry.write.setPrice([modelId, 5n], { account: stranger.account }),
        p.registry,
        "NotModelOwner",
        [modelId, getAddress(stranger.account.address)],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(p.registry.write.setPrice([7n, 5n]), p.registry, "UnknownModel", [7n]);
      assert.equal((await p.registry.read.modelOf([modelId])).pricePerCall, 1n);
    });

    it("setOperatorFee: 0 and 3000 allowed (event), 3001 reverts, non-owner and unknown model revert", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const { modelId } = await mintSimple(p);
      await viem.assertions.emitWithArgs(p.registry.write.setOperatorFee([modelId, 3000]), p.registry, "OperatorFeeChanged", [modelId, 3000]);
      assert.equal((await p.registry.read.modelOf([modelId])).operatorFeeBps, 3000);
      assert.equal((await p.registry.read.paymentTermsOf([modelId])).operatorFeeBps, 3000);
      await viem.assertions.emitWithArgs(p.registry.write.setOperatorFee([modelId, 0]), p.registry, "OperatorFeeChanged", [modelId, 0]);
      assert.equal((await p.registry.read.modelOf([modelId])).operatorFeeBps, 0);
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.registry.write.setOperatorFee([modelId, 3001]),
        p.registry,
        "OperatorFeeTooHigh",
        [3001n, 3000n],
      );
      const stranger = p.others[1]!;
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.registry.write.setOperatorFee([modelId, 10], { account: stranger.account }),
        p.registry,
        "NotModelOwner",
        [modelId, getAddress(stranger.account.address)],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(p.registry.write.setOperatorFee([0n, 10]), p.registry, "UnknownModel", [0n]);
      assert.equal((await p.registry.read.modelOf([modelId])).operatorFeeBps, 0);
    });

    it("setPaused: toggles (events, modelOf, paymentTermsOf), non-owner and unknown model revert", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const { modelId } = await mintSimple(p);
      await viem.assertions.emitWithArgs(p.registry.write.setPaused([modelId, true]), p.registry, "ModelPausedSet", [modelId, true]);
      assert.equal((await p.registry.read.modelOf([modelId])).paused, true);
      assert.equal((await p.registry.read.paymentTermsOf([modelId])).paused, true);
      await viem.assertions.emitWithArgs(p.registry.write.setPaused([modelId, false]), p.registry, "ModelPausedSet", [modelId, false]);
      assert.equal((await p.registry.read.modelOf([modelId])).paused, false);
      const stranger = p.others[1]!;
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.registry.write.setPaused([modelId, true], { account: stranger.account }),
        p.registry,
        "NotModelOwner",
        [modelId, getAddress(stranger.account.address)],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(p.registry.write.setPaused([5n, true]), p.registry, "UnknownModel", [5n]);
    });

    it("transferring the NFT transfers management, not the shares; an approved operator cannot manage", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const [newOwner, approved] = p.others;
      const { modelId, shares } = await mintSimple(p);
      const token = await viem.getContractAt("ModelShares", shares);
      const sharesBefore = await token.read.balanceOf([p.deployer.account.address]);

      await mined(viem, p.registry.write.approve([approved!.account.address, modelId]));
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.registry.write.setPrice([modelId, 3n], { account: approved!.account }),
        p.registry,
        "NotModelOwner",
        [modelId, getAddress(approved!.account.address)],
      );

      await mined(viem, p.registry.write.transferFrom([p.deployer.account.address, newOwner!.account.address, modelId]));
      assert.equal(getAddress((await p.registry.read.modelOf([modelId])).owner), getAddress(newOwner!.account.address));

      await mined(viem, p.registry.write.setPrice([modelId, 4_242n], { account: newOwner!.account }));
      assert.equal((await p.registry.read.modelOf([modelId])).pricePerCall, 4_242n);
      await mined(viem, p.registry.write.setPaused([modelId, true], { account: newOwner!.account }));
      await mined(
        viem,
        p.registry.write.publishVersion([modelId, sha256(toHex("nv")), await realCid("nv"), await realCid("nm")], {
          account: newOwner!.account,
        }),
      );
      for (const call of [
        p.registry.write.setPrice([modelId, 1n]),
        p.registry.write.setOperatorFee([modelId, 1]),
        p.registry.write.setPaused([modelId, false]),
      ]) {
        await viem.assertions.revertWithCustomErrorWithArgs(call, p.registry, "NotModelOwner", [
          modelId,
          getAddress(p.deployer.account.address),
        ]);
      }
      assert.equal(await token.read.balanceOf([p.deployer.account.address]), sharesBefore);
      assert.equal(await token.read.balanceOf([newOwner!.account.address]), 0n);
    });
  });

  describe("tokenURI and views", () => {
    it("tokenURI is ipfs:// + the multiformats base32 CIDv1 string, for every codec and edge digests", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const cids: Hex[] = [
        await realCid("card A", RAW),
        await realCid("card B", DAG_PB),
        await realCid("card C", DAG_CBOR),
        ("0x01711220" + "ff".repeat(32)) as Hex,
        ("0x01551220" + "00".repeat(31) + "01") as Hex,
        ("0x01701220" + "80" + "00".repeat(31)) as Hex,
      ];
      for (const metadataCid of cids) {
        const { modelId } = await mintSimple(p, { metadataCid });
        const uri = await p.registry.read.tokenURI([modelId]);
        assert.equal(uri, `ipfs://${cidString(metadataCid)}`);
        assert.equal(uri.length, "ipfs://".length + 59);
        // And it round-trips back to the same bytes.
        assert.equal(toHex(CID.parse(uri.slice("ipfs://".length)).bytes), metadataCid);
      }
    });

    it("views revert UnknownModel for id 0 and unminted ids", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      await mintSimple(p);
      for (const id of [0n, 2n, 2n ** 200n]) {
        await viem.assertions.revertWithCustomErrorWithArgs(p.registry.read.modelOf([id]), p.registry, "UnknownModel", [id]);
        await viem.assertions.revertWithCustomErrorWithArgs(p.registry.read.paymentTermsOf([id]), p.registry, "UnknownModel", [id]);
        await viem.assertions.revertWithCustomErrorWithArgs(p.registry.read.sharesOf([id]), p.registry, "UnknownModel", [id]);
        await viem.assertions.revertWithCustomErrorWithArgs(p.registry.read.ancestorsOf([id]), p.registry, "UnknownModel", [id]);
        await viem.assertions.revertWithCustomErrorWithArgs(p.registry.read.versionOf([id, 0]), p.registry, "UnknownModel", [id]);
        await viem.assertions.revertWithCustomErrorWithArgs(p.registry.read.tokenURI([id]), p.registry, "UnknownModel", [id]);
      }
      await viem.assertions.revertWithCustomErrorWithArgs(p.registry.read.ownerOf([2n]), p.registry, "ERC721NonexistentToken", [2n]);
    });

    it("supportsInterface: ERC-165, ERC-721, ERC-721 Metadata, ERC-4906; not others", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const xor = (sigs: string[]) =>
        toHex(
          sigs.map((s) => parseInt(toFunctionSelector(s).slice(2), 16)).reduce((a, b) => (a ^ b) >>> 0, 0),
          { size: 4 },
        );
      const erc165 = xor(["supportsInterface(bytes4)"]);
      const erc721 = xor([
        "balanceOf(address)",
        "ownerOf(uint256)",
        "safeTransferFrom(address,address,uint256,bytes)",
        "safeTransferFrom(address,address,uint256)",
        "transferFrom(address,address,uint256)",
        "approve(address,uint256)",
        "setApprovalForAll(address,bool)",
        "getApproved(uint256)",
        "isApprovedForAll(address,address)",
      ]);
      const metadata = xor(["name()", "symbol()", "tokenURI(uint256)"]);
      assert.equal(erc721, "0x80ac58cd");
      for (const id of [erc165, erc721, metadata, "0x49064906"] as Hex[]) {
        assert.equal(await p.registry.read.supportsInterface([id]), true, id);
      }
      for (const id of ["0xffffffff", "0x00000000", "0x36372b07", "0x2a55205a"] as Hex[]) {
        assert.equal(await p.registry.read.supportsInterface([id]), false, id);
      }
    });
  });

  describe("ownership and upgrades", () => {
    it("non-owner upgradeToAndCall reverts OwnableUnauthorizedAccount; owner upgrades and state survives", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const { modelId, shares } = await mintSimple(p, { pricePerCall: 777n });
      const newImpl = await viem.deployContract("ModelRegistry");
      const stranger = p.others[2]!;
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.registry.write.upgradeToAndCall([newImpl.address, "0x"], { account: stranger.account }),
        p.registry,
        "OwnableUnauthorizedAccount",
        [getAddress(stranger.account.address)],
      );
      await viem.assertions.emitWithArgs(p.registry.write.upgradeToAndCall([newImpl.address, "0x"]), p.registry, "Upgraded", [
        getAddress(newImpl.address),
      ]);
      const slot = await p.publicClient.getStorageAt({ address: p.registry.address, slot: IMPLEMENTATION_SLOT });
      assert.equal(getAddress(`0x${slot!.slice(-40)}`), getAddress(newImpl.address));
      const info = await p.registry.read.modelOf([modelId]);
      assert.equal(info.pricePerCall, 777n);
      assert.equal(getAddress(info.shares), getAddress(shares));
      assert.equal(await p.registry.read.nextModelId(), modelId + 1n);
      // Still mints after the upgrade.
      const next = await mintSimple(p);
      assert.equal(next.modelId, modelId + 1n);
    });

    it("upgrading to a non-UUPS address reverts; the implementation refuses direct upgrades", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.registry.write.upgradeToAndCall([p.usdc.address, "0x"]),
        p.registry,
        "ERC1967InvalidImplementation",
        [getAddress(p.usdc.address)],
      );
      const slot = await p.publicClient.getStorageAt({ address: p.registry.address, slot: IMPLEMENTATION_SLOT });
      const impl = await viem.getContractAt("ModelRegistry", getAddress(`0x${slot!.slice(-40)}`));
      const newImpl = await viem.deployContract("ModelRegistry");
      await viem.assertions.revertWithCustomError(impl.write.upgradeToAndCall([newImpl.address, "0x"]), impl, "UUPSUnauthorizedCallContext");
    });

    it("two-step ownership: transferOwnership, wrong acceptor reverts, acceptOwnership hands over upgrades", async () => {
      const p = await networkHelpers.loadFixture(deployed);
      const [next, wrong] = p.others;
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.registry.write.transferOwnership([wrong!.account.address], { account: wrong!.account }),
        p.registry,
        "OwnableUnauthorizedAccount",
        [getAddress(wrong!.account.address)],
      );
      await viem.assertions.emitWithArgs(
        p.registry.write.transferOwnership([next!.account.address]),
        p.registry,
        "OwnershipTransferStarted",
        [getAddress(p.deployer.account.address), getAddress(next!.account.address)],
      );
      assert.equal(getAddress(await p.registry.read.owner()), getAddress(p.deployer.account.address));
      assert.equal(getAddress(await p.registry.read.pendingOwner()), getAddress(next!.account.address));
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.registry.write.acceptOwnership({ account: wrong!.account }),
        p.registry,
        "OwnableUnauthorizedAccount",
        [getAddress(wrong!.account.address)],
      );
      await viem.assertions.emitWithArgs(
        p.registry.write.acceptOwnership({ account: next!.account }),
        p.registry,
        "OwnershipTransferred",
        [getAddress(p.deployer.account.address), getAddress(next!.account.address)],
      );
      assert.equal(getAddress(await p.registry.read.owner()), getAddress(next!.account.address));
      assert.equal(await p.registry.read.pendingOwner(), zeroAddress);
      const newImpl = await viem.deployContract("ModelRegistry");
      await viem.assertions.revertWithCustomErrorWithArgs(
        p.registry.write.upgradeToAndCall([newImpl.address, "0x"]),
        p.registry,
        "OwnableUnauthorizedAccount",
        [getAddress(p.deployer.account.address)],
      );
      await mined(viem, p.registry.write.upgradeToAndCall([newImpl.address, "0x"], { account: next!.account }));
    });
  });
});
