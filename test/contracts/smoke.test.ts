import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";
import { deployProtocol, mintModel, fund, signVoucher } from "../helpers/protocol.ts";

describe("protocol smoke", async () => {
  const { viem } = await network.create();
  it("mints, settles a voucher and lets the holder claim", async () => {
    const p = await deployProtocol(viem);
    const [payer, operator] = p.others;
    const { modelId, shares } = await mintModel(p, viem);
    await fund(p, payer!, 1_000_000n);
    const voucher = { payer: payer!.account.address, operator: operator!.account.address, modelId, cumulativeAmount: 10_000n, cumulativeCalls: 5n, expiry: 0n };
    const signature = await signVoucher(p, payer!, voucher);
    const hash = await p.vault.write.settle([[{ voucher, signature }]], { account: operator!.account });
    await p.publicClient.waitForTransactionReceipt({ hash });
    // 1% protocol, 5% operator, rest 9400 to the single holder
    assert.equal(await shares.read.claimable([p.deployer.account.address]), 9_400n);
    assert.equal(await p.vault.read.feesOf([operator!.account.address]), 500n);
    await p.vault.write.claim([[modelId]]);
    assert.equal(await p.usdc.read.balanceOf([p.deployer.account.address]), 9_400n);
    assert.equal(await p.registry.read.tokenURI([modelId]).then((u) => u.startsWith("ipfs://bafy")), true);
  });
});
