// The embedded host's indexer: follows a chain through JSON-RPC and runs the compiled mappings of a built subgraph
// against it, keeping entities in an EntityStore. It resumes from the store's head, walks back to the common
// ancestor on a reorg, and stops (recording why, while queries keep being served) when a handler fails for good.
import type { BlockPtr, EntityStore, IndexingError } from "../store/types.ts";
import { silentLogger, type Logger } from "../runtime/context.ts";
import { HandlerFailedError, TransientHandlerError } from "../runtime/errors.ts";
import { loadManifest, type Manifest } from "../runtime/manifest.ts";
import type { HostFunctions } from "../runtime/host/index.ts";
import type { InstanceMode } from "../runtime/mapping.ts";
import { Chain } from "./chain.ts";
import { DataSourceSet } from "./data-sources.ts";
import { Progress, type IndexerStatus } from "./progress.ts";
import { ChainMovedError, RangeProcessor } from "./processor.ts";
import { RpcClient, type RpcOptions, type RpcSource } from "./rpc.ts";

export interface IndexerOptions {
  /** The folder `graph build` wrote (with subgraph.yaml), or a loaded manifest. */
  buildDir: string | Manifest;
  store: EntityStore;
  /** An HTTP(S) URL, an EIP-1193 provider (e.g. Hardhat's `connection.provider`) or a viem transport. */
  rpc: RpcSource;
  /** Wait between polls once the chain head is reached (default 1,000 ms). */
  pollIntervalMs?: number;
  /** Most blocks per eth_getLogs range (default 2,000; halved automatically when a node refuses a range). */
  blockRange?: number;
  /** Blocks to stay behind the chain head, to avoid most reorgs on live chains (default 0). */
  confirmations?: number;
  rpcOptions?: RpcOptions;
  /** pino or anything with its debug/info/warn/error(fields, message) methods (default: silent). */
  logger?: Logger;
  /** Host functions to link (default: all); for tests. */
  hostFunctions?: HostFunctions;
  /** "rewind" (default) or "fresh": how each trigger gets a pristine instance (see runtime/mapping.ts). */
  instances?: InstanceMode;
}

export interface Indexer {
  readonly manifest: Manifest;
  /** Indexes continuously in the background until stop(); RPC failures are retried with backoff. */
  start(): void;
  /** Stops the background loop after the block in progress; resolves when it has stopped. */
  stop(): Promise<void>;
  /**
   * Indexes up to `block` (default: the chain head now) and resolves with the status. A handler failure does not
   * reject: it is recorded in the store and in `status.failure`. Rejects only when the RPC or the store keep failing.
   */
  syncTo(block?: number): Promise<IndexerStatus>;
  status(): IndexerStatus;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });

type StepResult = "progress" | "idle" | "failed";

export async function createIndexer(options: IndexerOptions): Promise<Indexer> {
  const manifest = typeof options.buildDir === "string" ? await loadManifest(options.buildDir, { hostFunctions: options.hostFunctions, instances: options.instances }) : options.buildDir;
  const { store } = options;
  const logger = options.logger ?? silentLogger;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const blockRange = options.blockRange ?? 2000;
  const confirmations = options.confirmations ?? 0;
  if (!Number.isInteger(blockRange) || blockRange < 1) throw new Error(`blockRange must be a positive integer, got ${blockRange}`);

  const rpc = new RpcClient(options.rpc, options.rpcOptions);
  rpc.onRetry = (method, attempt, error) => logger.warn({ method, attempt, error: error.message }, "RPC request failed; retrying");
  const chain = new Chain(rpc, blockRange);
  const dataSources = new DataSourceSet(manifest);
  const progress = new Progress(manifest.network);
  const processor = new RangeProcessor({ store, chain, dataSources, schema: manifest.schema, progress, logger });

  progress.latestBlock = await store.head();
  progress.failure = await store.failure();
  dataSources.resetDynamic(await store.dataSources());

  /** Walks back from the head to the newest block the store and the chain agree on, and reverts to it. */
  async function revertToCommonAncestor(head: BlockPtr): Promise<void> {
    const floor = dataSources.startBlock - 1;
    let ancestor = floor;
    for (let n = head.number - 1; n > floor; n--) {
      const stored = await store.block(n);
      if (!stored) continue;
      const canonical = await chain.header(n);
      if (canonical && canonical.hash === stored.hash) {
        ancestor = n;
        break;
      }
    }
    logger.warn({ from: head.number, to: ancestor, hash: head.hash }, "chain reorganised: reverting to the common ancestor");
    await store.revertTo(ancestor);
    dataSources.resetDynamic(await store.dataSources());
    progress.latestBlock = await store.head();
    progress.reorgs += 1;
  }

  async function recordFailure(error: HandlerFailedError): Promise<void> {
    const failure: IndexingError = { message: error.message, block: error.blockNumber, handler: `${error.dataSource}.${error.handler}` };
    await store.setFailure(failure);
    progress.failure = failure;
    logger.error({ block: failure.block, handler: failure.handler }, `indexing stopped: ${failure.message}`);
  }

  /** One range of work towards `target`: reorg check, then the next blocks. */
  async function step(target: number | undefined): Promise<StepResult> {
    if (progress.failure) return "failed";
    const head = await store.head();
    progress.latestBlock = head;
    const chainHead = await chain.headNumber();
    progress.chainHead = chainHead;
    const limit = Math.min(chainHead - confirmations, target ?? Infinity);
    const next = head ? head.number + 1 : dataSources.startBlock;

    if (head) {
      // A reorg shows as the next block not building on the head, or the head itself gone from the chain.
      const probe = next <= chainHead ? await chain.header(next) : await chain.header(head.number);
      const moved = !probe || (next <= chainHead ? probe.parentHash !== head.hash : probe.hash !== head.hash);
      if (moved) {
        await revertToCommonAncestor(head);
        return "progress";
      }
    }
    if (next > limit) return "idle";
    const to = Math.min(next + blockRange - 1, limit);
    const started = performance.now();
    const before = progress.events;
    try {
      await processor.run(next, to);
    } catch (error) {
      // Whatever a failed range did in memory (data sources it created) goes; the store has only committed blocks.
      dataSources.resetDynamic(await store.dataSources());
      if (error instanceof HandlerFailedError) {
        await recordFailure(error);
        return "failed";
      }
      throw error;
    }
    const seconds = (performance.now() - started) / 1000;
    const events = progress.events - before;
    // Following a live chain block by block, empty blocks would flood the log: those go to debug.
    const log = events > 0 || to - next >= 100 ? logger.info : logger.debug;
    log.call(
      logger,
      { from: next, to, chainHead, events, eventsPerSecond: seconds > 0 ? Math.round(events / seconds) : 0, dataSources: dataSources.dynamicCount },
      "indexed blocks",
    );
    return "progress";
  }

  let loop: Promise<void> | null = null;
  let abort: AbortController | null = null;
  let waiters: (() => void)[] = [];
  const notify = () => {
    const current = waiters;
    waiters = [];
    for (const w of current) w();
  };

  async function runLoop(signal: AbortSignal): Promise<void> {
    let backoff = 500;
    while (!signal.aborted) {
      let result: StepResult;
      try {
        result = await step(undefined);
        backoff = 500;
      } catch (error) {
        const transient = !(error instanceof HandlerFailedError);
        logger.warn({ error: (error as Error).message, retryInMs: backoff, transient }, "indexing step failed; retrying");
        notify();
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 30_000);
        continue;
      }
      notify();
      if (result === "failed") break;
      if (result === "idle") await sleep(pollIntervalMs, signal);
    }
  }

  const reached = (target: number) => progress.latestBlock !== null && progress.latestBlock.number >= target;

  return {
    manifest,
    start() {
      if (loop) return;
      abort = new AbortController();
      progress.running = true;
      const signal = abort.signal;
      loop = runLoop(signal).finally(() => {
        progress.running = false;
        loop = null;
        notify();
      });
    },
    async stop() {
      abort?.abort();
      await loop;
    },
    async syncTo(block?: number) {
      const target = block ?? (await chain.headNumber());
      if (loop) {
        // The background loop does the work: wait for at least one step of it (which checks for reorgs even when
        // the head is already past the target), then until it gets there or stops.
        do await new Promise<void>((resolve) => waiters.push(resolve));
        while (!reached(target) && !progress.failure && loop);
      } else {
        let transientFailures = 0;
        // At least one step, even when the head is already past the target: that step is what notices a reorg.
        for (let first = true; first || (!reached(target) && !progress.failure); first = false) {
          let result: StepResult;
          try {
            result = await step(target);
            transientFailures = 0;
          } catch (error) {
            // A block that moved under the reader or a store hiccup: try again shortly, a few times.
            if (!(error instanceof TransientHandlerError || error instanceof ChainMovedError) || ++transientFailures > 5) throw error;
            await sleep(pollIntervalMs);
            continue;
          }
          if (result === "failed") break;
          if (result === "idle" && !reached(target)) {
            if ((progress.chainHead ?? -1) - confirmations < target) await sleep(pollIntervalMs);
            else break;
          }
        }
      }
      const status = progress.status();
      return { ...status, synced: status.synced || reached(target) };
    },
    status() {
      return progress.status();
    },
  };
}
