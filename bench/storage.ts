// Time to store a 50 MB model in the local content-addressed store (CID computation + write), and to read it back
// verified. Prints the figures and writes bench-results/storage.json.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";
import { cidOf, createStorage } from "../sdk/storage/index.ts";

const SIZE = 50 * 1024 * 1024;
const bytes = randomBytes(SIZE);
const dir = await mkdtemp(path.join(tmpdir(), "modelshare-bench-store-"));
try {
  const store = createStorage({ kind: "local", dir });
  let t = performance.now();
  await cidOf(bytes);
  const cidMs = performance.now() - t;
  t = performance.now();
  const { cid } = await store.put(bytes);
  const putMs = performance.now() - t;
  t = performance.now();
  await store.get(cid);
  const getMs = performance.now() - t;
  const mbps = (ms: number) => SIZE / 1024 / 1024 / (ms / 1000);
  console.log(`50 MB model, local store (${cid})`);
  console.log(`  CID only           ${cidMs.toFixed(0).padStart(6)} ms  ${mbps(cidMs).toFixed(0)} MB/s`);
  console.log(`  store (CID+write)  ${putMs.toFixed(0).padStart(6)} ms  ${mbps(putMs).toFixed(0)} MB/s`);
  console.log(`  read + verify      ${getMs.toFixed(0).padStart(6)} ms  ${mbps(getMs).toFixed(0)} MB/s`);
  await mkdir("bench-results", { recursive: true });
  const result = { bytes: SIZE, cid_ms: Math.round(cidMs), store_ms: Math.round(putMs), read_verified_ms: Math.round(getMs) };
  await writeFile("bench-results/storage.json", JSON.stringify(result, null, 2) + "\n");
} finally {
  await rm(dir, { recursive: true, force: true });
}
