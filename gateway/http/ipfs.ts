// GET /ipfs/<cid>: the gateway's content-addressed store served IPFS-gateway style, so model cards and weights minted
// against the local store resolve over HTTP. Bytes are verified against the CID by the storage adapter on every read;
// content never changes under a CID, so the CID is the ETag and responses are cacheable forever.
import { Router, type Response } from "express";
import { CID } from "multiformats/cid";
import type { StorageAdapter } from "../../sdk/storage/types.ts";

const IMMUTABLE = "public, max-age=31536000, immutable";

/** A router with GET (and HEAD) /:cid over `storage`; mount it at /ipfs (`app.use("/ipfs", ipfsRouter(storage))`). */
export function ipfsRouter(storage: StorageAdapter): Router {
  const router = Router();
  router.get("/:cid", async (req, res) => {
    const cid = normalize(req.params.cid);
    if (!cid) return fail(res, 400, "bad_cid", `${JSON.stringify(req.params.cid.slice(0, 100))} is not a CID`);
    const headers = {
      "content-type": "application/octet-stream",
      etag: `"${cid}"`,
      "cache-control": IMMUTABLE,
      "x-ipfs-path": `/ipfs/${cid}`,
      "x-content-type-options": "nosniff",
    };
    // A client revalidating a copy it already has needs no bytes, only the assurance that we hold them.
    if (matches(req.get("if-none-match"), cid) && (await storage.has(cid).catch(() => false))) {
      return res.status(304).set(headers).end();
    }
    let bytes: Uint8Array;
    try {
      bytes = await storage.get(cid);
    } catch (error) {
      let held: boolean;
      try {
        held = await storage.has(cid);
      } catch {
        return fail(res, 503, "storage_unavailable", `the store cannot be read right now`);
      }
      if (!held) return fail(res, 404, "not_found", `${cid} is not in this gateway's store`);
      // Present but unreadable or not matching its CID: the store's fault, not the caller's.
      return fail(res, 500, "content_corrupted", `the stored copy of ${cid} cannot be served: ${(error as Error).message}`);
    }
    res.status(200).set(headers).send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });
  return router;
}

/** Whether an If-None-Match header names this CID's ETag (or `*`). */
function matches(header: string | undefined, cid: string): boolean {
  if (!header) return false;
  return header.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t === `"${cid}"` || t === `W/"${cid}"`;
  });
}

/** The CID in its canonical text form (CIDv1, base32), or undefined when the text is not a CID. */
function normalize(text: string): string | undefined {
  try {
    return CID.parse(text).toV1().toString();
  } catch {
    return undefined;
  }
}

function fail(res: Response, status: number, code: string, message: string): void {
  res.status(status).set("cache-control", "no-store").json({ error: { code, message } });
}
