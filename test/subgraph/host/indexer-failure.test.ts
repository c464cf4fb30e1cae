// A handler that fails for good must not take the process down: the block's writes are dropped, the failure is
// recorded in the store (what GraphQL's `_meta.hasIndexingErrors` reads) with a readable message, indexing of the
// deployment stops at the block before, and what was indexed stays readable. Here the real subgraph is built with
// the registry's start block after the first mint, so the vault's handler meets a model it never saw and aborts.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { fund, mintModel, signVoucher, type Protocol } from "./fixtures/protocol-actions.ts";
import { readEntities, setupHost, type HostSetup } from "../../helpers/subgraph-host.ts";
import { buildApiSchema } from "../../../subgraph/host/graphql/api-schema.ts";
import { executeGraphql } from "../../../subgraph/host/graphql/execute.ts";
import type { QueryableStore } from "../../../subgraph/host/store/query.ts";

type Wallet = Protocol["deployer"];

describe("a mapping that aborts", () => {
  let host: HostSetup;
  let settleBlock: number;
  let payer: Wallet;

  before(async () => {
    host = await setupHost({
      prepare: async ({ connection, p }) => {
        const [, , , operator, buyer] = p.others as Wallet[];
        payer = buyer!;
        const model = await mintModel(p, connection.viem, { label: "unseen" });
        const mintBlock = Number(model.receipt.blockNumber);
        await fund(p, payer, 1_000_000n);
        const voucher = { payer: payer.account.address, operator: operator!.account.address, modelId: model.modelId, lane: 0, cumulativeAmount: 4_000n, cumulativeCalls: 2n, expiry: 0n };
        const hash = await p.vault.write.settle([[{ voucher, signature: await signVoucher(p, payer, voucher) }]], { account: operator!.account });
        settleBlock = Number((await p.publicClient.waitForTransactionReceipt({ hash })).blockNumber);
        // More blocks after the failing one, which must not be indexed.
        await fund(p, payer, 1n);
        return { startBlocks: { ModelRegistry: mintBlock + 1 } };
      },
    });
  });

  it("records the failure with the handler, the block and the mapping's own location, instead of crashing", async () => {
    const status = await host.indexer.syncTo();
    assert.ok(status.failure, "syncTo reports the failure in its status");
    assert.equal(status.failure.block, settleBlock);
    assert.equal(status.failure.handler, "Vault.handleVoucherSettled");
    assert.match(status.failure.message, /Mapping aborted at src\/entities\.ts, line \d+, column \d+, with message: unexpected null/);
    assert.deepEqual(await host.store.failure(), status.failure);
  });

  it("keeps serving queries, which report the indexing error through _meta", async () => {
    const api = buildApiSchema(host.manifest.schema);
    const reader = (host.store as unknown as QueryableStore).reader;
    const response = await executeGraphql(
      { api, reader, deployment: "test" },
      { query: `{ _meta { hasIndexingErrors block { number } } payers { deposited } }` },
    );
    assert.equal(response.errors, undefined);
    assert.deepEqual(JSON.parse(JSON.stringify(response.data)), { _meta: { hasIndexingErrors: true, block: { number: settleBlock - 1 } }, payers: [{ deposited: "1000000" }] });
  });

  it("keeps everything before the failing block and nothing of it", async () => {
    const head = await host.store.head();
    assert.equal(head?.number, settleBlock - 1);
    const rows = await readEntities(host.store, (get) => ({
      payer: get("Payer", payer.account.address.toLowerCase()),
      protocol: get("Protocol", "protocol"),
    }));
    assert.equal(rows.payer?.deposited, 1_000_000n, "the deposit before the failure is indexed");
    assert.equal(rows.payer?.spent, 0n, "the failing block's writes are dropped");
  });

  it("stays stopped: more syncs, a background loop and a restarted indexer index nothing further", async () => {
    const again = await host.indexer.syncTo();
    assert.equal(again.failure?.block, settleBlock);
    host.indexer.start();
    await host.indexer.stop();
    assert.equal((await host.store.head())?.number, settleBlock - 1);
    await host.store.close();
    const restarted = await host.reopen();
    const status = await restarted.indexer.syncTo();
    assert.equal(status.failure?.handler, "Vault.handleVoucherSettled");
    assert.equal((await restarted.store.head())?.number, settleBlock - 1);
  });
});
