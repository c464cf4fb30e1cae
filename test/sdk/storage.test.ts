// Content addressing and storage adapters: CIDs equal an independent encoder's, every adapter refuses bytes that
// don't match their CID, and remote failures give errors that say what to do.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createServer, type Server } from "node:http";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { CarReader } from "@ipld/car";
import { createFileEncoderStream } from "ipfs-car";
import * as UnixFS from "@ipld/unixfs";
import { withMaxChunkSize } from "@ipld/unixfs/file/chunker/fixed";
import { withWidth } from "@ipld/unixfs/file/layout/balanced";
import * as raw from "multiformats/codecs/raw";
import { bytesToHex } from "viem";
import { cidFromBytes, cidOf, cidToBytes, createStorage, sha256Hex } from "../../sdk/storage/index.ts";

/** ipfs-car's encoder with nft.storage's layout (256 KiB raw leaves, width 174): an independent implementation. */
async function ipfsCarCid(bytes: Uint8Array): Promise<string> {
  const settings = UnixFS.configure({
    fileChunkEncoder: raw,
    smallFileEncoder: raw,
    chunker: withMaxChunkSize(256 * 1024),
    fileLayout: withWidth(174),
  });
  let root = "";
  await createFileEncoderStream(new Blob([bytes as Uint8Array<ArrayBuffer>]), settings).pipeTo(
    new WritableStream({ write: (block) => void (root = block.cid.toString()) }),
  );
  return root;
}

describe("CIDs", () => {
  for (const size of [1, 1_000, 256 * 1024, 256 * 1024 + 1, 3 * 1024 * 1024]) {
    it(`${size} bytes: same CID as ipfs-car`, async () => {
      const bytes = randomBytes(size);
      assert.equal(await cidOf(bytes), await ipfsCarCid(bytes));
    });
  }

  it("empty content has the raw CID of empty bytes", async () => {
    assert.equal(await cidOf(new Uint8Array(0)), "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
  });

  it("binary form: 36 bytes, round trip, as the registry expects", async () => {
    const cid = await cidOf(randomBytes(300_000));
    const bytes = cidToBytes(cid);
    assert.equal(bytes.length, 36);
    assert.equal(bytesToHex(bytes.subarray(0, 4)), "0x01701220"); // CIDv1, dag-pb, sha2-256, 32 bytes
    assert.equal(cidFromBytes(bytes), cid);
  });

  it("rejects what the registry cannot record, with the reason", () => {
    assert.throws(() => cidToBytes("not-a-cid"), /not a CID/);
    assert.throws(() => cidToBytes("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"), /CIDv0; convert it to CIDv1/);
    // sha2-512 multihash
    assert.throws(
      () => cidToBytes("bafkrgqg5ww4hldeu3hmwg3ydbcawr5z7tnhwa2auzgtd72bqqbiar6p7ikrpo2kobm5i7eafngsfkegfxhhpjlhn3xj6fldzjttovrqgoyupq"),
      /sha2-256/,
    );
  });

  it("sha256Hex matches node's digest", () => {
    assert.equal(sha256Hex(new TextEncoder().encode("abc")), "0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});

describe("local storage", () => {
  let dir: string;
  before(async () => void (dir = await mkdtemp(path.join(tmpdir(), "modelshare-store-"))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it("stores, reports progress, and reads back verified bytes", async () => {
    const store = createStorage({ kind: "local", dir });
    const bytes = randomBytes(20 * 1024 * 1024);
    const progress: number[] = [];
    const { cid, size } = await store.put(bytes, { onProgress: (done) => progress.push(done) });
    assert.equal(cid, await cidOf(bytes));
    assert.equal(size, bytes.length);
    assert.equal(progress.at(-1), bytes.length);
    assert.ok(progress.length > 2, "progress in several steps for a large file");
    assert.ok(await store.has(cid));
    assert.deepEqual(Buffer.from(await store.get(cid)), bytes);
    assert.deepEqual(await readdir(dir), [cid], "no temporary file left behind");
  });

  it("refuses a corrupted file, naming the CID", async () => {
    const store = createStorage({ kind: "local", dir });
    const { cid } = await store.put(new TextEncoder().encode("model card"));
    await writeFile(path.join(dir, cid), "tampered");
    await assert.rejects(store.get(cid), new RegExp(`returned bytes for \\w+ when ${cid} was asked`));
  });

  it("a missing CID and a bad config are clear errors", async () => {
    const store = createStorage({ kind: "local", dir });
    await assert.rejects(store.get("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"), /is not in the local store/);
    await assert.rejects(store.get("../../etc/passwd"), /not a base32 CIDv1/);
    assert.throws(() => createStorage({ kind: "nft.storage", url: "http://x", token: "" }), /invalid storage settings/);
    assert.throws(() => createStorage({ kind: "kubo", url: "not a url" }), /invalid storage settings/);
  });
});

/** A small IPFS service: accepts CAR uploads (checked with a real CAR reader) and serves what it was given. */
function fakeIpfs(options: { token?: string; status?: number; tamper?: boolean; lieAboutCid?: boolean } = {}) {
  const content = new Map<string, Uint8Array>();
  const uploads: string[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (options.status) return void res.writeHead(options.status).end("service trouble");
    const url = new URL(req.url!, "http://x");
    if (url.pathname === "/upload") {
      if (req.headers.authorization !== `Bearer ${options.token}`) return void res.writeHead(401).end("bad token");
      const reader = await CarReader.fromBytes(body);
      const [root] = await reader.getRoots();
      uploads.push(root!.toString());
      const cid = options.lieAboutCid ? "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku" : root!.toString();
      return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, value: { cid } }));
    }
    if (url.pathname === "/api/v0/dag/import") {
      const car = body.subarray(body.indexOf("\r\n\r\n") + 4, body.lastIndexOf("\r\n--"));
      const reader = await CarReader.fromBytes(car);
      const [root] = await reader.getRoots();
      uploads.push(root!.toString());
      return void res.writeHead(200).end(`${JSON.stringify({ Root: { Cid: { "/": root!.toString() } } })}\n`);
    }
    const cid = url.pathname.startsWith("/ipfs/") ? url.pathname.slice(6) : url.searchParams.get("arg");
    const bytes = cid ? content.get(cid) : undefined;
    if (!bytes) return void res.writeHead(404).end("not found");
    res.writeHead(200).end(options.tamper ? Buffer.concat([bytes, Buffer.from("!")]) : bytes);
  });
  return {
    content,
    uploads,
    async start() {
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("remote adapters", () => {
  for (const kind of ["nft.storage", "kubo"] as const) {
    const config = (url: string, token = "secret") => (kind === "kubo" ? { kind, url } : { kind, url, token });

    it(`${kind}: uploads the locally computed CAR and reads back verified bytes`, async () => {
      const service = fakeIpfs({ token: "secret" });
      const url = await service.start();
      try {
        const store = createStorage(config(url));
        const bytes = randomBytes(700_000);
        const { cid } = await store.put(bytes);
        assert.equal(cid, await cidOf(bytes));
        assert.deepEqual(service.uploads, [cid], "the service received a CAR rooted at the same CID");
        service.content.set(cid, bytes);
        assert.deepEqual(Buffer.from(await store.get(cid)), bytes);
      } finally {
        await service.stop();
      }
    });

    it(`${kind}: refuses tampered bytes from the remote`, async () => {
      const service = fakeIpfs({ token: "secret", tamper: true });
      const url = await service.start();
      try {
        const bytes = randomBytes(1_000);
        const cid = await cidOf(bytes);
        service.content.set(cid, bytes);
        await assert.rejects(createStorage(config(url)).get(cid), /refused/);
      } finally {
        await service.stop();
      }
    });

    it(`${kind}: a 500 and an unreachable endpoint are clear errors`, async () => {
      const service = fakeIpfs({ status: 500 });
      const url = await service.start();
      try {
        await assert.rejects(createStorage(config(url)).put(randomBytes(10)), /HTTP 500 .*service trouble/);
      } finally {
        await service.stop();
      }
      await assert.rejects(createStorage(config(url)).put(randomBytes(10)), /cannot reach/);
    });
  }

  it("nft.storage: a wrong token is reported as such; a CID mismatch from the service is refused", async () => {
    const service = fakeIpfs({ token: "secret" });
    const url = await service.start();
    try {
      await assert.rejects(createStorage({ kind: "nft.storage", url, token: "wrong" }).put(randomBytes(10)), /refused the token \(HTTP 401\)/);
    } finally {
      await service.stop();
    }
    const liar = fakeIpfs({ token: "secret", lieAboutCid: true });
    const liarUrl = await liar.start();
    try {
      await assert.rejects(createStorage({ kind: "nft.storage", url: liarUrl, token: "secret" }).put(randomBytes(10)), /stored the content as/);
    } finally {
      await liar.stop();
    }
  });
});
