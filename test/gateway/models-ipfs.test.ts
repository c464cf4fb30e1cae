// GET /ipfs/<cid> over a real local store, through a real Express app and real HTTP.
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import express from "express";
import { base58btc } from "multiformats/bases/base58";
import { CID } from "multiformats/cid";
import { ipfsRouter } from "../../gateway/http/ipfs.ts";
import { LocalStorage } from "../../sdk/storage/local.ts";
import { buildTinyClassifier } from "../helpers/onnx.ts";

let dir: string;
let storage: LocalStorage;
let server: Server;
let base: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "modelshare-ipfs-"));
  storage = new LocalStorage(path.join(dir, "store"));
  const app = express();
  app.use("/ipfs", ipfsRouter(storage));
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

after(async () => {
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

async function errorOf(response: Response) {
  assert.match(response.headers.get("content-type") ?? "", /application\/json/);
  return ((await response.json()) as { error: { code: string; message: string } }).error;
}

describe("GET /ipfs/<cid>", () => {
  it("returns the stored bytes with the CID as ETag and immutable caching", async () => {
    const bytes = buildTinyClassifier({ seed: 3, padBytes: 600_000 }); // several UnixFS leaves: a dag-pb root
    const { cid } = await storage.put(bytes);
    const response = await fetch(`${base}/ipfs/${cid}`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/octet-stream");
    assert.equal(response.headers.get("etag"), `"${cid}"`);
    assert.equal(response.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.equal(response.headers.get("x-ipfs-path"), `/ipfs/${cid}`);
    assert.equal(Number(response.headers.get("content-length")), bytes.length);
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(bytes));
  });

  it("answers HEAD with the headers only, and a matching If-None-Match with 304", async () => {
    const { cid } = await storage.put(new TextEncoder().encode('{"name":"card"}'));
    const head = await fetch(`${base}/ipfs/${cid}`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("etag"), `"${cid}"`);
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    const revalidated = await fetch(`${base}/ipfs/${cid}`, { headers: { "if-none-match": `"other", "${cid}"` } });
    assert.equal(revalidated.status, 304);
    assert.equal(revalidated.headers.get("etag"), `"${cid}"`);
    const changed = await fetch(`${base}/ipfs/${cid}`, { headers: { "if-none-match": `"other"` } });
    assert.equal(changed.status, 200);
  });

  it("accepts the same CID in another base and answers under its canonical form", async () => {
    const bytes = new TextEncoder().encode("same content, other spelling");
    const { cid } = await storage.put(bytes);
    const other = CID.parse(cid).toString(base58btc);
    assert.notEqual(other, cid);
    const response = await fetch(`${base}/ipfs/${other}`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("etag"), `"${cid}"`);
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(bytes));
  });

  it("answers 404 for a CID it does not hold and 400 for what is not a CID", async () => {
    const missing = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
    const notFound = await fetch(`${base}/ipfs/${missing}`);
    assert.equal(notFound.status, 404);
    assert.deepEqual(await errorOf(notFound), { code: "not_found", message: `${missing} is not in this gateway's store` });
    assert.notEqual(notFound.headers.get("etag"), `"${missing}"`);
    assert.equal(notFound.headers.get("cache-control"), "no-store");
    for (const text of ["not-a-cid", "bafy", "Qm123", "bafkrei%21%21"]) {
      const bad = await fetch(`${base}/ipfs/${text}`);
      assert.equal(bad.status, 400, text);
      const error = await errorOf(bad);
      assert.equal(error.code, "bad_cid");
      assert.match(error.message, /is not a CID$/);
    }
  });

  it("refuses to serve a stored copy that no longer matches its CID", async () => {
    const { cid } = await storage.put(new TextEncoder().encode("original"));
    assert.ok((await readdir(storage.dir)).includes(cid));
    await writeFile(path.join(storage.dir, cid), "tampered");
    const response = await fetch(`${base}/ipfs/${cid}`);
    assert.equal(response.status, 500);
    const error = await errorOf(response);
    assert.equal(error.code, "content_corrupted");
    assert.match(error.message, new RegExp(`^the stored copy of ${cid} cannot be served: .*refused$`));
  });
});
