// Content addressing. CIDs are computed locally with nft.storage's encoder (UnixFS, 256 KiB raw leaves, balanced
// DAG of width 174, CIDv1), so the same bytes give the same CID whichever adapter stores them.
import { createHash } from "node:crypto";
import { NFTStorage } from "nft.storage";
import { CarWriter } from "@ipld/car";
import { CID } from "multiformats/cid";

const SHA2_256 = 0x12;
const CODECS = new Set([0x55, 0x70, 0x71]); // raw, dag-pb, dag-cbor: what the registry accepts

export interface Encoded {
  cid: string;
  /** The CAR file of the DAG, for remote pinning services. */
  car(): Promise<Uint8Array>;
}

/** Encodes bytes into their UnixFS DAG; the root CID is what the registry records. */
export async function encodeBytes(bytes: Uint8Array): Promise<Encoded> {
  // The encoder refuses empty content; a CID is still needed for empty files, so they get the raw-leaf CID.
  if (bytes.length === 0) return { cid: await rawCid(bytes), car: async () => carOf([]) };
  // Without a blockstore of ours the encoder writes every block to a temporary folder it never removes.
  const blockstore = new MemoryBlocks();
  const { cid } = await NFTStorage.encodeBlob(new Blob([bytes as Uint8Array<ArrayBuffer>]), { blockstore });
  return { cid: cid.toString(), car: async () => carOf([...blockstore.entries()], CID.parse(cid.toString())) };
}

/** The blockstore interface the encoder uses, in memory (the file's bytes are in memory already). */
class MemoryBlocks {
  readonly #blocks = new Map<string, { cid: CID; bytes: Uint8Array }>();

  async put(cid: CID, bytes: Uint8Array) {
    this.#blocks.set(cid.toString(), { cid: CID.parse(cid.toString()), bytes });
    return cid;
  }
  async get(cid: CID) {
    const block = this.#blocks.get(cid.toString());
    if (!block) throw new Error(`block ${cid} not found`);
    return block.bytes;
  }
  async has(cid: CID) {
    return this.#blocks.has(cid.toString());
  }
  async *blocks() {
    yield* this.#blocks.values();
  }
  async close() {}
  entries() {
    return this.#blocks.values();
  }
}

export async function cidOf(bytes: Uint8Array): Promise<string> {
  return (await encodeBytes(bytes)).cid;
}

async function rawCid(bytes: Uint8Array): Promise<string> {
  const { create } = await import("multiformats/hashes/digest");
  const digest = createHash("sha256").update(bytes).digest();
  return CID.createV1(0x55, create(SHA2_256, digest)).toString();
}

async function carOf(blocks: { cid: CID; bytes: Uint8Array }[], root?: CID): Promise<Uint8Array> {
  const { writer, out } = CarWriter.create(root ? [root] : []);
  const chunks: Uint8Array[] = [];
  const collected = (async () => {
    for await (const chunk of out) chunks.push(chunk);
  })();
  for (const block of blocks) await writer.put(block);
  await writer.close();
  await collected;
  return Buffer.concat(chunks);
}

/** The 36-byte binary CID the registry records: 0x01 | codec | 0x12 0x20 | sha2-256 digest. */
export function cidToBytes(text: string): Uint8Array {
  let cid: CID;
  try {
    cid = CID.parse(text);
  } catch {
    throw new Error(`not a CID: "${text}"`);
  }
  if (cid.version !== 1) throw new Error(`CID ${text} is CIDv0; convert it to CIDv1 first`);
  if (cid.multihash.code !== SHA2_256 || cid.multihash.size !== 32) {
    throw new Error(`CID ${text} does not use a sha2-256 hash; the registry only records sha2-256 CIDs`);
  }
  if (!CODECS.has(cid.code)) throw new Error(`CID ${text} has codec 0x${cid.code.toString(16)}; expected raw, dag-pb or dag-cbor`);
  return cid.bytes;
}

/** The text form (`bafy…`) of a binary CID read from the registry. */
export function cidFromBytes(bytes: Uint8Array): string {
  return CID.decode(bytes).toString();
}

export function sha256Hex(bytes: Uint8Array): `0x${string}` {
  return `0x${createHash("sha256").update(bytes).digest("hex")}`;
}
