// Small, generic chain helpers for contract tests: impersonation, time travel, block timestamps, receipts.
// Independent of the protocol: each takes the pieces of a Hardhat network connection it needs.
import { parseEther, type Address, type Hash } from "viem";
import type { NetworkConnection } from "hardhat/types/network";

type Connection = NetworkConnection;
type Viem = Connection["viem"];

/** A wallet client that sends as `address` (impersonated, funded with ETH for gas). */
export async function impersonate(connection: Connection, address: Address, ether = "10") {
  await connection.networkHelpers.impersonateAccount(address);
  await connection.networkHelpers.setBalance(address, parseEther(ether));
  return connection.viem.getWalletClient(address);
}

/** Stops impersonating `address`. */
export async function stopImpersonating(connection: Connection, address: Address) {
  await connection.networkHelpers.stopImpersonatingAccount(address);
}

/** Timestamp of the latest block, as a bigint. */
export async function latestTimestamp(viem: Viem): Promise<bigint> {
  const publicClient = await viem.getPublicClient();
  const block = await publicClient.getBlock({ blockTag: "latest" });
  return block.timestamp;
}

/** Makes the next block's timestamp exactly `timestamp` (seconds). */
export async function setNextTimestamp(connection: Connection, timestamp: bigint | number) {
  await connection.networkHelpers.time.setNextBlockTimestamp(timestamp);
}

/** Moves the chain forward by `seconds` and mines a block. */
export async function increaseTime(connection: Connection, seconds: bigint | number) {
  await connection.networkHelpers.time.increase(seconds);
}

/** Waits for `hash` and throws if the transaction reverted. */
export async function mined(viem: Viem, hash: Hash | Promise<Hash>) {
  const publicClient = await viem.getPublicClient();
  const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
  if (receipt.status !== "success") throw new Error(`transaction ${receipt.transactionHash} reverted`);
  return receipt;
}

/** A random 32-byte value (nonces, labels). */
export function randomBytes32(): `0x${string}` {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `0x${Buffer.from(bytes).toString("hex")}`;
}
