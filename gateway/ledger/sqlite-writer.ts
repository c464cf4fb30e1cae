// The SQLite ledger's writer thread. A durable commit (synchronous=FULL) waits for fsync, which node:sqlite does
// synchronously: on the main thread that would stall every request for as long as the disk takes. Here it stalls
// only this thread, and the event loop keeps serving while a batch commits.
import { parentPort, workerData } from "node:worker_threads";
import { DatabaseSync } from "node:sqlite";
import { batchWriter, type Write } from "./sqlite-batch.ts";

const { file, busyTimeoutMs } = workerData as { file: string; busyTimeoutMs: number };
const db = new DatabaseSync(file, { timeout: busyTimeoutMs });
db.exec("PRAGMA synchronous = FULL");
const commit = batchWriter(db);

parentPort!.on("message", (message: { id: number; batch: Write[] } | { close: true }) => {
  if ("close" in message) {
    db.close();
    parentPort!.close();
    return;
  }
  try {
    parentPort!.postMessage({ id: message.id, results: commit(message.batch) });
  } catch (error) {
    parentPort!.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) });
  }
});
