// A worker thread of the secp256k1 pool (secp-pool.ts): recovers voucher signers and signs receipts, a batch per
// message, so the event loop only packs and unpacks bytes.
import { parentPort, workerData } from "node:worker_threads";
import { recoverAddress, signDigest } from "./secp256k1.ts";
import { RECOVER, type Batch, type BatchResult } from "./secp-batch.ts";

const key = Buffer.from((workerData as { signingKey: string }).signingKey.slice(2), "hex");

parentPort!.on("message", ({ id, kinds, data }: Batch) => {
  const results: BatchResult["results"] = new Array(kinds.length);
  let at = 0;
  for (let i = 0; i < kinds.length; i++) {
    const digest = data.subarray(at, at + 32);
    at += 32;
    if (kinds[i] === RECOVER) {
      results[i] = recoverAddress(digest, data.subarray(at, at + 65)) ?? null;
      at += 65;
    } else results[i] = signDigest(digest, key);
  }
  parentPort!.postMessage({ id, results } satisfies BatchResult);
});
parentPort!.postMessage("ready");
