// What every storage adapter offers. Each computes the CID locally first, so a remote that stores the bytes under
// another CID, or serves other bytes, is caught.

export type Progress = (done: number, total: number) => void;

export interface PutOptions {
  onProgress?: Progress;
}

export interface Stored {
  cid: string;
  size: number;
}

export interface StorageAdapter {
  readonly kind: "local" | "nft.storage" | "kubo";
  put(bytes: Uint8Array, options?: PutOptions): Promise<Stored>;
  /** The bytes behind `cid`, verified against it. */
  get(cid: string): Promise<Uint8Array>;
  has(cid: string): Promise<boolean>;
}
