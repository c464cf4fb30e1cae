// The deployment file `deployments/<chainId>.json`: the one place the SDK, the gateway and the subgraph learn
// where the protocol lives on a chain.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { isAddress, type Address } from "viem";
import { REPO_ROOT } from "./artifacts.ts";

const address = z.string().refine(isAddress, "not an address").transform((a) => a as Address);

export const deploymentSchema = z.object({
  chainId: z.number().int().positive(),
  startBlock: z.number().int().nonnegative(),
  deployedAt: z.string(),
  owner: address,
  treasury: address,
  stablecoin: z.object({ address, decimals: z.number().int().min(0).max(36), test: z.boolean() }),
  contracts: z.object({
    registry: address,
    vault: address,
    sharesImplementation: address,
    registryImplementation: address,
    vaultImplementation: address,
  }),
});

export type Deployment = z.infer<typeof deploymentSchema>;

export const DEFAULT_DEPLOYMENTS_DIR = path.join(REPO_ROOT, "deployments");

export function deploymentPath(chainId: number, dir = DEFAULT_DEPLOYMENTS_DIR): string {
  return path.join(dir, `${chainId}.json`);
}

/** Reads and validates a deployment file; returns undefined when there is none for this chain. */
export async function readDeployment(chainIdOrFile: number | string, dir = DEFAULT_DEPLOYMENTS_DIR): Promise<Deployment | undefined> {
  const file = typeof chainIdOrFile === "number" ? deploymentPath(chainIdOrFile, dir) : chainIdOrFile;
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const parsed = deploymentSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`invalid deployment file ${file}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Writes atomically, so a crash never leaves a half-written file that other components would read. */
export async function writeDeployment(deployment: Deployment, dir = DEFAULT_DEPLOYMENTS_DIR): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = deploymentPath(deployment.chainId, dir);
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(deployment, null, 2) + "\n");
  await rename(temp, file);
  return file;
}
