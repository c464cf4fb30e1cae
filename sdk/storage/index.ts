// Storage entry point: pick an adapter from a validated config.
import { z } from "zod";
import { LocalStorage } from "./local.ts";
import { KuboStorage, NftStorageCompatible } from "./remote.ts";
import type { StorageAdapter } from "./types.ts";

export { cidFromBytes, cidOf, cidToBytes, encodeBytes, sha256Hex } from "./cid.ts";
export { LocalStorage } from "./local.ts";
export { KuboStorage, NftStorageCompatible } from "./remote.ts";
export type { PutOptions, StorageAdapter, Stored } from "./types.ts";

export const storageConfigSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("local"), dir: z.string().min(1) }),
  z.object({ kind: z.literal("nft.storage"), url: z.url(), token: z.string().min(1), gateway: z.url().optional() }),
  z.object({ kind: z.literal("kubo"), url: z.url() }),
]);

export type StorageConfig = z.input<typeof storageConfigSchema>;

export function createStorage(config: StorageConfig): StorageAdapter {
  const parsed = storageConfigSchema.safeParse(config);
  if (!parsed.success) throw new Error(`invalid storage settings: ${z.prettifyError(parsed.error)}`);
  const c = parsed.data;
  switch (c.kind) {
    case "local":
      return new LocalStorage(c.dir);
    case "nft.storage":
      return new NftStorageCompatible(c.url, c.token, c.gateway);
    case "kubo":
      return new KuboStorage(c.url);
  }
}
