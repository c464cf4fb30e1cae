// Deploys to the chain behind an RPC URL and records the deployment file, refusing to silently replace a
// deployment that is live on that chain.
import { createPublicClient, createWalletClient, http, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { deployProtocol, type DeployOptions } from "./protocol.ts";
import { deploymentPath, readDeployment, writeDeployment, DEFAULT_DEPLOYMENTS_DIR, type Deployment } from "./deployment.ts";

/** Hardhat's first default account: well known, funded on every local Hardhat chain, worthless elsewhere. */
export const HARDHAT_DEFAULT_KEY: Hex = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
export const LOCAL_CHAIN_IDS = new Set([31337, 1337]);

export interface DeployToChainOptions extends Omit<DeployOptions, "stablecoin"> {
  rpcUrl: string;
  privateKey?: Hex;
  stablecoin?: Address;
  deploymentsDir?: string;
  /** Replace a deployment that is still live on this chain. */
  force?: boolean;
}

export interface DeployResult {
  deployment: Deployment;
  file: string;
  reused: false;
}

export async function deployToChain(options: DeployToChainOptions): Promise<DeployResult> {
  const transport = http(options.rpcUrl, { retryCount: 0, timeout: 10_000 });
  const publicClient = createPublicClient({ transport });
  let chainId: number;
  try {
    chainId = await publicClient.getChainId();
  } catch {
    throw new Error(`cannot reach the RPC endpoint ${options.rpcUrl}: is the node running?`);
  }
  const local = LOCAL_CHAIN_IDS.has(chainId);
  if (!options.privateKey && !local) {
    throw new Error(`chain ${chainId} is not a local chain: set the deployer key (MODELSHARE_DEPLOYER_KEY)`);
  }
  if (!options.stablecoin && !local) {
    throw new Error(`chain ${chainId} is not a local chain: set the stablecoin address (MODELSHARE_STABLECOIN), e.g. USDC`);
  }
  const dir = options.deploymentsDir ?? DEFAULT_DEPLOYMENTS_DIR;
  const existing = await readDeployment(chainId, dir);
  if (existing && !options.force) {
    const code = await publicClient.getCode({ address: existing.contracts.registry });
    if (code && code !== "0x") {
      throw new Error(
        `a Modelshare deployment is live on chain ${chainId} (${deploymentPath(chainId, dir)}); pass --force to replace it`,
      );
    }
  }

  const account = privateKeyToAccount(options.privateKey ?? HARDHAT_DEFAULT_KEY);
  const balance = await publicClient.getBalance({ address: account.address });
  if (balance === 0n) throw new Error(`the deployer ${account.address} has no native currency on chain ${chainId} to pay for gas`);
  const walletClient = createWalletClient({ account, transport });
  const deployment = await deployProtocol({ publicClient, walletClient }, options);
  const file = await writeDeployment(deployment, dir);
  return { deployment, file, reused: false };
}
