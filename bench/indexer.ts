// Embedded subgraph host benchmark (`npm run bench:indexer`): generates a local chain of 100,000+ events with the real
// contracts (models minted with lineage, share tokens sprayed over tens of thousands of holders, voucher settlements
// batched 200 per transaction, one multi-model claim), indexes it with the project's compiled subgraph into SQLite —
// once with the default rewound instances, once more with a fresh instance per trigger for comparison — then runs
// holder-style GraphQL queries through the host's GraphQL layer. Prints the figures with their targets and writes
// bench-results/indexer.json.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { network } from "hardhat";
import { toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { deployProtocol, mintModel, VOUCHER_TYPES, type Voucher } from "../test/helpers/protocol.ts";
import { buildSubgraphFor } from "../test/helpers/graph-build.ts";
import { loadManifest } from "../subgraph/host/runtime/manifest.ts";
import { createIndexer } from "../subgraph/host/indexer/index.ts";
import { openSqliteStore } from "../subgraph/host/store/sqlite.ts";
import { buildApiSchema } from "../subgraph/host/graphql/api-schema.ts";
import { executeGraphql } from "../subgraph/host/graphql/execute.ts";
import { HOLDER_QUERY } from "../sdk/subgraph.ts";

// BENCH_INDEXER_SCALE (default 1) shrinks or grows the chain for quick runs and profiling.
const SCALE = Number(process.env.BENCH_INDEXER_SCALE ?? 1);
const MODELS = 40;
const SPRAY_PER_MODEL = Math.max(1, Math.round(1_200 * SCALE));
/** Transactions are capped at 2^24 gas (EIP-7825); 600 first-time share transfers stay under it. */
const SPRAY_PER_TX = 600;
const PAYERS = 200;
const ROUNDS = Math.max(1, Math.round(60 * SCALE));
const VOUCHERS_PER_TX = 200;
const PRICE = 2_000n;
const QUERIES = 2_000;

const log = (message: string) => console.error(`[bench:indexer] ${message}`);
const seconds = (since: number) => (performance.now() - since) / 1000;

// --- Chain ----------------------------------------------------------------------------------------------------------
const { viem, provider } = await network.create();
const p = await deployProtocol(viem);
const chainId = await p.publicClient.getChainId();
const [operator] = p.others;
const spray = await viem.deployContract("ShareSpray");
const generation = performance.now();

const randomAddress = (): Address => toHex(crypto.getRandomValues(new Uint8Array(20)));
const models: Awaited<ReturnType<typeof mintModel>>[] = [];
const holders: Address[] = [];
for (let i = 0; i < MODELS; i++) {
  const recipients = [
    { address: spray.address, amount: 10n ** 24n },
    { address: p.deployer.account.address, amount: 10n ** 23n },
    ...Array.from({ length: 62 }, () => ({ address: randomAddress(), amount: 10n ** 18n })),
  ];
  holders.push(...recipients.slice(2).map((r) => r.address));
  // Every other model derives from the first: its payments also pay royalties upstream.
  const parents = i > 0 && i % 2 === 0 ? [{ id: models[0]!.modelId, bps: 500 }] : [];
  models.push(await mintModel(p, viem, { label: `bench-${i}`, price: PRICE, parents, holders: recipients }));
}
log(`minted ${MODELS} models in ${seconds(generation).toFixed(1)} s`);

for (const model of models) {
  for (let sent = 0; sent < SPRAY_PER_MODEL; sent += SPRAY_PER_TX) {
    const to = Array.from({ length: Math.min(SPRAY_PER_TX, SPRAY_PER_MODEL - sent) }, randomAddress);
    holders.push(...to);
    const hash = await spray.write.spray([model.shares.address, to, 10n ** 18n]);
    await p.publicClient.waitForTransactionReceipt({ hash });
  }
}
log(`sprayed ${MODELS * SPRAY_PER_MODEL} share transfers (${seconds(generation).toFixed(1)} s)`);

const payers: PrivateKeyAccount[] = Array.from({ length: PAYERS }, () => privateKeyToAccount(generatePrivateKey()));
const budget = BigInt(ROUNDS) * PRICE * 10n;
await p.usdc.write.mint([p.deployer.account.address, budget * BigInt(PAYERS)]);
await p.usdc.write.approve([p.vault.address, budget * BigInt(PAYERS)]);
for (const payer of payers) await p.vault.write.depositFor([payer.address, budget]);

const domain = { name: "Modelshare Vault", version: "1", chainId, verifyingContract: p.vault.address } as const;
for (let round = 1; round <= ROUNDS; round++) {
  const signed = await Promise.all(
    payers.map(async (payer, i) => {
      const calls = BigInt(round * (1 + (i % 3)));
      const voucher: Voucher = { payer: payer.address, operator: operator!.account.address, modelId: models[i % MODELS]!.modelId, lane: 0, cumulativeAmount: calls * PRICE, cumulativeCalls: calls, expiry: 0n };
      return { voucher, signature: await payer.signTypedData({ domain, types: VOUCHER_TYPES, primaryType: "Voucher", message: voucher }) };
    }),
  );
  for (let i = 0; i < signed.length; i += VOUCHERS_PER_TX) {
    const hash = await p.vault.write.settle([signed.slice(i, i + VOUCHERS_PER_TX)], { account: operator!.account });
    const receipt = await p.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error("a settlement reverted");
  }
}
await p.vault.write.claim([models.map((m) => m.modelId)]);
const head = Number(await p.publicClient.getBlockNumber());
const generationSeconds = seconds(generation);
log(`chain ready: ${head} blocks in ${generationSeconds.toFixed(1)} s`);

// --- Indexing -------------------------------------------------------------------------------------------------------
const buildDir = await buildSubgraphFor({ registry: p.deployment.contracts.registry, vault: p.deployment.contracts.vault, startBlock: p.deployment.startBlock });
const manifest = await loadManifest(buildDir);
const dir = await mkdtemp(path.join(tmpdir(), "modelshare-bench-indexer-"));
const file = path.join(dir, "subgraph.sqlite");
const store = await openSqliteStore({ file, schema: manifest.schema });
const indexer = await createIndexer({ buildDir: manifest, store, rpc: provider, blockRange: 2_000 });
const indexing = performance.now();
const status = await indexer.syncTo(head);
const indexingSeconds = seconds(indexing);
if (status.failure) throw new Error(`indexing failed: ${status.failure.message}`);
const eventsPerSecond = status.events / indexingSeconds;
log(`indexed ${status.events} events in ${indexingSeconds.toFixed(1)} s`);

// Side by side: the same chain indexed with a new instance per trigger (graph-node's way) into another store.
const freshStore = await openSqliteStore({ file: path.join(dir, "fresh.sqlite"), schema: manifest.schema });
const freshIndexer = await createIndexer({ buildDir, store: freshStore, rpc: provider, blockRange: 2_000, instances: "fresh" });
const freshStarted = performance.now();
const freshStatus = await freshIndexer.syncTo(head);
const freshSeconds = seconds(freshStarted);
if (freshStatus.failure) throw new Error(`indexing with fresh instances failed: ${freshStatus.failure.message}`);
await freshStore.close();
log(`indexed again with a fresh instance per trigger in ${freshSeconds.toFixed(1)} s`);

// Entities as the store holds them: current versions per type (rows whose block range is open).
const db = new DatabaseSync(file, { readOnly: true });
let entities = 0;
const perType: Record<string, number> = {};
for (const type of manifest.schema.entities.keys()) {
  const row = db.prepare(`SELECT count(*) AS n FROM "${type}" WHERE block_to IS NULL`).get() as { n: number };
  perType[type] = Number(row.n);
  entities += Number(row.n);
}
db.close();

// --- Queries --------------------------------------------------------------------------------------------------------
const api = buildApiSchema(manifest.schema);
const TOP_HOLDERS = /* GraphQL */ `
  query TopHolders($model: String!) {
    shareBalances(first: 100, where: { model: $model }, orderBy: balance, orderDirection: desc) {
      account { id claimed }
      balance
      claimed
    }
  }
`;
const kinds = {
  holder: (i: number) => ({ query: HOLDER_QUERY, variables: { account: holders[(i * 7919) % holders.length]!.toLowerCase(), days: 7 } }),
  portfolio40: () => ({ query: HOLDER_QUERY, variables: { account: p.deployer.account.address.toLowerCase(), days: 7 } }),
  topHolders: (i: number) => ({ query: TOP_HOLDERS, variables: { model: models[i % MODELS]!.modelId.toString() } }),
};
const plan: (keyof typeof kinds)[] = Array.from({ length: QUERIES }, (_, i) => (i % 8 === 0 ? "portfolio40" : i % 8 === 1 ? "topHolders" : "holder"));
const timings: Record<string, number[]> = { holder: [], portfolio40: [], topHolders: [] };
const all: number[] = [];
const run = async (kind: keyof typeof kinds, i: number) => {
  const request = kinds[kind](i);
  const started = performance.now();
  const response = await executeGraphql({ api, reader: store.reader, deployment: "modelshare" }, request);
  const ms = performance.now() - started;
  if (response.errors?.length) throw new Error(`${kind} query failed: ${response.errors.map((e) => e.message).join("; ")}`);
  if (kind !== "topHolders" && !(response.data as { account: unknown }).account) throw new Error(`${kind} query found no account`);
  return ms;
};
for (let i = 0; i < 50; i++) await run(plan[i]!, i); // warm-up: prepared statements, JIT
for (const [i, kind] of plan.entries()) {
  const ms = await run(kind, i);
  timings[kind]!.push(ms);
  all.push(ms);
}
const percentile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};

await store.close();
await rm(dir, { recursive: true, force: true });

// --- Report ---------------------------------------------------------------------------------------------------------
const result = {
  events: status.events,
  events_per_sec: Math.round(eventsPerSecond),
  entities,
  query_p50_ms: Number(percentile(all, 0.5).toFixed(3)),
  query_p99_ms: Number(percentile(all, 0.99).toFixed(3)),
  blocks: head,
  indexing_seconds: Number(indexingSeconds.toFixed(2)),
  generation_seconds: Number(generationSeconds.toFixed(1)),
  queries: all.length,
  events_per_sec_fresh_instances: Math.round(freshStatus.events / freshSeconds),
  query_p50_ms_by_kind: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Number(percentile(v, 0.5).toFixed(3))])),
  entities_by_type: perType,
};
const row = (name: string, value: string, target = "", verdict = "") => console.log(`${name.padEnd(34)} ${value.padStart(14)}  ${target.padEnd(12)} ${verdict}`);
console.log("\nEmbedded subgraph host\n");
row("what", "measured", "target", "");
row("events indexed", result.events.toLocaleString("en-US"), ">= 100,000", result.events >= 100_000 ? "PASS" : "MISS");
row("events/s indexed", result.events_per_sec.toLocaleString("en-US"), ">= 2,000", result.events_per_sec >= 2_000 ? "PASS" : "MISS");
row("entities (current versions)", result.entities.toLocaleString("en-US"), ">= 100,000", result.entities >= 100_000 ? "PASS" : "MISS");
row("  with a fresh instance per trigger", result.events_per_sec_fresh_instances.toLocaleString("en-US"), "", `rewound: ${(result.events_per_sec / result.events_per_sec_fresh_instances).toFixed(1)}x`);
row("query p50 (ms)", result.query_p50_ms.toFixed(2), "<= 5", result.query_p50_ms <= 5 ? "PASS" : "MISS");
row("query p99 (ms)", result.query_p99_ms.toFixed(2));
for (const [kind, ms] of Object.entries(result.query_p50_ms_by_kind)) row(`  p50 ${kind}`, ms.toFixed(2));
row("indexing time (s)", result.indexing_seconds.toFixed(1));
row("chain generation (s)", result.generation_seconds.toFixed(1));
await mkdir("bench-results", { recursive: true });
await writeFile("bench-results/indexer.json", JSON.stringify(result, null, 2) + "\n");
console.log("\nwrote bench-results/indexer.json");
