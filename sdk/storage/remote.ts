// Remote IPFS pinning: an nft.storage-compatible upload API (CAR upload with a bearer token, reads through an IPFS
// gateway) and a Kubo node's RPC API. Both upload the CAR computed locally and check the CID they report.
import { encodeBytes } from "./cid.ts";
import type { PutOptions, StorageAdapter, Stored } from "./types.ts";
import { sameCid, verified } from "./verify.ts";

async function call(url: string, init: RequestInit, what: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new Error(`${what}: cannot reach ${new URL(url).origin} (${(error as Error).cause ?? (error as Error).message})`);
  }
  if (response.ok) return response;
  const body = (await response.text()).slice(0, 200);
  if (response.status === 401 || response.status === 403) {
    throw new Error(`${what}: the endpoint refused the token (HTTP ${response.status}); check the storage token`);
  }
  throw new Error(`${what}: HTTP ${response.status} from ${new URL(url).origin}${body ? `: ${body}` : ""}`);
}

/** Remote services have no cheap existence check that proves the content; fetching and verifying does. */
async function fetchable(store: StorageAdapter, cid: string): Promise<boolean> {
  try {
    await store.get(cid);
    return true;
  } catch {
    return false;
  }
}

export class NftStorageCompatible implements StorageAdapter {
  readonly kind = "nft.storage" as const;
  readonly #endpoint: string;
  readonly #token: string;
  readonly #gateway: string;

  constructor(endpoint: string, token: string, gateway?: string) {
    if (!token) throw new Error("an nft.storage-compatible endpoint needs a token");
    this.#endpoint = endpoint.replace(/\/$/, "");
    this.#token = token;
    this.#gateway = (gateway ?? endpoint).replace(/\/$/, "");
  }

  async put(bytes: Uint8Array, options: PutOptions = {}): Promise<Stored> {
    const encoded = await encodeBytes(bytes);
    const car = await encoded.car();
    options.onProgress?.(0, bytes.length);
    const response = await call(
      `${this.#endpoint}/upload`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${this.#token}`, "content-type": "application/car" },
        body: car as Uint8Array<ArrayBuffer>,
      },
      "upload",
    );
    const reply = (await response.json().catch(() => ({}))) as { value?: { cid?: string } };
    sameCid(encoded.cid, reply.value?.cid, "the storage endpoint");
    options.onProgress?.(bytes.length, bytes.length);
    return { cid: encoded.cid, size: bytes.length };
  }

  async get(cid: string): Promise<Uint8Array> {
    const response = await call(`${this.#gateway}/ipfs/${cid}`, {}, `fetching ${cid}`);
    return verified(cid, new Uint8Array(await response.arrayBuffer()), this.#gateway);
  }

  has(cid: string): Promise<boolean> {
    return fetchable(this, cid);
  }
}

export class KuboStorage implements StorageAdapter {
  readonly kind = "kubo" as const;
  readonly #api: string;

  constructor(rpcUrl: string) {
    this.#api = `${rpcUrl.replace(/\/$/, "")}/api/v0`;
  }

  async put(bytes: Uint8Array, options: PutOptions = {}): Promise<Stored> {
    const encoded = await encodeBytes(bytes);
    const form = new FormData();
    form.append("file", new Blob([(await encoded.car()) as Uint8Array<ArrayBuffer>], { type: "application/car" }), "content.car");
    options.onProgress?.(0, bytes.length);
    const response = await call(`${this.#api}/dag/import?pin-roots=true`, { method: "POST", body: form }, "kubo dag/import");
    const text = await response.text();
    // Kubo answers one JSON object per line; the root line names the CID it pinned.
    const root = text
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { Root?: { Cid?: { "/": string } } })
      .find((entry) => entry.Root)?.Root?.Cid?.["/"];
    sameCid(encoded.cid, root, "the Kubo node");
    options.onProgress?.(bytes.length, bytes.length);
    return { cid: encoded.cid, size: bytes.length };
  }

  async get(cid: string): Promise<Uint8Array> {
    const response = await call(`${this.#api}/cat?arg=${cid}`, { method: "POST" }, `kubo cat ${cid}`);
    return verified(cid, new Uint8Array(await response.arrayBuffer()), "the Kubo node");
  }

  has(cid: string): Promise<boolean> {
    return fetchable(this, cid);
  }
}
