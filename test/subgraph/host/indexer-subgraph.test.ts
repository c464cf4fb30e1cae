// The project's compiled subgraph indexed by the embedded host from a real local chain running the real contracts:
// mints (one with lineage), share transfers before and after revenue, voucher settlements, an x402 exact payment,
// royalty and fee claims, a price change and an NFT transfer. Every figure the subgraph holds is compared with what
// the contracts themselves report.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { concat, getAddress, type Address } from "viem";
import { fund, mintModel, randomNonce, signAuthorization, signVoucher, type Protocol } from "./fixtures/protocol-actions.ts";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { readEntities, setupHost, dumpEntities, type HostSetup } from "../../helpers/subgraph-host.ts";
import { createIndexer } from "../../../subgraph/host/indexer/index.ts";
import { openPostgresStore } from "../../../subgraph/host/store/postgres.ts";
import type { EntityStore } from "../../../subgraph/host/store/types.ts";

const SCALE = 10n ** 36n;
const POSTGRES_URL = process.env.MODELSHARE_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test";
const SHARES = 1_000_000n * 10n ** 18n;
const PRICE = 2_000n;

type Wallet = Protocol["deployer"];

describe("indexing the project's subgraph from a local chain", () => {
  let host: HostSetup;
  let p: Protocol;
  let alice: Wallet, bob: Wallet, carol: Wallet, operator: Wallet, payer: Wallet;
  let root: Awaited<ReturnType<typeof mintModel>>;
  let child: Awaited<ReturnType<typeof mintModel>>;
  let claimedByAlice: bigint;

  before(async () => {
    host = await setupHost();
    p = host.p;
    const viem = host.connection.viem;
    [alice, bob, carol, operator, payer] = p.others as [Wallet, Wallet, Wallet, Wallet, Wallet];

    root = await mintModel(p, viem, { label: "root" });
    child = await mintModel(p, viem, {
      label: "child",
      price: PRICE,
      operatorFeeBps: 500,
      parents: [{ id: root.modelId, bps: 1000 }],
      holders: [
        { address: alice.account.address, amount: (SHARES * 6n) / 10n },
        { address: bob.account.address, amount: (SHARES * 4n) / 10n },
      ],
    });
    await child.shares.write.transfer([carol.account.address, SHARES / 10n], { account: alice.account });
    await child.shares.write.transfer([alice.account.address, SHARES / 20n], { account: bob.account });

    await fund(p, payer, 10_000_000n);
    const settle = async (calls: bigint) => {
      const voucher = { payer: payer.account.address, operator: operator.account.address, modelId: child.modelId, lane: 0, cumulativeAmount: calls * PRICE, cumulativeCalls: calls, expiry: 0n };
      await p.vault.write.settle([[{ voucher, signature: await signVoucher(p, payer, voucher) }]], { account: operator.account });
    };
    await settle(20n);
    await settle(30n);

    // An x402 `exact` payment: an EIP-3009 authorization to the model's share token, submitted by the operator.
    await p.usdc.write.mint([payer.account.address, 1_000_000n]);
    const auth = { from: payer.account.address, to: child.shares.address, value: 5_000n, validAfter: 0n, validBefore: 2n ** 48n, nonce: randomNonce() };
    const signature = await signAuthorization(p, payer, auth);
    await p.vault.write.payExact([{ modelId: child.modelId, from: auth.from, value: auth.value, validAfter: auth.validAfter, validBefore: auth.validBefore, nonce: auth.nonce, signature }], { account: operator.account });

    // A transfer after revenue moves corrections, not earnings.
    await child.shares.write.transfer([bob.account.address, SHARES / 100n], { account: alice.account });
    const before = await p.usdc.read.balanceOf([alice.account.address]);
    await p.vault.write.claim([[child.modelId]], { account: alice.account });
    claimedByAlice = (await p.usdc.read.balanceOf([alice.account.address])) - before;
    await p.vault.write.claimFees({ account: operator.account });
    await p.registry.write.setPrice([child.modelId, 3_000n]);
    await p.registry.write.transferFrom([p.deployer.account.address, alice.account.address, child.modelId]);

    const status = await host.indexer.syncTo();
    assert.equal(status.failure, null, `indexing failed: ${status.failure?.message}`);
  });

  it("reaches the chain head with no indexing error", async () => {
    const head = await p.publicClient.getBlockNumber();
    const status = host.indexer.status();
    assert.equal(status.latestBlock?.number, Number(head));
    assert.equal(status.chainHead, Number(head));
    assert.equal(await host.store.failure(), null);
    assert.ok(status.events > 0);
  });

  it("records both models with their terms, lineage and current owner", async () => {
    const { rootModel, childModel, edge } = await readEntities(host.store, (get) => ({
      rootModel: get("Model", root.modelId.toString()),
      childModel: get("Model", child.modelId.toString()),
      edge: get("LineageEdge", `${child.modelId}-${root.modelId}-parent`),
    }));
    const info = await p.registry.read.modelOf([child.modelId]);
    assert.equal(childModel?.pricePerCall, info.pricePerCall);
    assert.equal(info.pricePerCall, 3_000n);
    assert.equal(childModel?.latestVersion, Number(info.latestVersion));
    assert.equal(childModel?.operatorFeeBps, 500);
    assert.equal(getAddress(childModel?.owner as Address), getAddress(await p.registry.read.ownerOf([child.modelId])));
    assert.equal(getAddress(rootModel?.owner as Address), getAddress(p.deployer.account.address));
    assert.equal(childModel?.shareToken, child.shares.address.toLowerCase());
    assert.deepEqual({ child: edge?.child, ancestor: edge?.ancestor, bps: edge?.bps, direct: edge?.direct }, { child: child.modelId.toString(), ancestor: root.modelId.toString(), bps: 1000, direct: true });
  });

  it("mirrors every holder's balance, royalty accumulator and claims exactly as the share token computes them", async () => {
    const token = child.shares.address.toLowerCase() as Address;
    const holders = [alice, bob, carol].map((w) => w.account.address);
    const rows = await readEntities(host.store, (get) => ({
      token: get("ShareToken", token),
      balances: holders.map((h) => get("ShareBalance", concat([token, h]).toLowerCase())),
      aliceAccount: get("Account", alice.account.address.toLowerCase()),
    }));
    assert.equal(rows.token?.totalSupply, await child.shares.read.totalSupply());
    assert.equal(rows.token?.revenuePerShare, await child.shares.read.revenuePerShare());
    assert.equal(rows.token?.totalRevenue, await child.shares.read.totalRevenue());
    for (const [i, holder] of holders.entries()) {
      const row = rows.balances[i]!;
      assert.equal(row.balance, await child.shares.read.balanceOf([holder]), `balance of ${holder}`);
      const claimable: bigint = ((rows.token!.revenuePerShare as bigint) * (row.balance as bigint) + (row.correction as bigint)) / SCALE;
      assert.equal(claimable, await child.shares.read.claimable([holder]), `claimable of ${holder}`);
    }
    assert.ok(claimedByAlice > 0n);
    assert.equal(rows.balances[0]!.claimed, claimedByAlice);
    assert.equal(rows.aliceAccount?.claimed, claimedByAlice);
  });

  it("counts settlements, the exact payment, paid calls, the split and fees as the vault does", async () => {
    const rows = await readEntities(host.store, (get) => ({
      childModel: get("Model", child.modelId.toString()),
      rootModel: get("Model", root.modelId.toString()),
      payer: get("Payer", payer.account.address.toLowerCase()),
      operator: get("Account", operator.account.address.toLowerCase()),
      protocol: get("Protocol", "protocol"),
    }));
    const gross = 30n * PRICE + 5_000n;
    assert.equal(rows.childModel?.grossRevenue, gross);
    assert.equal(rows.childModel?.paidCalls, 31n);
    assert.equal(rows.childModel?.holderRevenue, await child.shares.read.totalRevenue());
    assert.equal(rows.rootModel?.royaltiesReceived, await root.shares.read.totalRevenue());
    assert.equal(rows.childModel?.royaltiesPaid, rows.rootModel?.royaltiesReceived);
    const [escrow] = await p.vault.read.escrowOf([payer.account.address]);
    assert.equal(rows.payer?.escrow, escrow);
    assert.equal(rows.payer?.deposited, 10_000_000n);
    assert.equal(rows.payer?.spent, 30n * PRICE);
    assert.equal((rows.operator?.feesAccrued as bigint) - (rows.operator?.feesClaimed as bigint), await p.vault.read.feesOf([operator.account.address]));
    assert.ok((rows.operator?.feesClaimed as bigint) > 0n);
    assert.equal(rows.protocol?.models, 2);
    assert.equal(rows.protocol?.grossRevenue, gross);
    assert.equal(rows.protocol?.paidCalls, 31n);
    assert.equal(rows.protocol?.claimed, claimedByAlice);
  });

  it("ends with exactly the same entity versions when every trigger gets a new instance instead of a rewound one", async () => {
    const fresh = await host.another({ instances: "fresh" });
    const status = await fresh.indexer.syncTo();
    assert.equal(status.failure, null);
    assert.equal(status.latestBlock?.hash, host.indexer.status().latestBlock?.hash);
    const [rewound, renewed] = [dumpEntities(host.file, host.manifest.schema), dumpEntities(fresh.file, host.manifest.schema)];
    assert.ok(Object.values(rewound).reduce((n, rows) => n + rows.length, 0) > 50);
    assert.deepEqual(renewed, rewound);
    await fresh.store.close();
  });

  it("indexes the same chain into PostgreSQL with the same results", async () => {
    const pgSchema = `indexer_${randomBytes(4).toString("hex")}`;
    const store = await openPostgresStore({ connectionString: POSTGRES_URL, pgSchema, schema: host.manifest.schema });
    try {
      const indexer = await createIndexer({ buildDir: host.manifest, store, rpc: host.connection.provider });
      const status = await indexer.syncTo();
      assert.equal(status.failure, null);
      const token = child.shares.address.toLowerCase() as Address;
      const read = (s: EntityStore) =>
        readEntities(s, (get) => ({
          models: [root, child].map((m) => get("Model", m.modelId.toString())),
          token: get("ShareToken", token),
          balances: [alice, bob, carol].map((w) => get("ShareBalance", concat([token, w.account.address]).toLowerCase())),
          accounts: [alice, operator].map((w) => get("Account", w.account.address.toLowerCase())),
          payer: get("Payer", payer.account.address.toLowerCase()),
          protocol: get("Protocol", "protocol"),
        }));
      const [sqlite, postgres] = [await read(host.store), await read(store)];
      assert.ok(sqlite.models.every(Boolean) && sqlite.balances.every(Boolean));
      assert.deepEqual(postgres, sqlite);
      assert.deepEqual(await store.head(), await host.store.head());
    } finally {
      await store.close();
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${pgSchema}" CASCADE`);
      await client.end();
    }
  });
});
