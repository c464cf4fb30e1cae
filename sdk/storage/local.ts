// The embedded default: a directory of files named by their CID. The gateway can serve it as /ipfs/<cid>.
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { encodeBytes } from "./cid.ts";
import type { PutOptions, StorageAdapter, Stored } from "./types.ts";
import { verified } from "./verify.ts";

const CHUNK = 8 * 1024 * 1024;

export class LocalStorage implements StorageAdapter {
  readonly kind = "local" as const;
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async put(bytes: Uint8Array, options: PutOptions = {}): Promise<Stored> {
    const { cid } = await encodeBytes(bytes);
    const file = this.#file(cid);
    await mkdir(this.dir, { recursive: true });
    if (!(await this.has(cid))) {
      // Written in chunks (for progress) to a temporary name, then renamed: a crash never leaves a partial file
      // under a CID.
      const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(temp, new Uint8Array(0));
      const { appendFile } = await import("node:fs/promises");
      for (let offset = 0; offset < bytes.length; offset += CHUNK) {
        await appendFile(temp, bytes.subarray(offset, offset + CHUNK));
        options.onProgress?.(Math.min(offset + CHUNK, bytes.length), bytes.length);
      }
      await rename(temp, file);
    }
    options.onProgress?.(bytes.length, bytes.length);
    return { cid, size: bytes.length };
  }

  async get(cid: string): Promise<Uint8Array> {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(this.#file(cid));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new Error(`${cid} is not in the local store ${this.dir}`);
      throw error;
    }
    return verified(cid, bytes, `the local store (${this.#file(cid)} is corrupted)`);
  }

  async has(cid: string): Promise<boolean> {
    try {
      await stat(this.#file(cid));
      return true;
    } catch {
      return false;
    }
  }

  #file(cid: string): string {
    if (!/^[a-z2-7]+$/.test(cid)) throw new Error(`not a base32 CIDv1: "${cid}"`);
    return path.join(this.dir, cid);
  }
}
