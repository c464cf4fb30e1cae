// The data sources being indexed: the manifest's static ones and the template instances created so far. Logs are
// matched to them by address and topic0, in the order graph-node uses: the order the data sources were created.
import type { DynamicDataSource, Entity } from "../store/types.ts";
import type { DataSourceInfo } from "../runtime/context.ts";
import type { EventHandlerSpec, Manifest, TemplateSpec, DataSourceSpec } from "../runtime/manifest.ts";
import type { RpcLog } from "./chain.ts";

export interface ActiveDataSource {
  /** Creation order: static data sources first, then template instances as they were created. */
  order: number;
  /** 0x-prefixed lowercase. */
  address: string;
  /** Logs before this block are not for this data source (its startBlock, or the block that created it). */
  fromBlock: number;
  endBlock: number | null;
  spec: DataSourceSpec | TemplateSpec;
  info: DataSourceInfo;
  handlersByTopic: ReadonlyMap<string, readonly EventHandlerSpec[]>;
}

export interface Trigger {
  log: RpcLog;
  block: number;
  logIndex: number;
  dataSource: ActiveDataSource;
  handlers: readonly EventHandlerSpec[];
}

function handlersByTopic(handlers: readonly EventHandlerSpec[]): Map<string, EventHandlerSpec[]> {
  const map = new Map<string, EventHandlerSpec[]>();
  for (const h of handlers) {
    const list = map.get(h.topic0) ?? [];
    list.push(h);
    map.set(h.topic0, list);
  }
  return map;
}

function matchesFilters(handler: EventHandlerSpec, topics: readonly string[]): boolean {
  for (let i = 0; i < handler.topicFilters.length; i++) {
    const accepted = handler.topicFilters[i];
    if (accepted && !accepted.has((topics[i + 1] ?? "").toLowerCase())) return false;
  }
  return true;
}

export class DataSourceSet {
  private readonly manifest: Manifest;
  private readonly templateNames: readonly string[];
  private readonly byAddress = new Map<string, ActiveDataSource[]>();
  private readonly all: ActiveDataSource[] = [];
  private readonly staticCount: number;
  /** topic0 of every handler of every data source and template. */
  readonly topics: readonly string[];
  /** topic0 of the templates' handlers, for scans of newly created data sources. */
  readonly templateTopics: readonly string[];

  constructor(manifest: Manifest) {
    this.manifest = manifest;
    this.templateNames = manifest.templates.map((t) => t.name);
    for (const spec of manifest.dataSources) {
      this.add({
        address: spec.address,
        fromBlock: spec.startBlock,
        endBlock: spec.endBlock,
        spec,
        context: spec.context,
      });
    }
    this.staticCount = this.all.length;
    const topics = (specs: readonly { handlers: readonly EventHandlerSpec[] }[]) => [...new Set(specs.flatMap((s) => s.handlers.map((h) => h.topic0)))];
    this.topics = topics([...manifest.dataSources, ...manifest.templates]);
    this.templateTopics = topics(manifest.templates);
  }

  private add(source: { address: string; fromBlock: number; endBlock: number | null; spec: DataSourceSpec | TemplateSpec; context: Entity | null }): ActiveDataSource {
    const address = source.address.toLowerCase();
    const active: ActiveDataSource = {
      order: this.all.length,
      address,
      fromBlock: source.fromBlock,
      endBlock: source.endBlock,
      spec: source.spec,
      info: {
        name: source.spec.name,
        address: Buffer.from(address.slice(2), "hex"),
        network: this.manifest.network,
        context: source.context,
        templates: this.templateNames,
      },
      handlersByTopic: handlersByTopic(source.spec.handlers),
    };
    this.all.push(active);
    const list = this.byAddress.get(address) ?? [];
    list.push(active);
    this.byAddress.set(address, list);
    return active;
  }

  /** A template instance (from the store on start, or created by a handler at `createdAtBlock`). */
  addDynamic(source: DynamicDataSource): ActiveDataSource {
    const template = this.manifest.templates.find((t) => t.name === source.template);
    if (!template) throw new Error(`the store has a data source of template ${source.template}, which the manifest does not define`);
    return this.add({ address: source.address, fromBlock: source.createdAtBlock, endBlock: null, spec: template, context: source.context });
  }

  /** Forgets every template instance, then adds `sources` (after a revert, or a block that was not committed). */
  resetDynamic(sources: readonly DynamicDataSource[]): void {
    for (const removed of this.all.splice(this.staticCount)) {
      const list = this.byAddress.get(removed.address)!.filter((d) => d !== removed);
      if (list.length === 0) this.byAddress.delete(removed.address);
      else this.byAddress.set(removed.address, list);
    }
    for (const source of [...sources].sort((a, b) => a.createdAtBlock - b.createdAtBlock)) this.addDynamic(source);
  }

  /** Addresses worth asking logs for up to `toBlock`. */
  addresses(toBlock: number): string[] {
    const out = new Set<string>();
    for (const ds of this.all) if (ds.fromBlock <= toBlock) out.add(ds.address);
    return [...out];
  }

  get dynamicCount(): number {
    return this.all.length - this.staticCount;
  }

  /** The lowest start block of the static data sources: where indexing begins on an empty store. */
  get startBlock(): number {
    return Math.min(...this.manifest.dataSources.map((d) => d.startBlock));
  }

  /** Triggers of `logs` for `among` (default: every data source), in block, log index and creation order. */
  match(logs: readonly RpcLog[], among?: readonly ActiveDataSource[]): Trigger[] {
    const out: Trigger[] = [];
    for (const log of logs) {
      const topic0 = log.topics[0]?.toLowerCase();
      if (!topic0) continue;
      const block = Number(log.blockNumber);
      const candidates = among ? among.filter((d) => d.address === log.address.toLowerCase()) : this.byAddress.get(log.address.toLowerCase());
      if (!candidates) continue;
      for (const dataSource of candidates) {
        if (block < dataSource.fromBlock || (dataSource.endBlock !== null && block > dataSource.endBlock)) continue;
        const handlers = dataSource.handlersByTopic.get(topic0)?.filter((h) => matchesFilters(h, log.topics));
        if (handlers?.length) out.push({ log, block, logIndex: Number(log.logIndex), dataSource, handlers });
      }
    }
    return out.sort((a, b) => a.block - b.block || a.logIndex - b.logIndex || a.dataSource.order - b.dataSource.order);
  }
}
