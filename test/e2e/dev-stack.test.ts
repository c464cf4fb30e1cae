// The whole system as `npm start` runs it: the local stack comes up, its sample clients pay with vouchers and x402
// `exact`, everything is settled, and every figure of the holders' table — read from the subgraph — equals what the
// contracts report. Then an independent client (the CLI, as its own process, with a fresh account) deposits and pays
// a call against the running stack, and the subgraph counts it. Last, `modelshare dev --once` as a user runs it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAbiItem, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { modelSharesAbi, vaultAbi } from "../../sdk/contracts.ts";
import { DEV_KEYS } from "../../sdk/dev/chain.ts";
import { holdersTable, type HolderRow } from "../../sdk/dev/report.ts";
import { startDevStack, type DevStack } from "../../sdk/dev/stack.ts";
import { digitInput } from "../../sdk/samples/digits.ts";
import { holderPortfolio } from "../../sdk/subgraph.ts";

const CLI = fileURLToPath(new URL("../../sdk/cli/main.ts", import.meta.url));

function run(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MODELSHARE_")));
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

describe("the local stack (modelshare dev)", () => {
  let dir: string;
  let stack: DevStack;
  let rows: HolderRow[];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "modelshare-dev-"));
    stack = await startDevStack({ dataDir: dir, chainPort: 0, gatewayPort: 0, graphqlPort: 0, voucherCalls: 90, exactCalls: 4 });
    const a = stack.accounts;
    rows = await holdersTable(stack.graphqlEndpoint, [a.creator, a.contributorA, a.contributorB, a.derivativeCreator], stack.models);
  });

  after(async () => {
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Paid calls per model as the vault's events tell them: settled voucher calls plus x402 exact payments. */
  async function paidCallsOnChain(modelId: bigint): Promise<bigint> {
    const vault = stack.deployment.contracts.vault;
    const settled = await stack.publicClient.getContractEvents({ address: vault, abi: vaultAbi, eventName: "VoucherSettled", args: { modelId }, fromBlock: 0n });
    const lanes = new Map<string, bigint>();
    for (const e of settled) lanes.set(e.args.tabKey!, BigInt(e.args.settledCalls!));
    const exact = await stack.publicClient.getContractEvents({ address: vault, abi: vaultAbi, eventName: "ExactPaymentSettled", args: { modelId }, fromBlock: 0n });
    return [...lanes.values()].reduce((a, b) => a + b, 0n) + BigInt(exact.length);
  }

  async function claimedOnChain(shares: Address, holder: Address): Promise<bigint> {
    const claims = await stack.publicClient.getLogs({
      address: shares,
      event: parseAbiItem("event RoyaltiesClaimed(address indexed holder, uint256 amount)"),
      args: { holder },
      fromBlock: 0n,
    });
    return claims.reduce((total, log) => total + log.args.amount!, 0n);
  }

  it("ran the sample traffic: voucher and exact calls to both models, all answered and settled", () => {
    const perModel = new Map(stack.traffic.models.map((m) => [m.modelId, m]));
    assert.equal(stack.traffic.models.reduce((n, m) => n + m.voucherCalls, 0), 90);
    assert.equal(stack.traffic.models.reduce((n, m) => n + m.exactCalls, 0), 4);
    for (const model of stack.models) {
      assert.ok(perModel.get(model.modelId)!.voucherCalls > 0 && perModel.get(model.modelId)!.exactCalls > 0, `model ${model.modelId}`);
    }
    assert.equal(stack.traffic.receiptsVerified, 90);
    // The samples are real classifiers: noisy digits are mostly read right.
    const correct = stack.traffic.models.reduce((n, m) => n + m.correct, 0);
    assert.ok(correct >= 0.8 * 94, `${correct} of 94 read right`);
  });

  it("every figure of the holders' table equals what the contracts report", async () => {
    const expectedRows = stack.models.flatMap((m) => m.holders.map((h) => `${h.account.address}/${m.modelId}`)).sort();
    assert.deepEqual(rows.map((r) => `${r.address}/${r.modelId}`).sort(), expectedRows);
    for (const row of rows) {
      const model = stack.models.find((m) => m.modelId === row.modelId)!;
      const read = <T>(functionName: "balanceOf" | "claimable", args: [Address]) =>
        stack.publicClient.readContract({ address: model.shares, abi: modelSharesAbi, functionName, args }) as Promise<T>;
      const label = `${row.holder} on model ${row.modelId}`;
      assert.equal(row.shares, await read<bigint>("balanceOf", [row.address]), `${label}: shares`);
      assert.equal(row.claimable, await read<bigint>("claimable", [row.address]), `${label}: claimable`);
      assert.equal(row.claimed, await claimedOnChain(model.shares, row.address), `${label}: claimed`);
      assert.equal(row.earned, row.claimed + row.claimable, `${label}: earned`);
      assert.equal(row.paidCalls, await paidCallsOnChain(row.modelId), `${label}: paid calls`);
    }
    // The stack's claim shows up: contributor A claimed the base model's royalties.
    assert.ok(rows.some((r) => r.holder === "contributor A" && r.modelId === stack.models[0]!.modelId && r.claimed > 0n && r.claimable === 0n));
    // Holders of the base model also earn from its derivative (20% royalty), so it earned more than its own calls.
    assert.ok(rows.every((r) => r.earned > 0n));
  });

  it("an independent client deposits and pays a call against the running stack from the CLI", async () => {
    const key = DEV_KEYS[7];
    const payer = privateKeyToAccount(key).address;
    const env = { MODELSHARE_CONFIG: path.join(stack.dataDir, "config.json"), MODELSHARE_PRIVATE_KEY: key };
    // The stablecoin is the local test USDC: anyone may mint it.
    const { testStablecoinAbi } = await import("../../sdk/contracts.ts");
    const { createWalletClient, http } = await import("viem");
    const wallet = createWalletClient({ account: privateKeyToAccount(key), transport: http(stack.rpcUrl) });
    const hash = await wallet.writeContract({ address: stack.deployment.stablecoin.address, abi: testStablecoinAbi, functionName: "mint", args: [payer, 1_000_000n], chain: null });
    await stack.publicClient.waitForTransactionReceipt({ hash });

    const deposit = await run(["deposit", "0.5", "--json"], env);
    assert.equal(deposit.code, 0, deposit.stderr);
    const model = stack.models[1]!;
    const before = await paidCallsOnChain(model.modelId);
    const data = JSON.stringify({ [model.inputName]: { dims: [1, 35], data: digitInput(3) } });
    const paid = await run(["infer", model.modelId.toString(), "--gateway", stack.gatewayUrl, "--data", data, "--json"], env);
    assert.equal(paid.code, 0, paid.stderr);
    const answer = JSON.parse(paid.stdout) as { outputs: Record<string, { data: unknown[] }>; receiptVerified?: boolean; payment?: { payer?: string } };
    assert.equal(String(answer.outputs.digit?.data[0]), "3");
    assert.match(paid.stdout, new RegExp(payer.slice(2), "i"));

    // Settled, the call is in the subgraph too.
    await stack.gateway.settlement!.runOnce({ all: true });
    await stack.synced();
    assert.equal(await paidCallsOnChain(model.modelId), before + 1n);
    const portfolio = await holderPortfolio(stack.graphqlEndpoint, stack.accounts.derivativeCreator.address);
    assert.equal(portfolio.holdings.find((h) => h.modelId === model.modelId)!.paidCalls, before + 1n);
  });

  it("modelshare dev --once runs the whole flow as a user runs it and exits cleanly", async () => {
    const data = await mkdtemp(path.join(tmpdir(), "modelshare-dev-once-"));
    try {
      const result = await run(
        ["dev", "--once", "--json", "--data-dir", data, "--chain-port", "0", "--gateway-port", "0", "--graphql-port", "0", "--calls", "30", "--exact-calls", "2"],
        {},
      );
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout) as {
        holders: { holder: string; earned: string; paidCalls: string }[];
        models: unknown[];
        traffic: { models: { voucherCalls: number; exactCalls: number }[] };
      };
      assert.equal(report.models.length, 2);
      assert.equal(report.holders.length, 5);
      assert.ok(report.holders.every((h) => BigInt(h.earned) > 0n && BigInt(h.paidCalls) > 0n));
      assert.deepEqual(
        [report.traffic.models.reduce((n, m) => n + m.voucherCalls, 0), report.traffic.models.reduce((n, m) => n + m.exactCalls, 0)],
        [30, 2],
      );
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });
});
