// Indexes one range of blocks: the logs of every watched address, matched to handlers, run block by block (in log
// index order, one BlockWriter per block, committed after the block's handlers). Data sources a handler creates are
// scanned from their creating block on: their triggers in that block run after the block's other triggers (as
// graph-node does), later ones join the queue.
import type { BlockPtr, EntityStore } from "../store/types.ts";
import type { Logger } from "../runtime/context.ts";
import type { CreatedDataSource } from "../runtime/context.ts";
import { DeterministicError, HandlerFailedError } from "../runtime/errors.ts";
import { writeEvent } from "../runtime/event.ts";
import type { SubgraphSchema } from "../schema.ts";
import type { Chain, ChainBlock, RpcLog } from "./chain.ts";
import type { DataSourceSet, Trigger, ActiveDataSource } from "./data-sources.ts";
import { decodeParams } from "./decode.ts";
import type { Progress } from "./progress.ts";

/** The chain changed under the indexer while it read a range; the next step sees the reorg and handles it. */
export class ChainMovedError extends Error {
  override name = "ChainMovedError";
}

const PREFETCH = 8;
/** Commits not yet durable before the processor waits: the store writes blocks committed back to back together. */
const MAX_PENDING_COMMITS = 256;

export interface ProcessorOptions {
  store: EntityStore;
  chain: Chain;
  dataSources: DataSourceSet;
  schema: SubgraphSchema;
  progress: Progress;
  logger: Logger;
}

/** Triggers waiting to run, by block; blocks come out in increasing order. */
class TriggerQueue {
  private readonly byBlock = new Map<number, Trigger[]>();
  private numbers: number[] = [];

  add(triggers: readonly Trigger[]): void {
    for (const trigger of triggers) {
      let list = this.byBlock.get(trigger.block);
      if (!list) {
        list = [];
        this.byBlock.set(trigger.block, list);
        this.numbers.push(trigger.block);
      }
      list.push(trigger);
    }
    this.numbers.sort((a, b) => a - b);
  }

  /** The next block's triggers, in log index and data source creation order. */
  shift(): { block: number; triggers: Trigger[] } | undefined {
    const block = this.numbers.shift();
    if (block === undefined) return undefined;
    const triggers = this.byBlock.get(block)!;
    this.byBlock.delete(block);
    triggers.sort((a, b) => a.logIndex - b.logIndex || a.dataSource.order - b.dataSource.order);
    return { block, triggers };
  }

  upcoming(count: number): number[] {
    return this.numbers.slice(0, count);
  }
}

export class RangeProcessor {
  private readonly options: ProcessorOptions;
  private readonly blocks = new Map<number, Promise<ChainBlock>>();
  private pending: { block: BlockPtr; events: number; durable: Promise<void> }[] = [];

  constructor(options: ProcessorOptions) {
    this.options = options;
  }

  private fetchBlock(number: number): Promise<ChainBlock> {
    let block = this.blocks.get(number);
    if (!block) {
      block = this.options.chain.block(number).then((b) => {
        if (!b) throw new ChainMovedError(`block ${number} disappeared while it was being indexed`);
        return b;
      });
      // Rejections are handled where the block is awaited; keep this copy from counting as unhandled.
      block.catch(() => {});
      this.blocks.set(number, block);
    }
    return block;
  }

  /** Indexes `from`..`to`; the store's head is `to` afterwards. */
  async run(from: number, to: number): Promise<void> {
    const { chain, dataSources } = this.options;
    this.blocks.clear();
    const logs = await chain.logs({ fromBlock: from, toBlock: to, addresses: dataSources.addresses(to), topics: dataSources.topics });
    const queue = new TriggerQueue();
    queue.add(dataSources.match(logs));
    let last: BlockPtr | null = null;
    try {
      for (let next = queue.shift(); next; next = queue.shift()) {
        for (const n of queue.upcoming(PREFETCH)) this.fetchBlock(n);
        const block = await this.fetchBlock(next.block);
        last = await this.processBlock(block, next.triggers, to, queue);
        this.blocks.delete(next.block);
      }
      // Move the head to the end of the range even when its last blocks had nothing to index.
      if (!last || last.number < to) {
        const end = await chain.header(to);
        if (!end) throw new ChainMovedError(`block ${to} disappeared while it was being indexed`);
        this.commit(this.options.store.begin(end), 0);
      }
    } finally {
      // Whatever happened, blocks already committed become durable (or report why not) before the range ends.
      await this.drain(0);
    }
  }

  /** Commits without waiting, so consecutive blocks share one database transaction; progress moves once durable. */
  private commit(writer: ReturnType<EntityStore["begin"]>, events: number): void {
    const durable = writer.commit();
    durable.catch(() => {});
    this.pending.push({ block: writer.block, events, durable });
  }

  private async drain(keep: number): Promise<void> {
    while (this.pending.length > keep) {
      const { block, events, durable } = this.pending.shift()!;
      await durable;
      this.options.progress.committed(block, events);
    }
  }

  private async processBlock(block: ChainBlock, triggers: Trigger[], rangeEnd: number, queue: TriggerQueue): Promise<BlockPtr> {
    const { store, chain, dataSources, logger } = this.options;
    const writer = store.begin(block.ptr);
    let events = 0;
    try {
      let created = this.runTriggers(block, triggers, writer);
      events += triggers.length;
      while (created.length > 0) {
        const fresh: ActiveDataSource[] = created.map((c) => dataSources.addDynamic({ ...c, createdAtBlock: block.ptr.number }));
        const logs = await chain.logs({
          fromBlock: block.ptr.number,
          toBlock: rangeEnd,
          addresses: [...new Set(fresh.map((d) => d.address))],
          topics: dataSources.templateTopics,
        });
        const matched = dataSources.match(logs, fresh);
        const now = matched.filter((t) => t.block === block.ptr.number);
        queue.add(matched.filter((t) => t.block > block.ptr.number));
        created = this.runTriggers(block, now, writer);
        events += now.length;
      }
    } catch (error) {
      writer.abort();
      throw error;
    }
    this.commit(writer, events);
    await this.drain(MAX_PENDING_COMMITS);
    logger.debug({ block: block.ptr.number, events }, "block indexed");
    return block.ptr;
  }

  private runTriggers(block: ChainBlock, triggers: readonly Trigger[], writer: ReturnType<EntityStore["begin"]>): CreatedDataSource[] {
    const { schema, logger } = this.options;
    const created: CreatedDataSource[] = [];
    for (const trigger of triggers) {
      const { log, dataSource } = trigger;
      checkSameBlock(log, block);
      for (const handler of trigger.handlers) {
        const where = { handler: handler.handler, dataSource: dataSource.spec.name, blockNumber: block.ptr.number };
        const ctx = {
          writer,
          schema,
          dataSource: dataSource.info,
          handler: handler.handler,
          blockNumber: block.ptr.number,
          created: [] as CreatedDataSource[],
          logger,
        };
        try {
          const params = decodeParams(handler, log);
          const event = {
            address: dataSource.info.address,
            logIndex: BigInt(log.logIndex),
            transactionLogIndex: BigInt(log.logIndex),
            block: block.fields,
            transaction: block.transaction(log.transactionHash),
            params,
          };
          dataSource.spec.mapping.run(handler.handler, ctx, (marshal) => writeEvent(marshal, event, dataSource.spec.mapping.apiVersion));
        } catch (error) {
          if (error instanceof DeterministicError && !(error instanceof HandlerFailedError)) {
            throw new HandlerFailedError(error.message, where, { cause: error });
          }
          throw error;
        }
        created.push(...ctx.created);
      }
    }
    return created;
  }
}

function checkSameBlock(log: RpcLog, block: ChainBlock): void {
  if (log.blockHash.toLowerCase() !== block.ptr.hash) {
    throw new ChainMovedError(`log of block ${block.ptr.number} names block hash ${log.blockHash}, the chain now has ${block.ptr.hash}`);
  }
}
