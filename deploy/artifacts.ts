// Reads the compiled contracts that `hardhat build` writes to artifacts/. Deployment runs outside Hardhat (any
// JSON-RPC endpoint), so it needs only the ABI and bytecode of each contract.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";
import type { Abi, Hex } from "viem";

export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

const SOURCES: Record<string, string> = {
  ModelRegistry: "contracts/ModelRegistry.sol",
  ModelShares: "contracts/ModelShares.sol",
  Vault: "contracts/Vault.sol",
  TestStablecoin: "contracts/token/TestStablecoin.sol",
  ERC1967Proxy: "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol",
};

export type ContractName = keyof typeof SOURCES & string;

export interface Artifact {
  contractName: string;
  abi: Abi;
  bytecode: Hex;
}

export async function loadArtifact(name: ContractName, artifactsDir = path.join(REPO_ROOT, "artifacts")): Promise<Artifact> {
  const source = SOURCES[name];
  if (!source) throw new Error(`unknown contract ${name}`);
  const file = path.join(artifactsDir, source, `${name}.json`);
  try {
    return JSON.parse(await readFile(file, "utf8")) as Artifact;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(`compiled contract ${name} not found at ${file}: run \`npm run build\` first`);
    }
    throw error;
  }
}
