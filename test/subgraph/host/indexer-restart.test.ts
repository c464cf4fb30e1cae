// Restarts: an indexer on a reopened store resumes from the store's head — it asks the chain only for blocks after
// it, keeps the template data sources created before the restart, and applies nothing twice.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { concat, type Hex } from "viem";
import { fund, mintModel, signVoucher, type Protocol } from "./fixtures/protocol-actions.ts";
import { readEntities, setupHost, type HostSetup } from "../../helpers/subgraph-host.ts";

type Wallet = Protocol["deployer"];
const PRICE = 2_000n;

/** The provider, recording the block ranges of eth_getLogs calls. */
function recording(provider: HostSetup["connection"]["provider"]) {
  const ranges: [number, number][] = [];
  return {
    ranges,
    request(args: { method: string; params?: unknown }) {
      if (args.method === "eth_getLogs") {
        const [filter] = args.params as [{ fromBlock: string; toBlock: string }];
        ranges.push([Number(filter.fromBlock), Number(filter.toBlock)]);
      }
      return provider.request(args as Parameters<typeof provider.request>[0]);
    },
  };
}

describe("restarting the indexer", () => {
  let host: HostSetup;
  let p: Protocol;
  let alice: Wallet, bob: Wallet, operator: Wallet, payer: Wallet;
  let model: Awaited<ReturnType<typeof mintModel>>;

  const settle = async (calls: bigint) => {
    const voucher = { payer: payer.account.address, operator: operator.account.address, modelId: model.modelId, lane: 0, cumulativeAmount: calls * PRICE, cumulativeCalls: calls, expiry: 0n };
    await p.vault.write.settle([[{ voucher, signature: await signVoucher(p, payer, voucher) }]], { account: operator.account });
  };

  before(async () => {
    host = await setupHost();
    p = host.p;
    [alice, bob, operator, payer] = p.others as [Wallet, Wallet, Wallet, Wallet];
    model = await mintModel(p, host.connection.viem, { label: "restart", price: PRICE, holders: [{ address: alice.account.address, amount: 1000n }] });
    await fund(p, payer, 500_000n);
    await settle(10n);
  });

  it("resumes after the last indexed block and applies nothing twice", async () => {
    const first = await host.indexer.syncTo();
    assert.equal(first.failure, null);
    const stoppedAt = (await host.store.head())!.number;
    await host.store.close();

    // While the host is down: more deposits, settlements and transfers.
    await fund(p, payer, 250_000n);
    await settle(25n);
    await model.shares.write.transfer([bob.account.address, 300n], { account: alice.account });

    const provider = recording(host.connection.provider);
    const restarted = await host.reopen({ rpc: provider });
    const status = await restarted.indexer.syncTo();
    assert.equal(status.failure, null);
    assert.ok(provider.ranges.length > 0);
    assert.ok(
      provider.ranges.every(([from]) => from > stoppedAt),
      `every log query starts after block ${stoppedAt}: ${JSON.stringify(provider.ranges)}`,
    );

    const token = model.shares.address.toLowerCase() as Hex;
    const rows = await readEntities(restarted.store, (get) => ({
      payer: get("Payer", payer.account.address.toLowerCase()),
      model: get("Model", model.modelId.toString()),
      bob: get("ShareBalance", concat([token, bob.account.address]).toLowerCase()),
      alice: get("ShareBalance", concat([token, alice.account.address]).toLowerCase()),
    }));
    assert.equal(rows.payer?.deposited, 750_000n, "each deposit counted once");
    assert.equal(rows.payer?.spent, 25n * PRICE);
    assert.equal(rows.model?.paidCalls, 25n, "calls counted once across the restart");
    assert.equal(rows.bob?.balance, 300n, "the share token's data source survived the restart");
    assert.equal(rows.alice?.balance, 700n);
    await restarted.store.close();
  });
});
