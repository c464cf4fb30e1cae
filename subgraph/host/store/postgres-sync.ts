// Synchronous PostgreSQL queries for the mapping runtime's block reads: WebAssembly host imports cannot await, and
// node-postgres is asynchronous. A worker thread owns a connection; the calling thread posts a query, blocks in
// Atomics.wait on a shared flag, and takes the answer off the port with receiveMessageOnPort. A round trip costs a
// thread hand-off plus the query; the PostgreSQL store puts a cache of current entities in front of it.
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from "node:worker_threads";

export interface SyncPostgresOptions {
  connectionString: string;
  /** How long one query may block the thread before it is abandoned with an error (default 30 s). */
  timeoutMs?: number;
}

type Reply = { rows: unknown[][] } | { error: { message: string; code?: string } } | { ready: true };

export class SyncPostgres {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #flag: Int32Array;
  readonly #timeoutMs: number;
  #closed = false;

  private constructor(worker: Worker, port: MessagePort, flag: Int32Array, timeoutMs: number) {
    this.#worker = worker;
    this.#port = port;
    this.#flag = flag;
    this.#timeoutMs = timeoutMs;
  }

  static open(options: SyncPostgresOptions): SyncPostgres {
    const { port1, port2 } = new MessageChannel();
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(new URL("./postgres-sync-worker.ts", import.meta.url), {
      workerData: { connectionString: options.connectionString, port: port2, flag },
      transferList: [port2],
    });
    worker.unref();
    const sync = new SyncPostgres(worker, port1, flag, options.timeoutMs ?? 30_000);
    const ready = sync.#await("connecting to PostgreSQL");
    if ("error" in ready) {
      void worker.terminate();
      throw new Error(`the PostgreSQL store's reader could not connect: ${ready.error.message}`);
    }
    return sync;
  }

  /** Runs one query and blocks until its rows (as arrays) arrive. */
  query(sql: string, params: unknown[], name?: string): unknown[][] {
    if (this.#closed) throw new Error("the PostgreSQL reader is closed");
    Atomics.store(this.#flag, 0, 0);
    this.#port.postMessage({ sql, params, ...(name ? { name } : {}) });
    const reply = this.#await("a query");
    if ("error" in reply) {
      const error = new Error(`PostgreSQL: ${reply.error.message}`) as Error & { code?: string };
      error.code = reply.error.code;
      throw error;
    }
    return (reply as { rows: unknown[][] }).rows;
  }

  #await(what: string): Reply {
    const deadline = Date.now() + this.#timeoutMs;
    for (;;) {
      const message = receiveMessageOnPort(this.#port);
      if (message) return message.message as Reply;
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(this.#flag, 0, 0, left) === "timed-out") {
        const late = receiveMessageOnPort(this.#port);
        if (late) return late.message as Reply;
        throw new Error(`PostgreSQL did not answer ${what} within ${this.#timeoutMs} ms`);
      }
      // Woken: the reply is on the port (loop reads it); reset for the next one.
      Atomics.store(this.#flag, 0, 0);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#port.postMessage({ close: true });
    const exited = new Promise((resolve) => this.#worker.once("exit", resolve));
    const timer = setTimeout(() => void this.#worker.terminate(), 2000);
    await exited;
    clearTimeout(timer);
    this.#port.close();
  }
}
