// Sets up the embedded subgraph host for indexer tests: the protocol deployed on a fresh in-process Hardhat chain,
// the project's subgraph built for that deployment (in a temp folder), a real SQLite store and an indexer on the
// chain's EIP-1193 provider. Also reads entities back the way a mapping would, through the store's BlockWriter.
import { mkdtemp } from "node:fs/promises";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import path from "node:path";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { bytesToHex, toHex } from "viem";
import { buildSubgraphFor, type SubgraphDeployment } from "./graph-build.ts";
import { deployProtocol } from "./protocol.ts";
import { loadManifest, type Manifest } from "../../subgraph/host/runtime/manifest.ts";
import { createIndexer, type Indexer, type IndexerOptions } from "../../subgraph/host/indexer/index.ts";
import { openSqliteStore } from "../../subgraph/host/store/sqlite.ts";
import type { Entity, EntityStore, StoreValue } from "../../subgraph/host/store/types.ts";
import type { SubgraphSchema } from "../../subgraph/host/schema.ts";

export interface HostSetup {
  connection: NetworkConnection;
  p: Awaited<ReturnType<typeof deployProtocol>>;
  buildDir: string;
  manifest: Manifest;
  /** The SQLite file, so a test can reopen it. */
  file: string;
  store: EntityStore;
  indexer: Indexer;
  /** A new store on the same file and an indexer on it, as after a restart. */
  reopen(options?: Partial<IndexerOptions>): Promise<{ store: EntityStore; indexer: Indexer }>;
  /** Another indexer with its own empty store (in `file`), on the same chain and build. */
  another(options?: Partial<IndexerOptions>): Promise<{ store: EntityStore; indexer: Indexer; file: string }>;
}

export interface SetupOptions {
  /** Runs on the chain before the subgraph is built; may return changes to the manifest (e.g. start blocks). */
  prepare?: (chain: { connection: NetworkConnection; p: Awaited<ReturnType<typeof deployProtocol>> }) => Promise<Partial<SubgraphDeployment> | void>;
  indexer?: Partial<IndexerOptions>;
}

export async function setupHost(options: SetupOptions = {}): Promise<HostSetup> {
  const connection = await network.create();
  const p = await deployProtocol(connection.viem);
  const changes = (await options.prepare?.({ connection, p })) ?? {};
  const buildDir = await buildSubgraphFor({
    registry: p.deployment.contracts.registry,
    vault: p.deployment.contracts.vault,
    startBlock: p.deployment.startBlock,
    ...changes,
  });
  const manifest = await loadManifest(buildDir);
  const dir = await mkdtemp(path.join(tmpdir(), "modelshare-host-"));
  const file = path.join(dir, "subgraph.sqlite");
  let count = 0;
  const open = async (extra: Partial<IndexerOptions> = {}, at = file) => {
    const store = await openSqliteStore({ file: at, schema: manifest.schema });
    const indexer = await createIndexer({ buildDir: manifest, store, rpc: connection.provider, pollIntervalMs: 20, ...options.indexer, ...extra });
    return { store, indexer, file: at };
  };
  const { store, indexer } = await open();
  const another = (extra: Partial<IndexerOptions> = {}) => open(extra, path.join(dir, `other-${++count}.sqlite`));
  return { connection, p, buildDir, manifest, file, store, indexer, reopen: (extra) => open(extra), another };
}

/** Plain JS values of an entity's fields (bytes as 0x hex), for assertions. */
export type Plain = Record<string, unknown>;

function plainValue(value: StoreValue): unknown {
  switch (value.kind) {
    case "Null":
      return null;
    case "Bytes":
      return bytesToHex(value.value);
    case "Array":
      return value.value.map(plainValue);
    default:
      return value.value;
  }
}

export function plain(entity: Entity | null): Plain | null {
  if (!entity) return null;
  return Object.fromEntries([...entity].map(([k, v]) => [k, plainValue(v)]));
}

/**
 * Reads entities as of the store's head. EntityStore reads live on block writers, so this opens one for the block
 * after the head and aborts it: nothing is written.
 */
export async function readEntities<T>(store: EntityStore, read: (get: (type: string, id: string) => Plain | null) => T): Promise<T> {
  const head = await store.head();
  const number = (head?.number ?? 0) + 1;
  const writer = store.begin({ number, hash: toHex(number, { size: 32 }), parentHash: head?.hash ?? toHex(0, { size: 32 }), timestamp: 0 });
  try {
    return read((type, id) => plain(writer.get(type, id)));
  } finally {
    writer.abort();
  }
}

/** Every stored entity version of a SQLite store file, by type, in a stable order (for comparing two stores). */
export function dumpEntities(file: string, schema: SubgraphSchema): Record<string, unknown[]> {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const out: Record<string, unknown[]> = {};
    for (const type of schema.entities.keys()) {
      const rows = db.prepare(`SELECT * FROM "${type}" ORDER BY block_from, id`).all() as Record<string, unknown>[];
      out[type] = rows.map(({ vid: _vid, ...row }) => row);
    }
    return out;
  } finally {
    db.close();
  }
}
