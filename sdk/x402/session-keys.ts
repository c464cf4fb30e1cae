// Session keys: a payer (a smart-account agent, say) registers a plain key on the vault with a spending cap and an
// expiry; vouchers signed by that key are charged to the payer's escrow, up to the cap. The gateway checks them with
// a plain ECDSA recovery, so the agent pays at full speed while its owner bounds what it can spend.
import type { Account, Address, Chain, Hash, PublicClient, Transport, WalletClient } from "viem";
import { vaultAbi } from "../contracts.ts";
import { describeError } from "../errors.ts";

export interface VaultWriter {
  publicClient: PublicClient;
  /** The payer's wallet: session keys are registered by the payer itself. */
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  vault: Address;
}

export interface SessionKey {
  cap: bigint;
  /** What vouchers signed by the key have been charged so far (settled on-chain). */
  spent: bigint;
  /** Unix seconds; 0 when the key is not (or no longer) registered. */
  expiry: bigint;
}

/** Registers `signer` as the wallet account's session key, allowed to sign for up to `cap` until `expiry` (unix
 *  seconds). Registering a key again replaces its cap and expiry and resets what it has spent. */
export function setSessionSigner(vault: VaultWriter, signer: Address, cap: bigint, expiry: bigint): Promise<Hash> {
  return send(vault, "setSessionSigner", [signer, cap, expiry]);
}

/** Revokes a session key: the gateway refuses its vouchers once it sees the event, and the vault at settlement. */
export function revokeSessionSigner(vault: VaultWriter, signer: Address): Promise<Hash> {
  return send(vault, "revokeSessionSigner", [signer]);
}

export async function sessionOf(publicClient: PublicClient, vault: Address, payer: Address, signer: Address): Promise<SessionKey> {
  const [cap, spent, expiry] = await publicClient.readContract({ address: vault, abi: vaultAbi, functionName: "sessionOf", args: [payer, signer] });
  return { cap, spent, expiry: BigInt(expiry) };
}

/** Simulates first (a refusal such as InvalidSession becomes one readable error, nothing sent), then sends and
 *  waits for the receipt. */
async function send(
  { publicClient, walletClient, vault }: VaultWriter,
  functionName: "setSessionSigner" | "revokeSessionSigner",
  args: readonly unknown[],
): Promise<Hash> {
  const call = { address: vault, abi: vaultAbi, functionName, args, account: walletClient.account, chain: walletClient.chain } as never;
  try {
    await publicClient.simulateContract(call);
  } catch (error) {
    throw new Error(`${functionName} would fail: ${describeError(error)}`);
  }
  const hash = await walletClient.writeContract(call);
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${functionName} reverted (${hash})`);
  return hash;
}
