// The request path's secp256k1 work — recovering each voucher's signer and signing each receipt, about 90 µs of CPU
// a paid call — on worker threads while the event loop is busy, so under load it runs beside the loop instead of on
// it. Jobs submitted in one turn of the event loop travel to a worker as one message. While the loop is mostly idle
// a thread hop would only add latency, so jobs then run inline; so they do before the workers are up, after one dies,
// and with `threads: 0`.
import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import { hexToBytes, type Address, type Hex } from "viem";
import { recoverAddress, signDigest } from "./secp256k1.ts";
import { packBatch, RECOVER, SIGN, type BatchResult, type Job } from "./secp-batch.ts";

export interface SecpPoolOptions {
  /** Worker threads; 0 runs every job inline. */
  threads: number;
  /** The key `sign` signs with (the operator's). */
  signingKey: Hex;
  /** Offload while the event loop's recent utilization is above this (0–1). */
  busyAbove?: number;
  /** How often the utilization is sampled, in ms. */
  sampleMs?: number;
}

interface PoolWorker {
  thread: Worker;
  ready: boolean;
  /** Batches sent and not answered yet: their jobs, by batch id. */
  pending: Map<number, Job[]>;
}

export class SecpPool {
  readonly #key: Uint8Array;
  readonly #workers: PoolWorker[] = [];
  readonly #busyAbove: number;
  readonly #sampler: NodeJS.Timeout | undefined;
  #queue: Job[] = [];
  #scheduled = false;
  #busy = false;
  #nextBatch = 0;
  #nextWorker = 0;
  #closed = false;
  /** Jobs run so far, by where they ran (a metric, and how tests see where work went). */
  readonly counts = { inline: 0, offloaded: 0 };

  constructor(options: SecpPoolOptions) {
    this.#key = hexToBytes(options.signingKey);
    this.#busyAbove = options.busyAbove ?? 0.5;
    for (let i = 0; i < options.threads; i++) this.#workers.push(this.#spawn(options.signingKey));
    if (options.threads > 0) {
      let last = performance.eventLoopUtilization();
      this.#sampler = setInterval(() => {
        const now = performance.eventLoopUtilization();
        this.#busy = performance.eventLoopUtilization(now, last).utilization > this.#busyAbove;
        last = now;
      }, options.sampleMs ?? 25);
      this.#sampler.unref();
    }
  }

  /** Whether jobs are going to the workers right now (the loop is busy and a worker is up). */
  get offloading(): boolean {
    return this.#busy && !this.#closed && this.#workers.some((w) => w.ready);
  }

  /** The address that signed `digest`, or undefined for a malformed or malleable signature. */
  recover(digest: Uint8Array, signature: Uint8Array): Promise<Address | undefined> {
    if (digest.length !== 32 || signature.length !== 65 || !this.offloading) {
      this.counts.inline++;
      return Promise.resolve(recoverAddress(digest, signature));
    }
    return new Promise((resolve) => this.#submit({ kind: RECOVER, digest, signature, resolve: (r) => resolve((r as Address | null) ?? undefined) }));
  }

  /** A 65-byte signature of `digest` with the pool's key (v = 27 + recovery id). */
  sign(digest: Uint8Array): Promise<Hex> {
    if (digest.length !== 32 || !this.offloading) {
      this.counts.inline++;
      return Promise.resolve(signDigest(digest, this.#key));
    }
    return new Promise((resolve) => this.#submit({ kind: SIGN, digest, resolve: (r) => resolve(r as Hex) }));
  }

  /** Stops the workers once the jobs sent to them are answered; later jobs run inline. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sampler);
    this.#flush();
    await Promise.all(
      this.#workers.map(async (w) => {
        while (w.pending.size > 0) await new Promise((r) => setImmediate(r));
        await w.thread.terminate();
      }),
    );
  }

  #spawn(signingKey: Hex): PoolWorker {
    const worker: PoolWorker = { thread: new Worker(new URL("./secp-worker.ts", import.meta.url), { workerData: { signingKey } }), ready: false, pending: new Map() };
    worker.thread.on("message", (message: "ready" | BatchResult) => {
      if (message === "ready") {
        worker.ready = !this.#closed;
        return;
      }
      const jobs = worker.pending.get(message.id);
      worker.pending.delete(message.id);
      jobs?.forEach((job, i) => job.resolve(message.results[i]!));
    });
    // A worker that fails hands its jobs back to the event loop: no call waits on a dead thread.
    const fail = () => {
      worker.ready = false;
      for (const jobs of worker.pending.values()) for (const job of jobs) this.#runInline(job);
      worker.pending.clear();
    };
    worker.thread.on("error", fail);
    worker.thread.on("exit", fail);
    worker.thread.unref();
    return worker;
  }

  #submit(job: Job): void {
    this.#queue.push(job);
    if (this.#scheduled) return;
    this.#scheduled = true;
    // After this turn's I/O callbacks: every call read in this turn joins the batch.
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    const jobs = this.#queue;
    this.#queue = [];
    if (jobs.length === 0) return;
    const ready = this.#closed ? [] : this.#workers.filter((w) => w.ready);
    if (ready.length === 0) {
      for (const job of jobs) this.#runInline(job);
      return;
    }
    // Split the batch evenly over the ready workers, starting where the last batch left off.
    const share = Math.ceil(jobs.length / ready.length);
    for (let start = 0; start < jobs.length; start += share) {
      const worker = ready[this.#nextWorker++ % ready.length]!;
      const part = jobs.slice(start, start + share);
      const id = this.#nextBatch++;
      worker.pending.set(id, part);
      const batch = packBatch(id, part);
      this.counts.offloaded += part.length;
      worker.thread.postMessage(batch, [batch.kinds.buffer, batch.data.buffer]);
    }
  }

  #runInline(job: Job): void {
    this.counts.inline++;
    job.resolve(job.kind === RECOVER ? (recoverAddress(job.digest, job.signature!) ?? null) : signDigest(job.digest, this.#key));
  }
}
