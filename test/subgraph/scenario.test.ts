// The scenario, end to end on a real local chain: mints with lineage, share transfers before and after
// revenue, voucher settlements on several lanes and payers, an x402 `exact` payment, claims, a price change and a new
// version — indexed by the embedded host and read back over GraphQL through the SDK's holder query. For every holder
// and model, earned / claimed / claimable / paid calls in the subgraph equal what the contracts report, now and at
// an earlier block.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { keccak256, toHex, type Address } from "viem";
import { holderPortfolio, querySubgraph, type HolderPortfolio } from "../../sdk/subgraph.ts";
import { createGraphqlServer, type GraphqlServer } from "../../subgraph/host/server.ts";
import type { SqliteStore } from "../../subgraph/host/store/sqlite.ts";
import { fakeCid } from "../helpers/protocol.ts";
import { setupHost, type HostSetup } from "../helpers/subgraph-host.ts";
import { fund, mintModel, randomNonce, signAuthorization, signVoucher, type Protocol } from "./host/fixtures/protocol-actions.ts";

const SHARES = 1_000_000n * 10n ** 18n;
type Wallet = Protocol["deployer"];
type Minted = Awaited<ReturnType<typeof mintModel>>;

describe("scenario: the subgraph agrees with the contracts for every holder and model", { timeout: 600_000 }, () => {
  let host: HostSetup;
  let p: Protocol;
  let server: GraphqlServer;
  let models: Minted[];
  let holders: Wallet[];
  let operator: Wallet;
  const tabs: { payer: Address; model: bigint; lane: number }[] = [];
  let beforeClaim: bigint;

  before(async () => {
    host = await setupHost();
    p = host.p;
    const viem = host.connection.viem;
    const [alice, bob, carol, dave, op, payerA, payerB] = p.others as Wallet[];
    operator = op!;
    holders = [p.deployer, alice!, bob!, carol!, dave!];

    const root = await mintModel(p, viem, {
      label: "root",
      holders: [
        { address: p.deployer.account.address, amount: (SHARES * 7n) / 10n },
        { address: dave!.account.address, amount: (SHARES * 3n) / 10n },
      ],
    });
    const child = await mintModel(p, viem, {
      label: "child",
      price: 2_000n,
      parents: [{ id: root.modelId, bps: 1000 }],
      holders: [
        { address: alice!.account.address, amount: (SHARES * 6n) / 10n },
        { address: bob!.account.address, amount: (SHARES * 4n) / 10n },
      ],
    });
    const grandchild = await mintModel(p, viem, { label: "grandchild", price: 1_000n, parents: [{ id: child.modelId, bps: 500 }] }, alice!);
    models = [root, child, grandchild];

    await child.shares.write.transfer([carol!.account.address, SHARES / 10n], { account: alice!.account });
    await child.shares.write.transfer([alice!.account.address, SHARES / 20n], { account: bob!.account });

    await fund(p, payerA!, 10_000_000n);
    await fund(p, payerB!, 10_000_000n);
    const settle = async (payer: Wallet, model: Minted, lane: number, calls: bigint, amount: bigint) => {
      const voucher = { payer: payer.account.address, operator: operator.account.address, modelId: model.modelId, lane, cumulativeAmount: amount, cumulativeCalls: calls, expiry: 0n };
      if (!tabs.some((t) => t.payer === voucher.payer && t.model === voucher.modelId && t.lane === lane)) tabs.push({ payer: voucher.payer, model: voucher.modelId, lane });
      await p.vault.write.settle([[{ voucher, signature: await signVoucher(p, payer, voucher) }]], { account: operator.account });
    };
    await settle(payerA!, child, 0, 20n, 40_000n);
    await settle(payerA!, child, 1, 7n, 14_000n);
    await settle(payerB!, root, 0, 5n, 10_000n);
    await settle(payerB!, grandchild, 0, 9n, 9_000n);

    // x402 `exact`: an EIP-3009 authorization to the model's share token, submitted by the operator.
    await p.usdc.write.mint([payerB!.account.address, 1_000_000n]);
    const auth = { from: payerB!.account.address, to: child.shares.address, value: 2_000n, validAfter: 0n, validBefore: 2n ** 48n, nonce: randomNonce() };
    const signature = await signAuthorization(p, payerB!, auth);
    await p.vault.write.payExact([{ modelId: child.modelId, from: auth.from, value: auth.value, validAfter: 0n, validBefore: auth.validBefore, nonce: auth.nonce, signature }], { account: operator.account });

    beforeClaim = await p.publicClient.getBlockNumber();
    await p.vault.write.claim([[child.modelId, grandchild.modelId]], { account: alice!.account });
    await p.vault.write.claim([[root.modelId]], { account: dave!.account });
    // After revenue: a transfer moves corrections, not earnings; a price change and new weights.
    await child.shares.write.transfer([bob!.account.address, SHARES / 100n], { account: alice!.account });
    await p.registry.write.setPrice([child.modelId, 3_000n]);
    await p.registry.write.publishVersion([child.modelId, keccak256(toHex("child-v2")), fakeCid("child-v2"), fakeCid("child-v2-card", 0x71)]);
    await settle(payerA!, child, 0, 30n, 70_000n);
    await p.vault.write.claim([[child.modelId]], { account: carol!.account });

    const status = await host.indexer.syncTo();
    assert.equal(status.failure, null, `indexing failed: ${status.failure?.message}`);
    server = await createGraphqlServer({ store: host.store as SqliteStore, schema: host.manifest.schema, name: "modelshare" });
  });
  after(async () => {
    await server?.close();
    await host?.store.close();
  });

  /** What the contracts say, per model: paid calls (tabs' settled calls + exact payments) and per holder. */
  async function onChain(holder: Address, model: Minted, blockNumber?: bigint) {
    const at = blockNumber === undefined ? {} : { blockNumber };
    const claims = await model.shares.getEvents.RoyaltiesClaimed({ holder }, { fromBlock: 0n, ...(blockNumber === undefined ? {} : { toBlock: blockNumber }) });
    const claimed = claims.reduce((sum, e) => sum + (e.args.amount ?? 0n), 0n);
    return {
      balance: await model.shares.read.balanceOf([holder], at),
      claimable: await model.shares.read.claimable([holder], at),
      claimed,
    };
  }

  async function paidCalls(model: Minted): Promise<bigint> {
    let calls = 0n;
    for (const tab of tabs.filter((t) => t.model === model.modelId)) {
      const [, settledCalls] = await p.vault.read.tabOf([tab.payer, operator.account.address, tab.model, tab.lane]);
      calls += settledCalls;
    }
    const exact = await p.vault.getEvents.ExactPaymentSettled({ modelId: model.modelId }, { fromBlock: 0n });
    return calls + BigInt(exact.length);
  }

  it("indexes to the chain head with no error", async () => {
    const head = await p.publicClient.getBlockNumber();
    const meta = await querySubgraph<{ _meta: { block: { number: number }; hasIndexingErrors: boolean } }>(server.endpoint, "{ _meta { block { number } hasIndexingErrors } }");
    assert.deepEqual(meta._meta, { block: { number: Number(head) }, hasIndexingErrors: false });
  });

  it("gives every holder, for every model, the balance, earned, claimed, claimable and paid calls the contracts report", async () => {
    let compared = 0;
    for (const wallet of holders) {
      const holder = wallet.account.address;
      const portfolio = await holderPortfolio(server.endpoint, holder, { days: 7 });
      const byModel = new Map(portfolio.holdings.map((h) => [h.modelId, h]));
      for (const model of models) {
        const chain = await onChain(holder, model);
        const held = byModel.get(model.modelId);
        if (chain.balance === 0n && chain.claimable === 0n && chain.claimed === 0n) {
          assert.equal(held, undefined, `${holder} has nothing in model ${model.modelId}`);
          continue;
        }
        assert.ok(held, `${holder} holds model ${model.modelId}`);
        const label = `${holder} in model ${model.modelId}`;
        assert.equal(held.balance, chain.balance, `balance of ${label}`);
        assert.equal(held.claimable, chain.claimable, `claimable of ${label}`);
        assert.equal(held.claimed, chain.claimed, `claimed of ${label}`);
        assert.equal(held.earned, chain.claimed + chain.claimable, `earned of ${label}`);
        assert.equal(held.paidCalls, await paidCalls(model), `paid calls of model ${model.modelId}`);
        assert.equal(held.totalSupply, await model.shares.read.totalSupply());
        assert.equal(held.pricePerCall, (await p.registry.read.modelOf([model.modelId])).pricePerCall);
        assert.equal(held.holderRevenue, await model.shares.read.totalRevenue());
        assert.equal(held.daily.reduce((sum, d) => sum + d.paidCalls, 0n), held.paidCalls, "daily usage adds up to the paid calls");
        compared++;
      }
      assert.equal(portfolio.totals.claimable, portfolio.holdings.reduce((s, h) => s + h.claimable, 0n));
    }
    // deployer and dave in root; alice in child and grandchild; bob and carol in child.
    assert.equal(compared, 6);
    // Someone claimed, someone still has something to claim: the comparison is not vacuous.
    const alice = await holderPortfolio(server.endpoint, holders[1]!.account.address);
    assert.ok(alice.totals.claimed > 0n && alice.totals.claimable > 0n, JSON.stringify(alice.totals, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
  });

  it("answers the same questions as of an earlier block (time travel), matching the contracts at that block", async () => {
    const query = `query($block: Int!, $account: String!) {
      shareBalances(block: { number: $block }, where: { account: $account }) { balance correction claimed token { revenuePerShare } model { modelId paidCalls } }
    }`;
    let rows = 0;
    for (const wallet of holders) {
      const holder = wallet.account.address;
      const data = await querySubgraph<{ shareBalances: { balance: string; correction: string; claimed: string; token: { revenuePerShare: string }; model: { modelId: string } }[] }>(
        server.endpoint,
        query,
        { block: Number(beforeClaim), account: holder.toLowerCase() },
      );
      for (const row of data.shareBalances) {
        const model = models.find((m) => m.modelId === BigInt(row.model.modelId))!;
        const chain = await onChain(holder, model, beforeClaim);
        const claimable = (BigInt(row.token.revenuePerShare) * BigInt(row.balance) + BigInt(row.correction)) / 10n ** 36n;
        assert.equal(BigInt(row.balance), chain.balance);
        assert.equal(claimable, chain.claimable, `claimable of ${holder} in model ${model.modelId} at block ${beforeClaim}`);
        assert.equal(BigInt(row.claimed), chain.claimed);
        assert.equal(chain.claimed, 0n, "nobody had claimed yet");
        rows++;
      }
    }
    assert.equal(rows, 6);
  });

  it("records the price change and the new version", async () => {
    const child = models[1]!;
    const data = await querySubgraph<{ model: { pricePerCall: string; latestVersion: number; versions: { version: number }[] } }>(
      server.endpoint,
      `query($id: ID!) { model(id: $id) { pricePerCall latestVersion versions(orderBy: version) { version } } }`,
      { id: child.modelId.toString() },
    );
    const info = await p.registry.read.modelOf([child.modelId]);
    assert.equal(data.model.pricePerCall, info.pricePerCall.toString());
    assert.equal(data.model.latestVersion, Number(info.latestVersion));
    assert.deepEqual(data.model.versions.map((v) => v.version), Array.from({ length: Number(info.latestVersion) }, (_, i) => i + 1));
  });

  it("lists an account with no holdings as empty", async () => {
    const nobody: HolderPortfolio = await holderPortfolio(server.endpoint, "0x000000000000000000000000000000000000dEaD");
    assert.deepEqual(nobody.holdings, []);
  });
});
