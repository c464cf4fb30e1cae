// Indexing progress for logs and for GraphQL's `_meta`: the latest indexed block, the chain head, and the recent
// event rate (events handled over the last ten seconds of indexing).
import type { BlockPtr, IndexingError } from "../store/types.ts";

export interface IndexerStatus {
  network: string;
  /** The store's head: the latest block whose handlers have all run and been committed. */
  latestBlock: BlockPtr | null;
  /** The chain's head when last asked. */
  chainHead: number | null;
  /** Events handled since this indexer started. */
  events: number;
  /** Events handled per second over the last ten seconds of indexing (0 when idle). */
  eventsPerSecond: number;
  /** The latest block has reached the chain head (or the target block of syncTo). */
  synced: boolean;
  /** A loop started by start() is running. */
  running: boolean;
  /** Why indexing stopped for good, when a handler failed. */
  failure: IndexingError | null;
  /** Reorganisations handled since start. */
  reorgs: number;
}

const WINDOW_MS = 10_000;

export class Progress {
  readonly network: string;
  latestBlock: BlockPtr | null = null;
  chainHead: number | null = null;
  events = 0;
  failure: IndexingError | null = null;
  reorgs = 0;
  running = false;
  private samples: { at: number; events: number }[] = [];

  constructor(network: string) {
    this.network = network;
  }

  committed(block: BlockPtr, events: number): void {
    this.latestBlock = block;
    this.events += events;
    const now = performance.now();
    this.samples.push({ at: now, events: this.events });
    while (this.samples.length > 2 && this.samples[0]!.at < now - WINDOW_MS) this.samples.shift();
  }

  eventsPerSecond(): number {
    const now = performance.now();
    const recent = this.samples.filter((s) => s.at >= now - WINDOW_MS);
    if (recent.length < 2) return 0;
    const first = recent[0]!;
    const last = recent[recent.length - 1]!;
    const seconds = (last.at - first.at) / 1000;
    return seconds > 0 ? (last.events - first.events) / seconds : 0;
  }

  status(): IndexerStatus {
    return {
      network: this.network,
      latestBlock: this.latestBlock,
      chainHead: this.chainHead,
      events: this.events,
      eventsPerSecond: Math.round(this.eventsPerSecond()),
      synced: this.latestBlock !== null && this.chainHead !== null && this.latestBlock.number >= this.chainHead,
      running: this.running,
      failure: this.failure,
      reorgs: this.reorgs,
    };
  }
}
