// The CLI's side of storage: builds the SDK storage adapter from the CLI settings, stores bytes with a progress
// bar and returns the CID in both forms (text for people, 36-byte binary for the registry). The CID computation
// and the adapters themselves live in sdk/storage.
import type { Hex } from "viem";
import { bytesToHex } from "viem";
import { decodeModelCard, type ModelCard } from "../model-card.ts";
import type { CliConfig } from "./config.ts";
import { CliError, EXIT, type Output } from "./output.ts";
import type { StorageConfig } from "../storage/index.ts";

/** A well-formed binary CIDv1 (raw codec, non-zero sha2-256 digest): stands in for CIDs not known yet when a
 * transaction is simulated before the upload. */
export const PLACEHOLDER_CID: Hex = `0x01551220${"11".repeat(32)}`;

export interface StoredObject {
  cid: string;
  /** The binary CIDv1 the registry records. */
  cidBytes: Hex;
}

/** Stores `bytes` with the configured adapter, drawing a progress bar labelled `label`. */
export async function storeBytes(config: CliConfig, out: Output, bytes: Uint8Array, label: string): Promise<StoredObject> {
  const { createStorage, cidToBytes } = await storageModule();
  const storage = createStorage(storageConfig(config));
  const bar = out.bar(label, bytes.length);
  let cid: string;
  try {
    ({ cid } = await storage.put(bytes, { onProgress: (done, total) => bar.update(done, total) }));
  } catch (error) {
    bar.stop();
    throw new CliError(`storing ${label} in ${config.storage.kind} storage failed: ${(error as Error).message}`, EXIT.environment);
  }
  bar.stop(`${label}: stored ${cid}`);
  return { cid, cidBytes: bytesToHex(cidToBytes(cid)) };
}

/** The model card behind a metadata CID, or undefined when the configured storage doesn't have it. */
export async function fetchCard(config: CliConfig, cid: string): Promise<ModelCard | undefined> {
  try {
    const { createStorage } = await storageModule();
    const storage = createStorage(storageConfig(config));
    return decodeModelCard(await storage.get(cid));
  } catch {
    return undefined;
  }
}

/** The SDK storage settings the CLI settings describe. */
export function storageConfig(config: CliConfig): StorageConfig {
  const s = config.storage;
  // config.ts guarantees a URL for remote kinds; createStorage validates the rest with readable messages.
  if (s.kind === "local") return { kind: "local", dir: s.dir ?? "" };
  if (s.kind === "kubo") return { kind: "kubo", url: s.url ?? "" };
  return { kind: "nft.storage", url: s.url ?? "", token: s.token ?? "" };
}

/** The storage adapter the CLI settings describe. */
export async function openStorage(config: CliConfig) {
  const { createStorage } = await storageModule();
  return createStorage(storageConfig(config));
}

// Loaded on first use so read-only commands don't pay for the IPFS encoders.
async function storageModule() {
  return import("../storage/index.ts");
}
