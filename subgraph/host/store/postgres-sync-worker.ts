// The worker behind SyncPostgres (postgres-sync.ts): runs each query it is sent on its own connection, posts the
// answer back on the port and wakes the waiting thread through the shared flag.
import { workerData, type MessagePort } from "node:worker_threads";
import pg from "pg";
import { exactTypes } from "./sql/postgres-codec.ts";

interface Setup {
  connectionString: string;
  port: MessagePort;
  flag: Int32Array;
}

interface Request {
  sql: string;
  params: unknown[];
  /** Prepared-statement name: the same query shape is parsed and planned once per connection. */
  name?: string;
}

const { connectionString, port, flag } = workerData as Setup;
const client = new pg.Client({ connectionString, types: exactTypes });

function reply(message: unknown): void {
  port.postMessage(message);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

try {
  await client.connect();
  client.on("error", () => {});
  reply({ ready: true });
} catch (error) {
  reply({ error: { message: (error as Error).message } });
}

port.on("message", async (request: Request | { close: true }) => {
  if ("close" in request) {
    await client.end().catch(() => {});
    port.close();
    return;
  }
  try {
    const result = await client.query({ text: request.sql, values: request.params, rowMode: "array", ...(request.name ? { name: request.name } : {}) });
    reply({ rows: result.rows });
  } catch (error) {
    const e = error as Error & { code?: string };
    reply({ error: { message: e.message, code: e.code } });
  }
});
