// `npm run subgraph:build [-- <chainId>]`: writes the ABIs from the compiled contracts and a manifest with the
// addresses and start blocks of deployments/<chainId>.json, then runs `graph codegen` and `graph build`. Without a
// deployment file the manifest's placeholders are kept, which still type-checks and compiles every mapping.
import { execFileSync } from "node:child_process";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { parse, stringify } from "yaml";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadArtifact, type ContractName } from "../deploy/artifacts.ts";
import { readDeployment, DEFAULT_DEPLOYMENTS_DIR, type Deployment } from "../deploy/deployment.ts";
import { graphNetwork } from "./builder.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));

interface Manifest {
  dataSources: { name: string; network: string; source: { address: string; startBlock: number } }[];
  templates?: { network: string }[];
}
async function findDeployment(chainId?: number): Promise<Deployment | undefined> {
  if (chainId !== undefined) {
    const d = await readDeployment(chainId);
    if (!d) throw new Error(`no deployment file for chain ${chainId} in ${DEFAULT_DEPLOYMENTS_DIR}`);
    return d;
  }
  const files = await readdir(DEFAULT_DEPLOYMENTS_DIR).catch(() => [] as string[]);
  const first = files.find((f) => /^\d+\.json$/.test(f));
  return first ? readDeployment(Number(first.slice(0, -5))) : undefined;
}

const arg = process.argv[2];
const deployment = await findDeployment(arg === undefined ? undefined : Number(arg));

await mkdir(path.join(HERE, "abis"), { recursive: true });
for (const name of ["ModelRegistry", "Vault", "ModelShares"] as ContractName[]) {
  const { abi } = await loadArtifact(name);
  await writeFile(path.join(HERE, "abis", `${name}.json`), JSON.stringify(abi, null, 2));
}

const graph = (...args: string[]) => execFileSync("npx", ["graph", ...args], { cwd: HERE, stdio: "inherit" });
let manifest = "subgraph.yaml";
if (deployment) {
  // A generated manifest, so the committed one keeps its placeholders (graph-cli's --network rewrites it in place).
  const network = graphNetwork(deployment.chainId);
  const doc = parse(await readFile(path.join(HERE, manifest), "utf8")) as Manifest;
  const addresses: Record<string, string> = { ModelRegistry: deployment.contracts.registry, Vault: deployment.contracts.vault };
  for (const source of doc.dataSources) {
    source.network = network;
    source.source.address = addresses[source.name]!;
    source.source.startBlock = deployment.startBlock;
  }
  for (const template of doc.templates ?? []) template.network = network;
  manifest = "subgraph.generated.yaml";
  await writeFile(path.join(HERE, manifest), stringify(doc));
  console.error(`building for ${network} (chain ${deployment.chainId}) from ${manifest}`);
} else {
  console.error("no deployment file found: building with the manifest's placeholder addresses");
}
graph("codegen", manifest, "--output-dir", "generated");
graph("build", manifest);
