// What the secp256k1 pool sends its worker threads: one buffer per batch, each job a 32-byte digest followed, for a
// recovery, by its 65-byte signature; and what comes back, one result per job in order.
import type { Address, Hex } from "viem";

export const RECOVER = 0;
export const SIGN = 1;

export interface Batch {
  id: number;
  /** RECOVER or SIGN, per job. */
  kinds: Uint8Array<ArrayBuffer>;
  data: Uint8Array<ArrayBuffer>;
}

export interface BatchResult {
  id: number;
  /** The recovered address (null: malformed or malleable signature), or the 65-byte signature. */
  results: (Address | Hex | null)[];
}

export interface Job {
  kind: typeof RECOVER | typeof SIGN;
  digest: Uint8Array;
  signature?: Uint8Array;
  resolve(result: Address | Hex | null): void;
}

export function packBatch(id: number, jobs: readonly Job[]): Batch {
  let size = 0;
  for (const job of jobs) size += job.kind === RECOVER ? 97 : 32;
  const data = new Uint8Array(size);
  const kinds = new Uint8Array(jobs.length);
  let at = 0;
  jobs.forEach((job, i) => {
    kinds[i] = job.kind;
    data.set(job.digest, at);
    at += 32;
    if (job.kind === RECOVER) {
      data.set(job.signature!, at);
      at += 65;
    }
  });
  return { id, kinds, data };
}
