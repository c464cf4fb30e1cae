// Builds the project's subgraph for a deployment. The compiled mappings do not depend on where the contracts live,
// so the subgraph is compiled once per content (schema, manifest, mappings, ABIs) with `graph codegen && graph build`
// into a cache, and each deployment gets a copy whose built manifest names its addresses, start block and network —
// the same files `npm run subgraph:build` would produce, without compiling again. Used by the local stack
// (`modelshare dev`), the tests and the benchmarks.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, readdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parse, stringify } from "yaml";
import { loadArtifact, type ContractName } from "../deploy/artifacts.ts";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const NODE_MODULES = path.join(ROOT, "node_modules");
export const DEFAULT_BUILD_CACHE = path.join(tmpdir(), "modelshare-graph-build");

/** graph-node's names for the chains a deployment may live on. */
export const GRAPH_NETWORKS: Readonly<Record<number, string>> = {
  1: "mainnet",
  10: "optimism",
  137: "matic",
  8453: "base",
  42161: "arbitrum-one",
  84532: "base-sepolia",
  11155111: "sepolia",
  31337: "hardhat",
};

export function graphNetwork(chainId: number): string {
  return GRAPH_NETWORKS[chainId] ?? `chain-${chainId}`;
}

/** A subgraph's sources, held in memory. */
export interface SubgraphSources {
  /** subgraph.yaml */
  manifest: string;
  schema: string;
  /** File name → AssemblyScript source, under src/. */
  mappings: Record<string, string>;
  /** ABI name → ABI items, written to abis/<name>.json. */
  abis: Record<string, unknown[]>;
}

function hash(...parts: (string | Uint8Array)[]): string {
  const h = createHash("sha256");
  for (const part of parts) h.update(part).update("\0");
  return h.digest("hex").slice(0, 16);
}

/** Builds into a fresh folder and moves it into the cache, so concurrent builders never see half a build. */
export async function cachedBuild(cacheDir: string, key: string, build: (dir: string) => Promise<void>): Promise<string> {
  const target = path.join(cacheDir, key);
  if (existsSync(path.join(target, ".done"))) return target;
  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(path.join(cacheDir, `${key}-`));
  try {
    await build(work);
    await writeFile(path.join(work, ".done"), "");
    await rename(work, target).catch(async (error: NodeJS.ErrnoException) => {
      // Another process finished first: keep its copy.
      if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error;
      await rm(work, { recursive: true, force: true });
    });
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
  return target;
}

/** Runs `graph codegen` and `graph build` on sources held in memory; returns the build folder (cached by content). */
export async function compileSources(sources: SubgraphSources, cacheDir = DEFAULT_BUILD_CACHE): Promise<string> {
  const files = Object.entries(sources.mappings).sort();
  const abis = Object.entries(sources.abis).sort();
  const key = `subgraph-${hash(sources.manifest, sources.schema, JSON.stringify(files), JSON.stringify(abis))}`;
  const dir = await cachedBuild(cacheDir, key, async (work) => {
    await symlink(NODE_MODULES, path.join(work, "node_modules"), "dir");
    await mkdir(path.join(work, "src"));
    await mkdir(path.join(work, "abis"));
    await writeFile(path.join(work, "subgraph.yaml"), sources.manifest);
    await writeFile(path.join(work, "schema.graphql"), sources.schema);
    for (const [name, source] of files) await writeFile(path.join(work, "src", name), source);
    for (const [name, abi] of abis) await writeFile(path.join(work, "abis", `${name}.json`), JSON.stringify(abi));
    const graph = (...args: string[]) => run("npx", ["graph", ...args], { cwd: work, maxBuffer: 64 * 1024 * 1024 });
    try {
      await graph("codegen", "subgraph.yaml", "--output-dir", "generated");
      await graph("build", "subgraph.yaml", "--output-dir", "build");
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      throw new Error(`graph-cli failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
    }
  });
  return path.join(dir, "build");
}

/** The project's subgraph (subgraph/), compiled against the contracts' current ABIs. */
export async function compileProjectSubgraph(cacheDir = DEFAULT_BUILD_CACHE): Promise<string> {
  const source = path.join(ROOT, "subgraph");
  const mappings: Record<string, string> = {};
  for (const name of (await readdir(path.join(source, "src"))).filter((f) => f.endsWith(".ts"))) {
    mappings[name] = await readFile(path.join(source, "src", name), "utf8");
  }
  const abis: Record<string, unknown[]> = {};
  for (const name of ["ModelRegistry", "Vault", "ModelShares"] as ContractName[]) abis[name] = [...(await loadArtifact(name)).abi];
  return compileSources(
    {
      manifest: await readFile(path.join(source, "subgraph.yaml"), "utf8"),
      schema: await readFile(path.join(source, "schema.graphql"), "utf8"),
      mappings,
      abis,
    },
    cacheDir,
  );
}

/** Where a deployment's contracts are, for the built manifest. */
export interface SubgraphTarget {
  registry: string;
  vault: string;
  startBlock: number;
  /** graph-node's network name (default "hardhat"). */
  network?: string;
  /** Overrides per data source (e.g. a later start block for one of them). */
  startBlocks?: Partial<Record<"ModelRegistry" | "Vault", number>>;
}

interface BuiltManifest {
  dataSources: { name: string; network: string; source: { address: string; startBlock: number } }[];
  templates?: { network: string }[];
}

/**
 * The project's subgraph built for a deployment, as `npm run subgraph:build` would build it: the compiled files are
 * shared, and `outDir` (default: a new temporary folder) gets them with the manifest's addresses, start blocks and
 * network filled in.
 */
export async function buildSubgraphFor(target: SubgraphTarget, options: { outDir?: string; cacheDir?: string } = {}): Promise<string> {
  const compiled = await compileProjectSubgraph(options.cacheDir);
  const out = options.outDir ?? (await mkdtemp(path.join(tmpdir(), "modelshare-subgraph-")));
  await rm(out, { recursive: true, force: true });
  await cp(compiled, out, { recursive: true });
  const manifest = parse(await readFile(path.join(out, "subgraph.yaml"), "utf8")) as BuiltManifest;
  const addresses: Record<string, string> = { ModelRegistry: target.registry, Vault: target.vault };
  const network = target.network ?? "hardhat";
  for (const source of manifest.dataSources) {
    source.network = network;
    source.source.address = addresses[source.name]!;
    source.source.startBlock = target.startBlocks?.[source.name as "Vault"] ?? target.startBlock;
  }
  for (const template of manifest.templates ?? []) template.network = network;
  await writeFile(path.join(out, "subgraph.yaml"), stringify(manifest));
  return out;
}
