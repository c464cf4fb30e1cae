// Builds subgraph code the way graph-cli does, into temporary folders (never subgraph/build/): a one-file
// AssemblyScript mapping compiled with graph-cli's asc flags, or the real subgraph in subgraph/ compiled by
// `graph codegen && graph build`. Outputs are cached under the OS temp folder by a hash of their inputs, so test
// files and benchmarks that need the same build compile it once.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, readdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parse, stringify } from "yaml";
import { loadArtifact, type ContractName } from "../../deploy/artifacts.ts";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const NODE_MODULES = path.join(ROOT, "node_modules");
const CACHE = path.join(tmpdir(), "modelshare-graph-build");

function hash(...parts: (string | Uint8Array)[]): string {
  const h = createHash("sha256");
  for (const part of parts) h.update(part).update("\0");
  return h.digest("hex").slice(0, 16);
}

/** Builds into a fresh folder and moves it into the cache, so concurrent builders never see half a build. */
async function cached(key: string, build: (dir: string) => Promise<void>): Promise<string> {
  const target = path.join(CACHE, key);
  if (existsSync(path.join(target, ".done"))) return target;
  await mkdir(CACHE, { recursive: true });
  const work = await mkdtemp(path.join(CACHE, `${key}-`));
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

/** Compiles one AssemblyScript file against graph-ts with graph-cli's flags; returns the WASM bytes. */
export async function compileMapping(source: string): Promise<Uint8Array<ArrayBuffer>> {
  const dir = await cached(`asc-${hash(source)}`, async (work) => {
    await symlink(NODE_MODULES, path.join(work, "node_modules"), "dir");
    await writeFile(path.join(work, "mapping.ts"), source);
    const asc = path.join(NODE_MODULES, "assemblyscript/bin/asc");
    const globals = "node_modules/@graphprotocol/graph-ts/global/global.ts";
    const flags = ["--explicitStart", "--exportRuntime", "--runtime", "stub", "--optimize", "--debug"];
    try {
      await run(process.execPath, [asc, "mapping.ts", globals, "--baseDir", ".", "--lib", "node_modules", "--outFile", "mapping.wasm", ...flags], { cwd: work });
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      throw new Error(`asc failed:\n${e.stderr || e.stdout || String(error)}`);
    }
  });
  return new Uint8Array(await readFile(path.join(dir, "mapping.wasm")));
}

export interface TestSubgraph {
  /** subgraph.yaml */
  manifest: string;
  schema: string;
  /** File name → AssemblyScript source, under src/. */
  mappings: Record<string, string>;
  /** ABI name → ABI items, written to abis/<name>.json. */
  abis: Record<string, unknown[]>;
}

/** Runs `graph codegen` and `graph build` on a subgraph held in memory; returns the build folder. */
export async function buildTestSubgraph(subgraph: TestSubgraph): Promise<string> {
  const files = Object.entries(subgraph.mappings).sort();
  const abis = Object.entries(subgraph.abis).sort();
  const key = `subgraph-${hash(subgraph.manifest, subgraph.schema, JSON.stringify(files), JSON.stringify(abis))}`;
  const dir = await cached(key, async (work) => {
    await symlink(NODE_MODULES, path.join(work, "node_modules"), "dir");
    await mkdir(path.join(work, "src"));
    await mkdir(path.join(work, "abis"));
    await writeFile(path.join(work, "subgraph.yaml"), subgraph.manifest);
    await writeFile(path.join(work, "schema.graphql"), subgraph.schema);
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
async function buildProjectSubgraph(): Promise<string> {
  const source = path.join(ROOT, "subgraph");
  const mappings: Record<string, string> = {};
  for (const name of (await readdir(path.join(source, "src"))).filter((f) => f.endsWith(".ts"))) {
    mappings[name] = await readFile(path.join(source, "src", name), "utf8");
  }
  const abis: Record<string, unknown[]> = {};
  for (const name of ["ModelRegistry", "Vault", "ModelShares"] as ContractName[]) abis[name] = [...(await loadArtifact(name)).abi];
  return buildTestSubgraph({
    manifest: await readFile(path.join(source, "subgraph.yaml"), "utf8"),
    schema: await readFile(path.join(source, "schema.graphql"), "utf8"),
    mappings,
    abis,
  });
}

export interface SubgraphDeployment {
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
 * shared, each call gets its own folder with the manifest's addresses, start blocks and network filled in.
 */
export async function buildSubgraphFor(deployment: SubgraphDeployment): Promise<string> {
  const compiled = await buildProjectSubgraph();
  const out = await mkdtemp(path.join(tmpdir(), "modelshare-subgraph-"));
  await cp(compiled, out, { recursive: true });
  const manifest = parse(await readFile(path.join(out, "subgraph.yaml"), "utf8")) as BuiltManifest;
  const addresses: Record<string, string> = { ModelRegistry: deployment.registry, Vault: deployment.vault };
  const network = deployment.network ?? "hardhat";
  for (const source of manifest.dataSources) {
    source.network = network;
    source.source.address = addresses[source.name]!;
    source.source.startBlock = deployment.startBlocks?.[source.name as "Vault"] ?? deployment.startBlock;
  }
  for (const template of manifest.templates ?? []) template.network = network;
  await writeFile(path.join(out, "subgraph.yaml"), stringify(manifest));
  return out;
}
