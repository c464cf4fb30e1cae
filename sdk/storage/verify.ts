// One rule for every adapter: bytes are accepted only if they hash to the CID they were asked for.
import { cidOf } from "./cid.ts";

export async function verified(cid: string, bytes: Uint8Array, source: string): Promise<Uint8Array> {
  const actual = await cidOf(bytes);
  if (actual !== cid) throw new Error(`${source} returned bytes for ${actual} when ${cid} was asked: refused`);
  return bytes;
}

export function sameCid(expected: string, reported: string | undefined, source: string): void {
  if (reported !== undefined && reported !== expected) {
    throw new Error(`${source} stored the content as ${reported}, but it is ${expected} locally`);
  }
}
