// Per-request state: the head, `block:` arguments resolved to block numbers with graph-node's messages, and batching
// loaders so that nested fields of many parents cost one query per field and level (no N+1).
import DataLoader from "dataloader";
import type { EntityType } from "../schema.ts";
import { QueryError, type EntityReader, type EntityRow, type Filter, type OrderBy } from "../store/query.ts";
import type { BlockPtr } from "../store/types.ts";
import { bytesToHex } from "../store/values.ts";

/** A `block:` argument: graph-node's Block_height. */
export interface BlockHeight {
  hash?: Uint8Array | null;
  number?: number | null;
  number_gte?: number | null;
}

/** Where a query runs: the block number, and the pointer when the store remembers it. */
export interface ResolvedBlock {
  number: number;
  ptr: BlockPtr | null;
}

/** An entity as a GraphQL value: nested fields resolve at the same block as their parent. */
export interface EntityNode {
  readonly type: EntityType;
  readonly entity: EntityRow;
  readonly block: number;
}

export interface ChildArgs {
  where?: Filter;
  orderBy?: OrderBy;
  skip: number;
  first: number;
}

export class RequestContext {
  readonly reader: EntityReader;
  readonly deployment: string;
  #head: Promise<BlockPtr | null> | null = null;
  readonly #byId = new Map<string, DataLoader<string, EntityRow | null>>();
  readonly #children = new Map<string, DataLoader<string, EntityRow[]>>();

  constructor(reader: EntityReader, deployment: string) {
    this.reader = reader;
    this.deployment = deployment;
  }

  /** The head, read once per request so every field sees the same one. */
  head(): Promise<BlockPtr | null> {
    return (this.#head ??= this.reader.head());
  }

  async resolveBlock(height: BlockHeight | null | undefined): Promise<ResolvedBlock> {
    const head = await this.head();
    if (height?.hash) {
      const hash = bytesToHex(height.hash);
      const ptr = await this.reader.blockByHash(hash);
      if (!ptr) throw new QueryError("Failed to decode `block.hash` value: `no block with that hash found`");
      this.#queryable(head, ptr.number, "block.hash");
      return { number: ptr.number, ptr };
    }
    if (height?.number !== undefined && height.number !== null) {
      if (height.number < 0) throw new QueryError(`Failed to decode \`block.number\` value: \`${height.number}\` is negative`);
      this.#queryable(head, height.number, "block.number");
      return { number: height.number, ptr: height.number === head!.number ? head : await this.reader.blockByNumber(height.number) };
    }
    if (height?.number_gte !== undefined && height.number_gte !== null) this.#queryable(head, height.number_gte, "block.number_gte");
    // The latest block; before the first one, queries see nothing.
    return { number: head?.number ?? -1, ptr: head };
  }

  #queryable(head: BlockPtr | null, number: number, argument: string): void {
    if (!head || number > head.number) {
      const indexed = head ? `has only indexed up to block number ${head.number}` : "has not indexed any block yet";
      throw new QueryError(
        `Failed to decode \`${argument}\` value: \`subgraph ${this.deployment} ${indexed} and data for block number ${number} is therefore not yet available\``,
      );
    }
  }

  byId(type: EntityType, block: number): DataLoader<string, EntityRow | null> {
    const key = `${type.name}@${block}`;
    let loader = this.#byId.get(key);
    if (!loader) {
      loader = new DataLoader(async (ids) => {
        const found = await this.reader.findByIds(type.name, ids, block);
        return ids.map((id) => found.get(id) ?? null);
      });
      this.#byId.set(key, loader);
    }
    return loader;
  }

  children(type: EntityType, field: string, block: number, args: ChildArgs): DataLoader<string, EntityRow[]> {
    const key = `${type.name}.${field}@${block}:${stableKey(args)}`;
    let loader = this.#children.get(key);
    if (!loader) {
      loader = new DataLoader(async (parents) => {
        const found = await this.reader.findChildren({ parentType: type.name, field, parentKeys: [...parents], block, ...args });
        return parents.map((p) => found.get(p) ?? []);
      });
      this.#children.set(key, loader);
    }
    return loader;
  }
}

/** A deterministic key for loader arguments holding bigints and bytes. */
function stableKey(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return `${v}n`;
    if (v instanceof Uint8Array) return bytesToHex(v);
    return v;
  });
}
