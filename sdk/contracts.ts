// Typed viem contract instances for a deployment. The SDK is the one place that knows the ABIs.
import { getContract, type Account, type Address, type Chain, type PublicClient, type Transport, type WalletClient } from "viem";
import { modelRegistryAbi, modelSharesAbi, testStablecoinAbi, vaultAbi } from "./abi/generated.ts";
import type { Deployment } from "../deploy/deployment.ts";

export { modelRegistryAbi, modelSharesAbi, testStablecoinAbi, vaultAbi };

export interface Clients {
  publicClient: PublicClient;
  walletClient?: WalletClient<Transport, Chain | undefined, Account>;
}

function client({ publicClient, walletClient }: Clients) {
  return walletClient ? { public: publicClient, wallet: walletClient } : { public: publicClient };
}

/** The registry, vault and stablecoin of a deployment, plus a way to reach any model's share token. */
export function connect(clients: Clients, deployment: Deployment) {
  const c = client(clients);
  return {
    deployment,
    registry: getContract({ address: deployment.contracts.registry, abi: modelRegistryAbi, client: c }),
    vault: getContract({ address: deployment.contracts.vault, abi: vaultAbi, client: c }),
    // The TestStablecoin ABI is a superset of what is used of a real stablecoin (ERC-20, permit, EIP-3009).
    stablecoin: getContract({ address: deployment.stablecoin.address, abi: testStablecoinAbi, client: c }),
    shares: (address: Address) => getContract({ address, abi: modelSharesAbi, client: c }),
  };
}

export type Modelshare = ReturnType<typeof connect>;
