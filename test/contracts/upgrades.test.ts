// Upgrade safety of the UUPS contracts: OpenZeppelin's validator (the engine of @openzeppelin/hardhat-upgrades)
// run on this build, and real upgrades on the local chain that keep every balance.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { network } from "hardhat";
import { validateUpgradeSafety } from "@openzeppelin/upgrades-core";
import { encodeFunctionData } from "viem";
import { deployProtocol, fund, mintModel, signVoucher } from "../helpers/protocol.ts";

/**
 * Validates `contract` (and its upgrade from `reference`) against the builds that produced their artifacts.
 * Incremental builds leave older build-info files beside the current ones and the validator refuses to choose
 * between two copies of a contract, so each artifact's own build info is copied alone into a folder of its own.
 */
async function validate(contract: string, reference?: string) {
  const dirs: string[] = [];
  async function buildInfoDirOf(fullName: string): Promise<string> {
    const [source, name] = fullName.split(":") as [string, string];
    const artifact = JSON.parse(await readFile(path.join("artifacts", source, `${name}.json`), "utf8"));
    const dir = await mkdtemp(path.join(tmpdir(), "modelshare-build-info-"));
    dirs.push(dir);
    for (const suffix of [".json", ".output.json"]) {
      const file = `${artifact.buildInfoId}${suffix}`;
      await copyFile(path.join("artifacts", "build-info", file), path.join(dir, file));
    }
    return dir;
  }
  try {
    const dir = await buildInfoDirOf(contract);
    if (!reference) return await validateUpgradeSafety(dir, contract);
    const referenceDir = await buildInfoDirOf(reference);
    return await validateUpgradeSafety(dir, contract, `${path.basename(referenceDir)}:${reference}`, {}, [referenceDir]);
  } finally {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }
}

describe("upgrade safety", async () => {
  const { viem } = await network.create();

  it("the vault and registry implementations are valid UUPS implementations", async () => {
    for (const contract of ["contracts/Vault.sol:Vault", "contracts/ModelRegistry.sol:ModelRegistry"]) {
      const report = await validate(contract);
      assert.equal(report.ok, true, report.explain());
    }
  });

  it("a V2 that keeps the layout and adds a namespace of its own is accepted", async () => {
    for (const [contract, reference] of [
      ["contracts/test/upgrade-fixtures/VaultV2.sol:VaultV2", "contracts/Vault.sol:Vault"],
      ["contracts/test/upgrade-fixtures/ModelRegistryV2.sol:ModelRegistryV2", "contracts/ModelRegistry.sol:ModelRegistry"],
    ] as const) {
      const report = await validate(contract, reference);
      assert.equal(report.ok, true, report.explain());
    }
  });

  it("an unsafe V2 is rejected with the reasons", async () => {
    const report = await validate("contracts/test/upgrade-fixtures/VaultV2Unsafe.sol:VaultV2Unsafe", "contracts/Vault.sol:Vault");
    assert.equal(report.ok, false);
    const explanation = report.explain();
    assert.match(explanation, /delegatecall is not allowed/);
    assert.match(explanation, /`limit` is assigned an initial value/);
  });

  it("upgrading the live vault and registry keeps escrow, revenue and models; only the owner may upgrade", async () => {
    const p = await deployProtocol(viem);
    const [payer, operator, stranger] = p.others;
    const { modelId, shares } = await mintModel(p, viem);
    await fund(p, payer!, 50_000n);
    const voucher = {
      payer: payer!.account.address,
      operator: operator!.account.address,
      modelId,
      lane: 0,
      cumulativeAmount: 10_000n,
      cumulativeCalls: 5n,
      expiry: 0n,
    };
    await p.vault.write.settle([[{ voucher, signature: await signVoucher(p, payer!, voucher) }]]);
    const before = {
      escrow: await p.vault.read.escrowOf([payer!.account.address]),
      fees: await p.vault.read.feesOf([operator!.account.address]),
      claimable: await shares.read.claimable([p.deployer.account.address]),
      tab: await p.vault.read.tabOf([payer!.account.address, operator!.account.address, modelId, 0]),
      model: await p.registry.read.modelOf([modelId]),
    };

    const vaultV2 = await viem.deployContract("VaultV2");
    const init = encodeFunctionData({ abi: vaultV2.abi, functionName: "initializeV2", args: [42n] });
    await viem.assertions.revertWithCustomErrorWithArgs(
      p.vault.write.upgradeToAndCall([vaultV2.address, init], { account: stranger!.account }),
      p.vault,
      "OwnableUnauthorizedAccount",
      [stranger!.account.address],
    );
    await p.vault.write.upgradeToAndCall([vaultV2.address, init]);
    const upgradedVault = await viem.getContractAt("VaultV2", p.vault.address);
    assert.equal(await upgradedVault.read.note(), 42n);
    await viem.assertions.revertWithCustomError(upgradedVault.write.initializeV2([7n]), upgradedVault, "InvalidInitialization");

    const registryV2 = await viem.deployContract("ModelRegistryV2");
    await p.registry.write.upgradeToAndCall([
      registryV2.address,
      encodeFunctionData({ abi: registryV2.abi, functionName: "initializeV2" }),
    ]);
    const upgradedRegistry = await viem.getContractAt("ModelRegistryV2", p.registry.address);
    assert.equal(await upgradedRegistry.read.version(), "2");

    assert.deepEqual(await upgradedVault.read.escrowOf([payer!.account.address]), before.escrow);
    assert.equal(await upgradedVault.read.feesOf([operator!.account.address]), before.fees);
    assert.equal(await shares.read.claimable([p.deployer.account.address]), before.claimable);
    assert.deepEqual(await upgradedVault.read.tabOf([payer!.account.address, operator!.account.address, modelId, 0]), before.tab);
    assert.deepEqual(await upgradedRegistry.read.modelOf([modelId]), before.model);

    // The upgraded pair still settles and pays out.
    const next = { ...voucher, cumulativeAmount: 12_000n, cumulativeCalls: 6n };
    await upgradedVault.write.settle([[{ voucher: next, signature: await signVoucher(p, payer!, next) }]]);
    assert.ok((await shares.read.claimable([p.deployer.account.address])) > before.claimable);
  });
});
