// Gas benchmark of the protocol contracts on Hardhat's in-process chain (EDR). Prints a table and writes
// bench-results/gas.json. Every figure is the gasUsed of a real transaction measured in this run.
import { mkdir, writeFile } from "node:fs/promises";
import { network } from "hardhat";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import type { Address, Hash } from "viem";
import { deployProtocol, mintModel, VOUCHER_TYPES, type Protocol, type Voucher } from "../test/helpers/protocol.ts";
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from "../sdk/typed-data.ts";

const { viem } = await network.create();
const p = await deployProtocol(viem);
const chainId = await p.publicClient.getChainId();
const [alice, bob, operator] = p.others as [Protocol["deployer"], Protocol["deployer"], Protocol["deployer"]];
const SHARES = 1_000_000n * 10n ** 18n;

async function gasOf(hash: Promise<Hash>): Promise<bigint> {
  const receipt = await p.publicClient.waitForTransactionReceipt({ hash: await hash });
  if (receipt.status !== "success") throw new Error("benchmark transaction reverted");
  return receipt.gasUsed;
}

const results: Record<string, number> = {};
const notes: Record<string, string> = {};
function record(key: string, gas: bigint, note: string) {
  results[key] = Number(gas);
  notes[key] = note;
}

// --- Mint --------------------------------------------------------------------------------------------------------
const root = await mintModel(p, viem, { label: "root" });
const withParent = await mintModel(p, viem, { label: "one", parents: [{ id: root.modelId, bps: 1000 }] });
record("mint_1_recipient", withParent.receipt.gasUsed, "mint + share clone, 1 recipient, CIDs, 1 parent");
const three = await mintModel(p, viem, {
  label: "three",
  parents: [{ id: root.modelId, bps: 1000 }],
  holders: [alice, bob, operator].map((w) => ({ address: w.account.address, amount: SHARES / 3n })),
});
record("mint_3_recipients", three.receipt.gasUsed, "mint + share clone, 3 recipients, CIDs, 1 parent");

// --- Vouchers -----------------------------------------------------------------------------------------------------
const domain = { name: "Modelshare Vault", version: "1", chainId, verifyingContract: p.vault.address } as const;
const payers: PrivateKeyAccount[] = Array.from({ length: 100 }, () => privateKeyToAccount(generatePrivateKey()));
const model = await mintModel(p, viem, { label: "settle" });
await p.usdc.write.mint([p.deployer.account.address, 10n ** 15n]);
await p.usdc.write.approve([p.vault.address, 10n ** 15n]);
for (const payer of payers) await p.vault.write.depositFor([payer.address, 10n ** 12n]);
const cumulative = new Map<Address, bigint>();

async function settleBatch(batch: PrivateKeyAccount[], modelId: bigint, calls = 10n): Promise<bigint> {
  const signed = await Promise.all(
    batch.map(async (payer) => {
      const amount = (cumulative.get(payer.address) ?? 0n) + 2_000n * calls;
      cumulative.set(payer.address, amount);
      const voucher: Voucher = {
        payer: payer.address,
        operator: operator.account.address,
        modelId,
        lane: 0,
        cumulativeAmount: amount,
        cumulativeCalls: amount / 2_000n,
        expiry: 0n,
      };
      const signature = await payer.signTypedData({ domain, types: VOUCHER_TYPES, primaryType: "Voucher", message: voucher });
      return { voucher, signature };
    }),
  );
  return gasOf(p.vault.write.settle([signed], { account: operator.account }));
}

// Warm-up: the very first payment to a model also creates its accumulator and the fee balances.
await settleBatch(payers.slice(0, 1), model.modelId);
record("settle_per_voucher_batch1", await settleBatch(payers.slice(0, 1), model.modelId), "one voucher alone, existing tab");
record("settle_per_voucher_batch10", (await settleBatch(payers.slice(1, 11), model.modelId)) / 10n, "new tabs");
const others = payers.slice(11);
const fresh = Array.from({ length: 11 }, () => privateKeyToAccount(generatePrivateKey()));
for (const payer of fresh) await p.vault.write.depositFor([payer.address, 10n ** 12n]);
const hundred = [...others, ...fresh];
record(
  "settle_per_voucher_batch100_first",
  (await settleBatch(hundred, model.modelId)) / 100n,
  "100 payers' first vouchers (new tabs)",
);
const steady100 = (await settleBatch(hundred, model.modelId, 1000n)) / 100n;
record("settle_per_voucher_batch100_steady", steady100, "100 payers' next vouchers (existing tabs)");
record("gas_per_paid_call_1000_calls", steady100 / 1000n, "steady settle per voucher / 1,000 calls it covers");

// --- x402 exact -----------------------------------------------------------------------------------------------------
const exactPayer = payers[0]!;
await p.usdc.write.mint([exactPayer.address, 10n ** 9n]);
async function payExact(label: string): Promise<bigint> {
  const now = BigInt((await p.publicClient.getBlock()).timestamp);
  const auth = {
    from: exactPayer.address,
    to: model.shares.address,
    value: 2_000n,
    validAfter: 0n,
    validBefore: now + 600n,
    nonce: `0x${Buffer.from(label.padEnd(32, ".")).toString("hex")}` as `0x${string}`,
  };
  const signature = await exactPayer.signTypedData({
    domain: { name: "USD Coin", version: "2", chainId, verifyingContract: p.usdc.address },
    types: TRANSFER_WITH_AUTHORIZATION_TYPES,
    primaryType: "TransferWithAuthorization",
    message: auth,
  });
  return gasOf(p.vault.write.payExact([{ modelId: model.modelId, ...auth, signature }], { account: operator.account }));
}
await payExact("warm-up");
record("x402_exact_payment", await payExact("measured"), "EIP-3009 pull + forward + split, one call");

// --- Distribution: independent of holder count ------------------------------------------------------------------
const solo = await mintModel(p, viem, { label: "solo" });
const crowd = await mintModel(p, viem, { label: "crowd" });
for (let i = 0; i < 999; i++) {
  const to = privateKeyToAccount(generatePrivateKey()).address;
  await crowd.shares.write.transfer([to, SHARES / 2000n]);
}
const distPayer = payers[1]!;
record("distribute_1_holder", await settleBatch([distPayer], solo.modelId), "settle 1 voucher to a model with 1 holder");
record("distribute_1000_holders", await settleBatch([distPayer], crowd.modelId), "same, model with 1,000 holders");

// --- Claims -------------------------------------------------------------------------------------------------------
const claimModels: Awaited<ReturnType<typeof mintModel>>[] = [];
for (let i = 0; i < 10; i++) claimModels.push(await mintModel(p, viem, { label: `claim-${i}`, holders: [{ address: alice.account.address, amount: SHARES }] }));
async function payAll() {
  for (const m of claimModels) await settleBatch([distPayer], m.modelId);
}
await payAll();
record("claim_1_model_first", await gasOf(p.vault.write.claim([[claimModels[0]!.modelId]], { account: alice.account })), "first claim of a holder");
record(
  "claim_10_models_first",
  await gasOf(p.vault.write.claim([claimModels.map((m) => m.modelId)], { account: alice.account })),
  "9 of them claimed for the first time",
);
await payAll();
record("claim_1_model", await gasOf(p.vault.write.claim([[claimModels[0]!.modelId]], { account: alice.account })), "holder claimed before");
await payAll();
record("claim_10_models", await gasOf(p.vault.write.claim([claimModels.map((m) => m.modelId)], { account: alice.account })), "holder claimed before");

// --- Transfers ----------------------------------------------------------------------------------------------------
const plain = await viem.deployContract("PlainToken", [alice.account.address, SHARES]);
await plain.write.transfer([bob.account.address, 1n], { account: alice.account });
record("plain_erc20_transfer", await gasOf(plain.write.transfer([bob.account.address, 10n ** 18n], { account: alice.account })), "OpenZeppelin ERC-20, both holders funded");
// Shares of model `three` are held by alice, bob and operator and have earned revenue.
await settleBatch([distPayer], three.modelId);
await three.shares.write.transfer([bob.account.address, 1n], { account: alice.account });
await settleBatch([distPayer], three.modelId);
record("share_transfer", await gasOf(three.shares.write.transfer([bob.account.address, 10n ** 18n], { account: alice.account })), "both holders funded, revenue since last transfer");

// --- Report -------------------------------------------------------------------------------------------------------
const ratio = results.share_transfer! / results.plain_erc20_transfer!;
const targets: [string, number, string][] = [
  ["settle_per_voucher_batch100_steady", 35_000, "<="],
  ["gas_per_paid_call_1000_calls", 50, "<="],
  ["claim_10_models", 150_000, "<="],
  ["mint_1_recipient", 400_000, "<="],
];
console.log("\nGas (units)\n");
for (const [key, gas] of Object.entries(results)) {
  const target = targets.find(([k]) => k === key);
  const verdict = target ? `  target ${target[2]} ${target[1].toLocaleString("en-US")}: ${gas <= target[1] ? "PASS" : "MISS"}` : "";
  console.log(`${key.padEnd(36)} ${gas.toLocaleString("en-US").padStart(10)}  ${notes[key] ?? ""}${verdict}`);
}
console.log(`\nshare transfer / plain ERC-20 transfer: ${ratio.toFixed(2)}x (target <= 1.60: ${ratio <= 1.6 ? "PASS" : "MISS"})`);
const spread = Math.abs(results.distribute_1000_holders! - results.distribute_1_holder!);
console.log(`distribution, 1,000 holders vs 1: ${spread} gas apart (independent of holders)`);
await mkdir("bench-results", { recursive: true });
await writeFile("bench-results/gas.json", JSON.stringify({ ...results, share_transfer_ratio: Number(ratio.toFixed(3)) }, null, 2) + "\n");
console.log("\nwrote bench-results/gas.json");
