// The embedded subgraph host's store and GraphQL side, on SQLite and PostgreSQL side by side:
//  1. indexing throughput — the store work of the real mappings (a voucher settlement's three events: reads and
//     writes of Payer, Tab, Settlement, Model, ModelDay, Protocol, Account, ShareToken), one transaction per block,
//     with the indexer awaiting each commit, and pipelining (next block begun before the last commit is durable);
//  2. query latency on 100k+ entities (the project's schema, with history): the SDK's holder query and the
//     list/filter/order/time-travel/nested shapes apps use, p50 and p99 over repeated runs.
// Writes bench-results/subgraph-store.json. Targets (DESIGN.md §8): ≥ 2,000 events/s for the whole host (this is
// the store's share of it), query p50 ≤ 5 ms on 100k entities.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { HOLDER_QUERY } from "../sdk/subgraph.ts";
import { buildApiSchema } from "../subgraph/host/graphql/api-schema.ts";
import { executeGraphql } from "../subgraph/host/graphql/execute.ts";
import { loadSubgraphSchema, type SubgraphSchema } from "../subgraph/host/schema.ts";
import { openPostgresStore } from "../subgraph/host/store/postgres.ts";
import type { QueryableStore } from "../subgraph/host/store/query.ts";
import { openSqliteStore } from "../subgraph/host/store/sqlite.ts";
import type { BlockPtr, BlockWriter, Entity, StoreValue } from "../subgraph/host/store/types.ts";
import type { VersionedStore } from "../subgraph/host/store/versioned.ts";

type Store = VersionedStore & QueryableStore;

const POSTGRES_URL = process.env.MODELSHARE_BENCH_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test";
const EVENTS = Number(process.env.EVENTS ?? 30_000);
const schema = await loadSubgraphSchema(fileURLToPath(new URL("../subgraph/schema.graphql", import.meta.url)));

// ---- values ------------------------------------------------------------------------------------------------------------

const big = (value: bigint): StoreValue => ({ kind: "BigInt", value });
const int = (value: number): StoreValue => ({ kind: "Int", value });
const str = (value: string): StoreValue => ({ kind: "String", value });
const bool = (value: boolean): StoreValue => ({ kind: "Boolean", value });
const bytes = (hex: string): StoreValue => ({ kind: "Bytes", value: new Uint8Array(Buffer.from(hex.slice(2), "hex")) });
const address = (prefix: number, n: number) => "0x" + prefix.toString(16).padStart(8, "0") + n.toString(16).padStart(32, "0");
const hash32 = (n: number) => "0x" + n.toString(16).padStart(64, "0");
const ptr = (n: number): BlockPtr => ({ number: n, hash: hash32(n), parentHash: hash32(n - 1), timestamp: 1_700_000_000 + n * 2 });
const add = (e: Entity, field: string, amount: bigint) => e.set(field, big((e.get(field) as { value: bigint }).value + amount));

function modelEntity(id: number, token: string): Entity {
  return new Map<string, StoreValue>([
    ["modelId", big(BigInt(id))],
    ["owner", bytes(address(9, id))],
    ["shareToken", bytes(token)],
    ["pricePerCall", big(2000n)],
    ["operatorFeeBps", int(500)],
    ["paused", bool(false)],
    ["latestVersion", int(1)],
    ["createdAt", big(1_700_000_000n)],
    ["grossRevenue", big(BigInt(id) * 1000n)],
    ["holderRevenue", big(0n)],
    ["royaltiesReceived", big(0n)],
    ["royaltiesPaid", big(0n)],
    ["paidCalls", big(0n)],
  ]);
}

const zeroes = (fields: string[]) => new Map<string, StoreValue>(fields.map((f) => [f, big(0n)]));

// ---- 1. indexing throughput ---------------------------------------------------------------------------------------------

const MODELS = 100;
const PIPELINE = 256;
const PAYERS = 1000;

function seed(w: BlockWriter): void {
  w.set("Protocol", "protocol", new Map([...zeroes(["grossRevenue", "protocolFees", "operatorFees", "royalties", "holderRevenue", "paidCalls", "claimed"]), ["models", int(MODELS)]]));
  w.set("Account", address(3, 0), zeroes(["claimed", "feesAccrued", "feesClaimed"]));
  for (let m = 1; m <= MODELS; m++) {
    const token = address(2, m);
    w.set("Model", String(m), modelEntity(m, token));
    w.set("ShareToken", token, new Map([["model", str(String(m))], ...zeroes(["totalSupply", "revenuePerShare", "totalRevenue"])]));
  }
}

/** The store calls of one settlement transaction's three events, as the mappings make them. */
function settle(w: BlockWriter, i: number, timestamp: number): void {
  const model = String((i % MODELS) + 1);
  const payer = address(1, i % PAYERS);
  const tab = hash32(0xab000000 + (i % (PAYERS * 3)));
  const day = `${model}-${Math.floor(timestamp / 86400)}`;
  // VoucherSettled
  const p = w.get("Payer", payer) ?? new Map([...zeroes(["deposited", "withdrawn", "spent", "escrow", "pendingWithdrawal"])]);
  add(p, "spent", 2000n);
  w.set("Payer", payer, p);
  const t = w.get("Tab", tab) ?? new Map([["payer", bytes(payer)], ["operator", bytes(address(3, 0))], ["model", str(model)], ["lane", int(0)], ...zeroes(["settledAmount", "settledCalls"])]);
  add(t, "settledAmount", 2000n);
  add(t, "settledCalls", 1n);
  w.set("Tab", tab, t);
  w.set("Settlement", hash32(0xcd000000 + i), new Map([["tab", bytes(tab)], ["model", str(model)], ["charged", big(2000n)], ["shortfall", big(0n)], ["calls", big(1n)], ["settledAmount", big(2000n)], ["timestamp", big(BigInt(timestamp))], ["transaction", bytes(hash32(i))]]));
  const m = w.get("Model", model)!;
  add(m, "grossRevenue", 2000n);
  add(m, "paidCalls", 1n);
  w.set("Model", model, m);
  const d = w.get("ModelDay", day) ?? new Map([["model", str(model)], ["day", int(Math.floor(timestamp / 86400))], ...zeroes(["paidCalls", "grossRevenue"])]);
  add(d, "paidCalls", 1n);
  add(d, "grossRevenue", 2000n);
  w.set("ModelDay", day, d);
  // RevenueSplit
  const protocol = w.get("Protocol", "protocol")!;
  add(protocol, "grossRevenue", 2000n);
  add(protocol, "paidCalls", 1n);
  w.set("Protocol", "protocol", protocol);
  const operator = w.get("Account", address(3, 0))!;
  add(operator, "feesAccrued", 100n);
  w.set("Account", address(3, 0), operator);
  // RevenueDistributed (share token)
  const token = address(2, Number(model));
  const st = w.get("ShareToken", token)!;
  add(st, "totalRevenue", 1800n);
  w.set("ShareToken", token, st);
  const m2 = w.get("Model", model)!;
  add(m2, "holderRevenue", 1800n);
  w.set("Model", model, m2);
}

async function indexing(store: Store, events: number, pipelined: boolean): Promise<{ eventsPerSec: number; blocksPerSec: number }> {
  const first = ((await store.head())?.number ?? 0) + 1;
  const seedWriter = store.begin(ptr(first));
  seed(seedWriter);
  await seedWriter.commit();
  const transactions = Math.ceil(events / 3);
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < transactions; i++) {
    const block = ptr(first + 1 + i);
    const w = store.begin(block);
    settle(w, i, block.timestamp);
    const commit = w.commit();
    if (pipelined) {
      // As the host's indexer does: up to 256 commits in flight; the store writes them together.
      pending.push(commit);
      if (pending.length > PIPELINE) await pending.shift();
    } else {
      await commit;
    }
  }
  await Promise.all(pending);
  const seconds = (performance.now() - start) / 1000;
  return { eventsPerSec: Math.round((transactions * 3) / seconds), blocksPerSec: Math.round(transactions / seconds) };
}

// ---- 2. query latency ---------------------------------------------------------------------------------------------------

const Q_MODELS = 500;
const Q_ACCOUNTS = 5000;
const BALANCES_PER_MODEL = 200;
const DAYS = 30;

async function populate(store: Store): Promise<{ entities: number; earlyBlock: number; holder: string }> {
  let block = ((await store.head())?.number ?? 0) + 1;
  let entities = 0;
  let w = store.begin(ptr(block));
  let inBlock = 0;
  const flushEvery = async () => {
    if (++inBlock < 5000) return;
    await w.commit();
    w = store.begin(ptr(++block));
    inBlock = 0;
  };
  for (let a = 0; a < Q_ACCOUNTS; a++) {
    w.set("Account", address(4, a), zeroes(["claimed", "feesAccrued", "feesClaimed"]));
    entities++;
    await flushEvery();
  }
  for (let m = 1; m <= Q_MODELS; m++) {
    const token = address(5, m);
    const id = String(10_000 + m);
    w.set("Model", id, modelEntity(10_000 + m, token));
    w.set("ShareToken", token, new Map([["model", str(id)], ["totalSupply", big(1_000_000n * 200n)], ["revenuePerShare", big(BigInt(m) * 10n ** 30n)], ["totalRevenue", big(0n)]]));
    entities += 2;
    for (let d = 0; d < DAYS; d++) {
      w.set("ModelDay", `${id}-${19_700 + d}`, new Map([["model", str(id)], ["day", int(19_700 + d)], ["paidCalls", big(BigInt(d * m))], ["grossRevenue", big(BigInt(d * m * 2000))]]));
      entities++;
    }
    for (let b = 0; b < BALANCES_PER_MODEL; b++) {
      const account = address(4, (m * 7919 + b * 104729) % Q_ACCOUNTS);
      w.set("ShareBalance", token + account.slice(2), new Map([["token", bytes(token)], ["model", str(id)], ["account", bytes(account)], ["balance", big(BigInt(((m * 31 + b * 17) % 1000) * 1000))], ["correction", big(0n)], ["claimed", big(0n)]]));
      entities++;
      await flushEvery();
    }
  }
  await w.commit();
  const earlyBlock = block;
  // History: a tenth of the balances change later, so time travel has versions to choose from.
  w = store.begin(ptr(++block));
  inBlock = 0;
  for (let m = 1; m <= Q_MODELS; m += 1) {
    const token = address(5, m);
    for (let b = 0; b < BALANCES_PER_MODEL; b += 10) {
      const account = address(4, (m * 7919 + b * 104729) % Q_ACCOUNTS);
      w.set("ShareBalance", token + account.slice(2), new Map([["balance", big(BigInt(b))], ["claimed", big(5n)]]));
      await flushEvery();
    }
  }
  await w.commit();
  // The holder of the most balances.
  return { entities, earlyBlock, holder: address(4, (1 * 7919) % Q_ACCOUNTS) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function latency(store: Store, subgraph: SubgraphSchema) {
  const { entities, earlyBlock, holder } = await populate(store);
  const api = buildApiSchema(subgraph);
  const run = async (query: string, variables: Record<string, unknown> = {}) => {
    const result = await executeGraphql({ api, reader: store.reader, deployment: "bench" }, { query, variables });
    if (result.errors) throw new Error(`${query}: ${JSON.stringify(result.errors)}`);
    return result;
  };
  const token = address(5, 7);
  const queries: Record<string, [string, Record<string, unknown>?]> = {
    holder: [HOLDER_QUERY, { account: holder, days: 30 }],
    topModels: [`{ models(first: 100, orderBy: grossRevenue, orderDirection: desc) { id grossRevenue paidCalls } }`],
    modelHolders: [`{ shareBalances(first: 100, where: { model: "10007" }, orderBy: balance, orderDirection: desc) { id balance account { id } } }`],
    byId: [`query($id: ID!) { shareBalance(id: $id) { balance token { revenuePerShare } } }`, { id: token + address(4, (7 * 7919) % Q_ACCOUNTS).slice(2) }],
    filtered: [`{ shareBalances(first: 100, where: { balance_gt: "990000" }) { id balance } }`],
    timeTravel: [`query($b: Int!) { shareBalances(first: 100, where: { model: "10007" }, block: { number: $b }) { id balance } }`, { b: earlyBlock }],
    nested: [`{ shareTokens(first: 20, orderBy: totalSupply) { id holders(first: 10, orderBy: balance, orderDirection: desc) { balance account { claimed } } model { days(first: 7, orderBy: day, orderDirection: desc) { day paidCalls } } } }`],
  };
  const results: Record<string, { p50: number; p99: number }> = {};
  for (const [name, [query, variables]] of Object.entries(queries)) {
    for (let i = 0; i < 20; i++) await run(query, variables); // warm: prepared statements, caches
    const times: number[] = [];
    for (let i = 0; i < 300; i++) {
      const start = performance.now();
      await run(query, variables);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    results[name] = { p50: Number(percentile(times, 50).toFixed(3)), p99: Number(percentile(times, 99).toFixed(3)) };
  }
  return { entities, queries: results };
}

// ---- run --------------------------------------------------------------------------------------------------------------

async function onSqlite<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const dir = path.join(tmpdir(), `modelshare-bench-${process.pid}`);
  await mkdir(dir, { recursive: true });
  const store = await openSqliteStore({ file: path.join(dir, `${Math.random().toString(36).slice(2)}.sqlite`), schema });
  try {
    return await fn(store);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function onPostgres<T>(fn: (store: Store) => Promise<T>): Promise<T | null> {
  const pgSchema = `bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  let store: Store;
  try {
    store = await openPostgresStore({ connectionString: POSTGRES_URL, pgSchema, schema });
  } catch (error) {
    console.log(`  (PostgreSQL skipped: ${(error as Error).message})`);
    return null;
  }
  try {
    return await fn(store);
  } finally {
    await store.close();
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${pgSchema}" CASCADE`);
    await client.end();
  }
}

console.log(`subgraph host store: ${EVENTS.toLocaleString("en-US")} events (settlement transactions of 3 events, one block each)`);
const sqliteAwaited = await onSqlite((s) => indexing(s, EVENTS, false));
const sqlitePipelined = await onSqlite((s) => indexing(s, EVENTS, true));
const pgAwaited = await onPostgres((s) => indexing(s, Math.min(EVENTS, 15_000), false));
const pgPipelined = await onPostgres((s) => indexing(s, Math.min(EVENTS, 15_000), true));
const fmt = (n: number | undefined) => (n === undefined ? "—" : n.toLocaleString("en-US")).padStart(9);
console.log(`                                   SQLite  PostgreSQL`);
console.log(`  events/s, commit awaited      ${fmt(sqliteAwaited.eventsPerSec)}  ${fmt(pgAwaited?.eventsPerSec)}`);
console.log(`  events/s, commits pipelined   ${fmt(sqlitePipelined.eventsPerSec)}  ${fmt(pgPipelined?.eventsPerSec)}   (target >= 2,000 for the whole host)`);

console.log(`query latency (in-process GraphQL, ms)`);
const sqliteQueries = await onSqlite((s) => latency(s, schema));
const pgQueries = await onPostgres((s) => latency(s, schema));
console.log(`  ${sqliteQueries.entities.toLocaleString("en-US")} entities (+ history)      SQLite p50 / p99     PostgreSQL p50 / p99`);
for (const name of Object.keys(sqliteQueries.queries)) {
  const s = sqliteQueries.queries[name]!;
  const p = pgQueries?.queries[name];
  console.log(`  ${name.padEnd(14)} ${s.p50.toFixed(2).padStart(18)} / ${s.p99.toFixed(2).padStart(6)}   ${p ? `${p.p50.toFixed(2).padStart(10)} / ${p.p99.toFixed(2).padStart(6)}` : "—"}`);
}
const worstP50 = Math.max(...Object.values(sqliteQueries.queries).map((q) => q.p50));
console.log(`  worst SQLite p50 ${worstP50.toFixed(2)} ms (target <= 5 ms: ${worstP50 <= 5 ? "PASS" : "MISS"})`);

const result = {
  events: EVENTS,
  sqlite: { events_per_sec_awaited: sqliteAwaited.eventsPerSec, events_per_sec_pipelined: sqlitePipelined.eventsPerSec, queries_ms: sqliteQueries.queries },
  postgres: pgAwaited && pgPipelined && pgQueries
    ? { events_per_sec_awaited: pgAwaited.eventsPerSec, events_per_sec_pipelined: pgPipelined.eventsPerSec, queries_ms: pgQueries.queries }
    : null,
  query_entities: sqliteQueries.entities,
};
await mkdir("bench-results", { recursive: true });
await writeFile("bench-results/subgraph-store.json", JSON.stringify(result, null, 2) + "\n");
