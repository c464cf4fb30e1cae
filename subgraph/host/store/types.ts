// The contract between the embedded host's runtime (which runs the compiled mappings) and its entity store (which
// keeps every entity version with its block range and answers GraphQL). The runtime only ever talks to a store
// through these types, so SQLite and PostgreSQL stores are interchangeable.
//
// Reads inside a block are synchronous because WebAssembly host imports cannot await; commits are asynchronous.

/** One value of an entity field: graph-ts's `Value` enum (store ValueKind), with JS types for the payloads. */
export type StoreValue =
  | { kind: "String"; value: string }
  | { kind: "Int"; value: number }
  | { kind: "BigDecimal"; value: string }
  | { kind: "Boolean"; value: boolean }
  | { kind: "Array"; value: StoreValue[] }
  | { kind: "Null" }
  | { kind: "Bytes"; value: Uint8Array }
  | { kind: "BigInt"; value: bigint }
  | { kind: "Int8"; value: bigint }
  /** Microseconds since the Unix epoch. */
  | { kind: "Timestamp"; value: bigint };

/** Field name → value, in the order the mapping set them. Always includes `id`. */
export type Entity = Map<string, StoreValue>;

/** A block of the indexed chain. Hashes are 0x-prefixed lowercase hex. */
export interface BlockPtr {
  number: number;
  hash: string;
  parentHash: string;
  /** Seconds since the Unix epoch. */
  timestamp: number;
}

/** A data source created at run time from a template (`ModelShares.create(address)`). */
export interface DynamicDataSource {
  template: string;
  /** 0x-prefixed lowercase address. */
  address: string;
  /** `dataSource.createWithContext`'s context, as an entity-shaped map; empty when none. */
  context: Entity;
  /** The block whose handler created it. As in graph-node, the creating block's triggers are run again for the new
   *  data source after that block's other triggers (so a token's mint transfers, emitted before the event that
   *  creates its data source, are still seen). */
  createdAtBlock: number;
}

/** Why indexing stopped: a handler aborted, or a store write broke the schema's rules. */
export interface IndexingError {
  message: string;
  block: number;
  handler?: string;
}

/**
 * A mapping broke a rule the store enforces (unknown entity type or field, wrong id type, a non-null field left
 * null, an immutable entity changed). Deterministic: the same block always fails the same way, so the runtime marks
 * the deployment failed instead of retrying.
 */
export class DeterministicError extends Error {
  override name = "DeterministicError";
}

/** The writes of one block, applied atomically by `commit`. */
export interface BlockWriter {
  readonly block: BlockPtr;
  /** The entity as of this block, including this block's writes so far; null when absent or removed. */
  get(type: string, id: string): Entity | null;
  /** Only what this block has written so far (graph-ts `loadInBlock`). */
  getInBlock(type: string, id: string): Entity | null;
  /** The entities whose `field` points at (`type`, `id`): resolves an `@derivedFrom` field (graph-ts `loadRelated`). */
  loadRelated(type: string, id: string, field: string): Entity[];
  /**
   * graph-node's `store.set`: merges `data` into the existing entity (a Null value removes a field), checks the
   * result against the schema and throws DeterministicError when it breaks a rule.
   */
  set(type: string, id: string, data: Entity): void;
  remove(type: string, id: string): void;
  addDataSource(dataSource: Omit<DynamicDataSource, "createdAtBlock">): void;
  /** Makes the block's writes durable and moves the head to this block. */
  commit(): Promise<void>;
  /** Discards the block's writes. */
  abort(): void;
}

export interface EntityStore {
  /** The last committed block, or null before the first one. */
  head(): Promise<BlockPtr | null>;
  /** The committed block at `number`, if the store still remembers it (used to find a reorg's common ancestor). */
  block(number: number): Promise<BlockPtr | null>;
  /** Starts the writes of `block`, which must come after the head. */
  begin(block: BlockPtr): BlockWriter;
  /** Undoes everything above `number` (entity versions, data sources, blocks); the head becomes `number`. */
  revertTo(number: number): Promise<void>;
  dataSources(): Promise<DynamicDataSource[]>;
  /** Records (or clears, with null) the error that stopped indexing; GraphQL `_meta.hasIndexingErrors` reads it. */
  setFailure(error: IndexingError | null): Promise<void>;
  failure(): Promise<IndexingError | null>;
  close(): Promise<void>;
}
