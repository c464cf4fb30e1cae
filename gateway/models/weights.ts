// Weights by CID from the configured storage, accepted only when their sha256 equals the registry's. The storage
// adapter has already checked the bytes against the CID; the sha256 check is what binds them to the model: a creator
// who registered a wrong hash (or a CID of other content) gets a model that is never served.
import { createHash } from "node:crypto";
import type { StorageAdapter } from "../../sdk/storage/types.ts";
import { firstLine, ModelError } from "./errors.ts";

export interface WeightsRecord {
  weightsSha256: `0x${string}`;
  weightsCid: string;
}

export async function fetchWeights(storage: StorageAdapter, record: WeightsRecord, label: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await storage.get(record.weightsCid);
  } catch (error) {
    throw new ModelError("weights_unavailable", `the weights of ${label} (${record.weightsCid}) cannot be fetched from ${storage.kind} storage: ${firstLine(error)}`, {
      cause: error,
    });
  }
  const actual = `0x${createHash("sha256").update(bytes).digest("hex")}`;
  if (actual !== record.weightsSha256.toLowerCase()) {
    throw new ModelError(
      "weights_mismatch",
      `the weights of ${label} (${record.weightsCid}) hash to sha256 ${actual}, but the registry records ${record.weightsSha256}: refused`,
    );
  }
  return bytes;
}
