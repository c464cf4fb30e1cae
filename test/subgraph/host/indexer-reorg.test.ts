// Reorgs made with the chain's snapshot and revert: the indexer follows one branch, the chain is rewound and grows a
// different one (shorter first, then longer), and the host must notice, revert its store to the common ancestor
// (entities, data sources created on the dead branch, block pointers) and index the new branch.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { concat, type Hex } from "viem";
import { fund, mintModel, signVoucher, type Protocol } from "./fixtures/protocol-actions.ts";
import { readEntities, setupHost, type HostSetup } from "../../helpers/subgraph-host.ts";

type Wallet = Protocol["deployer"];
const PRICE = 2_000n;

describe("reorgs", () => {
  let host: HostSetup;
  let p: Protocol;
  let alice: Wallet, bob: Wallet, operator: Wallet, payer: Wallet;
  let model: Awaited<ReturnType<typeof mintModel>>;

  const rpc = <T>(method: string, params: unknown[] = []) => host.connection.provider.request({ method, params }) as Promise<T>;
  const settle = async (calls: bigint) => {
    const voucher = { payer: payer.account.address, operator: operator.account.address, modelId: model.modelId, lane: 0, cumulativeAmount: calls * PRICE, cumulativeCalls: calls, expiry: 0n };
    await p.vault.write.settle([[{ voucher, signature: await signVoucher(p, payer, voucher) }]], { account: operator.account });
  };
  const balanceRow = (holder: Hex) => concat([model.shares.address.toLowerCase() as Hex, holder]).toLowerCase();

  before(async () => {
    host = await setupHost();
    p = host.p;
    [alice, bob, operator, payer] = p.others as [Wallet, Wallet, Wallet, Wallet];
    model = await mintModel(p, host.connection.viem, { label: "reorg", price: PRICE, holders: [{ address: alice.account.address, amount: 1000n }] });
    await fund(p, payer, 1_000_000n);
    await host.indexer.syncTo();
  });

  it("reverts to the common ancestor and indexes the new branch, dropping data sources made on the old one", async () => {
    const snapshot = await rpc<string>("evm_snapshot");
    const ancestor = Number(await p.publicClient.getBlockNumber());

    // Branch A: a settlement of 20 calls, a transfer to bob, and a second model (a new data source).
    await settle(20n);
    await model.shares.write.transfer([bob.account.address, 400n], { account: alice.account });
    const orphan = await mintModel(p, host.connection.viem, { label: "orphan" });
    let status = await host.indexer.syncTo();
    assert.equal(status.failure, null);
    const onA = await readEntities(host.store, (get) => ({
      tab: get("Model", model.modelId.toString()),
      bob: get("ShareBalance", balanceRow(bob.account.address)),
      orphan: get("Model", orphan.modelId.toString()),
    }));
    assert.equal(onA.tab?.paidCalls, 20n);
    assert.equal(onA.bob?.balance, 400n);
    assert.ok(onA.orphan);
    assert.equal((await host.store.dataSources()).length, 2);

    // Branch B, shorter than A at first: only a smaller settlement.
    await rpc("evm_revert", [snapshot]);
    assert.equal(Number(await p.publicClient.getBlockNumber()), ancestor);
    await settle(5n);
    status = await host.indexer.syncTo();
    assert.equal(status.failure, null);
    assert.ok(status.reorgs >= 1, "the indexer noticed the reorg");
    const head = await host.store.head();
    const chainHead = await p.publicClient.getBlock();
    assert.equal(head?.number, Number(chainHead.number));
    assert.equal(head?.hash, chainHead.hash);

    const onB = await readEntities(host.store, (get) => ({
      model: get("Model", model.modelId.toString()),
      bob: get("ShareBalance", balanceRow(bob.account.address)),
      alice: get("ShareBalance", balanceRow(alice.account.address)),
      orphan: get("Model", orphan.modelId.toString()),
    }));
    assert.equal(onB.model?.paidCalls, 5n);
    assert.equal(onB.bob, null, "bob's balance only existed on the dead branch");
    assert.equal(onB.alice?.balance, await model.shares.read.balanceOf([alice.account.address]));
    assert.equal(onB.orphan, null);
    assert.deepEqual(
      (await host.store.dataSources()).map((d) => d.address),
      [model.shares.address.toLowerCase()],
      "the data source created on the dead branch is gone",
    );

    // Branch B grows past A's height; indexing carries on from it.
    await settle(9n);
    await model.shares.write.transfer([bob.account.address, 7n], { account: alice.account });
    for (let i = 0; i < 5; i++) await rpc("evm_mine");
    status = await host.indexer.syncTo();
    assert.equal(status.failure, null);
    const final = await readEntities(host.store, (get) => ({
      model: get("Model", model.modelId.toString()),
      bob: get("ShareBalance", balanceRow(bob.account.address)),
    }));
    assert.equal(final.model?.paidCalls, 9n);
    assert.equal(final.bob?.balance, 7n);
    assert.equal((await host.store.head())?.hash, (await p.publicClient.getBlock()).hash);
  });

  it("notices a reorg that replaces the head block itself while the chain height stays the same", async () => {
    const snapshot = await rpc<string>("evm_snapshot");
    await settle(12n);
    await host.indexer.syncTo();
    const before = await host.store.head();
    await rpc("evm_revert", [snapshot]);
    await rpc("evm_mine"); // same height as before, different block
    const status = await host.indexer.syncTo();
    const head = await host.store.head();
    assert.equal(head?.number, before?.number);
    assert.notEqual(head?.hash, before?.hash);
    assert.equal(head?.hash, (await p.publicClient.getBlock()).hash);
    const row = await readEntities(host.store, (get) => get("Model", model.modelId.toString()));
    assert.equal(row?.paidCalls, 9n, "the settlement of the replaced block is undone");
    assert.equal(status.failure, null);
  });
});
