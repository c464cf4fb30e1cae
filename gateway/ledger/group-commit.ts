// Group commit: every write submitted in the same tick joins one batch, written in one transaction, and each caller
// gets its own result once that transaction is durable. One batch is in flight at a time: writes that arrive while
// it commits wait for the next one, which keeps the order writes were made in (a lane's next voucher never overtakes
// the previous one) and lets batches grow by themselves under load.

interface Pending<Op, Result> {
  op: Op;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

/** Writes a batch in one transaction; returns one result per op, in order, or throws to fail them all. */
export type FlushBatch<Op, Result> = (ops: Op[]) => Result[] | Promise<Result[]>;

export class GroupCommit<Op, Result> {
  readonly #flush: FlushBatch<Op, Result>;
  #queue: Pending<Op, Result>[] = [];
  #scheduled = false;
  #inFlight: Promise<void> | undefined;
  #batches = 0;

  constructor(flush: FlushBatch<Op, Result>) {
    this.#flush = flush;
  }

  /** Batches written so far (a metric, and how tests see that writes shared a commit). */
  get batches(): number {
    return this.#batches;
  }

  submit(op: Op): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.#queue.push({ op, resolve, reject });
      this.#schedule();
    });
  }

  /** Resolves once every write submitted so far has been committed (or failed). */
  async drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#inFlight || this.#scheduled) {
      if (this.#inFlight) await this.#inFlight;
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight) return;
    this.#scheduled = true;
    // setImmediate runs after the current tick's callbacks and promise jobs: everything they submit joins this batch.
    setImmediate(() => {
      this.#scheduled = false;
      this.#inFlight = this.#run().finally(() => {
        this.#inFlight = undefined;
        if (this.#queue.length > 0) this.#schedule();
      });
    });
  }

  async #run(): Promise<void> {
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    this.#batches++;
    let results: Result[];
    try {
      results = await this.#flush(batch.map((p) => p.op));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]!));
  }
}
