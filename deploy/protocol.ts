// Deploys the protocol with plain viem clients, so the same code serves Hardhat's in-process chain, a local
// `hardhat node` and any remote network.
import {
  encodeFunctionData,
  getContractAddress,
  isAddressEqual,
  type Account,
  type Address,
  type Chain,
  type Hash,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { loadArtifact, type ContractName } from "./artifacts.ts";
import type { Deployment } from "./deployment.ts";

export interface DeployClients {
  publicClient: PublicClient;
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
}

export interface DeployOptions {
  /** The stablecoin to use (USDC on real networks). When absent, a TestStablecoin is deployed. */
  stablecoin?: Address;
  owner?: Address;
  treasury?: Address;
  protocolFeeBps?: number;
  /** Seconds between a withdrawal request and its execution. */
  withdrawalDelay?: bigint;
  artifactsDir?: string;
  onStep?: (message: string) => void;
}

export const DEFAULTS = { protocolFeeBps: 100, withdrawalDelay: 3600n } as const;

/** Deploys stablecoin (if needed), registry and vault behind ERC-1967 proxies, and the share implementation. */
export async function deployProtocol({ publicClient, walletClient }: DeployClients, options: DeployOptions = {}): Promise<Deployment> {
  const deployer = walletClient.account.address;
  const owner = options.owner ?? deployer;
  const treasury = options.treasury ?? owner;
  const step = options.onStep ?? (() => {});
  const chainId = await publicClient.getChainId();
  const startBlock = await publicClient.getBlockNumber();

  async function deploy(name: ContractName, args: readonly unknown[] = []): Promise<{ address: Address; hash: Hash }> {
    const artifact = await loadArtifact(name, options.artifactsDir);
    step(`deploying ${name}`);
    const hash = await walletClient.deployContract({
      abi: artifact.abi,
      bytecode: artifact.bytecode,
      args,
      account: walletClient.account,
      chain: walletClient.chain,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success" || !receipt.contractAddress) throw new Error(`deployment of ${name} reverted (${hash})`);
    return { address: receipt.contractAddress, hash };
  }

  let stablecoin = options.stablecoin;
  let stablecoinDecimals = 6;
  if (stablecoin) {
    const code = await publicClient.getCode({ address: stablecoin });
    if (!code || code === "0x") throw new Error(`no contract at stablecoin address ${stablecoin} on chain ${chainId}`);
    stablecoinDecimals = Number(
      await publicClient.readContract({
        address: stablecoin,
        abi: [{ type: "function", name: "decimals", inputs: [], outputs: [{ type: "uint8" }], stateMutability: "view" }],
        functionName: "decimals",
      }),
    );
  } else {
    stablecoin = (await deploy("TestStablecoin", ["USD Coin", "USDC"])).address;
  }

  const registryArtifact = await loadArtifact("ModelRegistry", options.artifactsDir);
  const vaultArtifact = await loadArtifact("Vault", options.artifactsDir);
  const registryImpl = await deploy("ModelRegistry");
  const vaultImpl = await deploy("Vault");

  // The share implementation takes the two proxies' addresses as immutables and the proxies are initialised with
  // it, so the proxies' addresses are derived from the deployer's next nonces and everything is deployed once.
  const nonce = await publicClient.getTransactionCount({ address: deployer, blockTag: "pending" });
  const registryAddress = getContractAddress({ from: deployer, nonce: BigInt(nonce + 1) });
  const vaultAddress = getContractAddress({ from: deployer, nonce: BigInt(nonce + 2) });
  const sharesImpl = await deploy("ModelShares", [registryAddress, vaultAddress, stablecoin]);
  const registry = await deploy("ERC1967Proxy", [
    registryImpl.address,
    encodeFunctionData({ abi: registryArtifact.abi, functionName: "initialize", args: [owner, sharesImpl.address] }),
  ]);
  const vault = await deploy("ERC1967Proxy", [
    vaultImpl.address,
    encodeFunctionData({
      abi: vaultArtifact.abi,
      functionName: "initialize",
      args: [
        owner,
        stablecoin,
        registryAddress,
        treasury,
        options.protocolFeeBps ?? DEFAULTS.protocolFeeBps,
        options.withdrawalDelay ?? DEFAULTS.withdrawalDelay,
      ],
    }),
  ]);
  if (!isAddressEqual(registry.address, registryAddress) || !isAddressEqual(vault.address, vaultAddress)) {
    throw new Error("proxy addresses differ from the predicted ones: another transaction from the deployer interfered");
  }

  return {
    chainId,
    startBlock: Number(startBlock),
    deployedAt: new Date().toISOString(),
    owner,
    treasury,
    stablecoin: { address: stablecoin, decimals: stablecoinDecimals, test: !options.stablecoin },
    contracts: {
      registry: registryAddress,
      vault: vaultAddress,
      sharesImplementation: sharesImpl.address,
      registryImplementation: registryImpl.address,
      vaultImplementation: vaultImpl.address,
    },
  };
}
