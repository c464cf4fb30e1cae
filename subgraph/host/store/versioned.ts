// EntityStore over a StoreBackend: block writers with graph-node's set/remove rules, synchronous reads that see the
// block's own writes and every committed-but-not-yet-durable block, and group commits (blocks committed while a write
// is in flight go to the database together, each commit resolving only once its block is durable).
import type { EntityType, SubgraphSchema } from "../schema.ts";
import type { StoreBackend } from "./backend.ts";
import { emptyChanges, planFlush, type BlockChanges } from "./changes.ts";
import {
  DeterministicError,
  type BlockPtr,
  type BlockWriter,
  type DynamicDataSource,
  type Entity,
  type EntityStore,
  type IndexingError,
  type StoreValue,
} from "./types.ts";
import { entityTypeFor, idKeyFor, mergeForSet } from "./validate.ts";
import { idKeyOf } from "./values.ts";

export interface VersionedStoreOptions {
  /** Most blocks written in one transaction when commits pile up (default 1000). */
  maxBlocksPerFlush?: number;
}

interface Committed {
  changes: BlockChanges;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class VersionedStore implements EntityStore {
  readonly schema: SubgraphSchema;
  readonly #backend: StoreBackend;
  readonly #maxBlocksPerFlush: number;
  /** Committed blocks not yet durable, oldest first; reads look through them. */
  #unflushed: Committed[] = [];
  #flushing: Promise<void> | null = null;
  #writer: Writer | null = null;
  /** The highest block committed (durable or not): the next writer must come after it. */
  #lastNumber: number | null;
  #broken: Error | null = null;
  #closed = false;

  constructor(backend: StoreBackend, headNumber: number | null, options: VersionedStoreOptions = {}) {
    this.schema = backend.schema;
    this.#backend = backend;
    this.#lastNumber = headNumber;
    this.#maxBlocksPerFlush = options.maxBlocksPerFlush ?? 1000;
  }

  async head(): Promise<BlockPtr | null> {
    await this.#drain();
    return this.#backend.head();
  }

  async block(number: number): Promise<BlockPtr | null> {
    await this.#drain();
    return this.#backend.block(number);
  }

  begin(block: BlockPtr): BlockWriter {
    this.#usable();
    if (this.#writer) throw new Error(`block ${this.#writer.block.number} is still being written: commit or abort it first`);
    if (!Number.isSafeInteger(block.number) || block.number < 0) throw new Error(`invalid block number ${block.number}`);
    if (this.#lastNumber !== null && block.number <= this.#lastNumber) {
      throw new Error(`block ${block.number} does not come after the head (block ${this.#lastNumber}); revert first to rewrite it`);
    }
    this.#writer = new Writer(this, this.#backend, block);
    return this.#writer;
  }

  async revertTo(number: number): Promise<void> {
    this.#usable();
    if (this.#writer) throw new Error(`cannot revert while block ${this.#writer.block.number} is being written`);
    await this.#drain();
    const head = await this.#backend.revertTo(number);
    this.#lastNumber = head?.number ?? null;
  }

  async dataSources(): Promise<DynamicDataSource[]> {
    await this.#drain();
    return this.#backend.dataSources();
  }

  async setFailure(error: IndexingError | null): Promise<void> {
    this.#usable();
    await this.#drain();
    await this.#backend.setFailure(error);
  }

  async failure(): Promise<IndexingError | null> {
    return this.#backend.failure();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#writer = null;
    await this.#drain().catch(() => {});
    this.#closed = true;
    await this.#backend.close();
  }

  // ---- used by Writer -------------------------------------------------------------------------------------------------

  /** The entity as the committed blocks (durable or not) leave it; undefined when they say nothing about it. */
  overlay(type: string, key: string): Entity | null | undefined {
    for (let i = this.#unflushed.length - 1; i >= 0; i--) {
      const writes = this.#unflushed[i]!.changes.entities.get(type);
      if (writes?.has(key)) return writes.get(key)!;
    }
    return undefined;
  }

  /** Every not-yet-durable block's writes, oldest first. */
  overlays(): BlockChanges[] {
    return this.#unflushed.map((c) => c.changes);
  }

  commitWriter(changes: BlockChanges): Promise<void> {
    this.#writer = null;
    this.#usable();
    this.#lastNumber = changes.block.number;
    const promise = new Promise<void>((resolve, reject) => this.#unflushed.push({ changes, resolve, reject }));
    this.#scheduleFlush();
    return promise;
  }

  abortWriter(writer: Writer): void {
    if (this.#writer === writer) this.#writer = null;
  }

  // ---- group commit -------------------------------------------------------------------------------------------------

  #scheduleFlush(): void {
    if (this.#flushing) return;
    // Defer one turn so blocks committed back to back by a pipelining indexer share a transaction.
    this.#flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#flushLoop());
  }

  async #flushLoop(): Promise<void> {
    try {
      while (this.#unflushed.length > 0) {
        const run = this.#unflushed.slice(0, this.#maxBlocksPerFlush);
        try {
          await this.#backend.flush(planFlush(run.map((c) => c.changes)));
        } catch (error) {
          this.#fail(error as Error);
          return;
        }
        this.#unflushed.splice(0, run.length);
        for (const c of run) c.resolve();
      }
    } finally {
      this.#flushing = null;
    }
  }

  #fail(error: Error): void {
    // Later blocks were built on the failed ones: none of them can be written any more.
    const failed = this.#unflushed;
    this.#unflushed = [];
    this.#broken = new Error(`the store failed to write block ${failed[0]?.changes.block.number}: ${error.message}`, { cause: error });
    for (const c of failed) c.reject(this.#broken);
  }

  async #drain(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (this.#broken) throw this.#broken;
  }

  #usable(): void {
    if (this.#closed) throw new Error("the store is closed");
    if (this.#broken) throw this.#broken;
  }
}

class Writer implements BlockWriter {
  readonly block: BlockPtr;
  readonly #store: VersionedStore;
  readonly #backend: StoreBackend;
  readonly #changes: BlockChanges;
  #state: "open" | "committed" | "aborted" = "open";

  constructor(store: VersionedStore, backend: StoreBackend, block: BlockPtr) {
    this.block = block;
    this.#store = store;
    this.#backend = backend;
    this.#changes = emptyChanges(block);
  }

  get(type: string, id: string): Entity | null {
    this.#open();
    const entity = entityTypeFor(this.#store.schema, type);
    const found = this.#current(entity, idKeyFor(entity, id));
    return found && new Map(found);
  }

  getInBlock(type: string, id: string): Entity | null {
    this.#open();
    const entity = entityTypeFor(this.#store.schema, type);
    const found = this.#changes.entities.get(type)?.get(idKeyFor(entity, id));
    return found ? new Map(found) : null;
  }

  loadRelated(type: string, id: string, field: string): Entity[] {
    this.#open();
    const parent = entityTypeFor(this.#store.schema, type);
    const parentKey = idKeyFor(parent, id);
    const derived = parent.field.get(field);
    if (!derived || derived.derivedFrom === undefined) {
      throw new DeterministicError(`loadRelated: ${type}.${field} is not a @derivedFrom field of the schema`);
    }
    const child = this.#store.schema.entities.get(derived.typeName)!;
    const back = child.field.get(derived.derivedFrom)!;
    const related = new Map<string, Entity>();
    for (const e of this.#backend.readRelated(child, back, parentKey)) related.set(idKeyOf(e.get("id")!)!, e);
    for (const layer of [...this.#store.overlays(), this.#changes]) {
      const writes = layer.entities.get(child.name);
      if (!writes) continue;
      for (const [key, e] of writes) {
        if (e && references(e.get(back.name), parentKey)) related.set(key, e);
        else related.delete(key);
      }
    }
    return [...related.keys()].sort().map((key) => new Map(related.get(key)!));
  }

  set(type: string, id: string, data: Entity): void {
    this.#open();
    const entity = entityTypeFor(this.#store.schema, type);
    const key = idKeyFor(entity, id);
    const inBlock = this.#changes.entities.get(type);
    let base: Entity | null;
    if (inBlock?.has(key)) {
      base = inBlock.get(key)!;
    } else {
      base = this.#committed(entity, key);
      if (base && entity.immutable) {
        throw new DeterministicError(
          `Entity ${type}[${key}]: ${type} is immutable; it was created before block ${this.block.number} and cannot be changed`,
        );
      }
    }
    const merged = mergeForSet(entity, key, base, data);
    this.#writes(type).set(key, merged);
  }

  remove(type: string, id: string): void {
    this.#open();
    const entity = entityTypeFor(this.#store.schema, type);
    const key = idKeyFor(entity, id);
    if (entity.immutable && this.#current(entity, key)) {
      throw new DeterministicError(`Entity ${type}[${key}]: ${type} is immutable and cannot be removed`);
    }
    this.#writes(type).set(key, null);
  }

  addDataSource(dataSource: Omit<DynamicDataSource, "createdAtBlock">): void {
    this.#open();
    this.#changes.dataSources.push({
      template: dataSource.template,
      address: dataSource.address.toLowerCase(),
      context: new Map(dataSource.context),
      createdAtBlock: this.block.number,
    });
  }

  commit(): Promise<void> {
    try {
      this.#open();
    } catch (error) {
      return Promise.reject(error);
    }
    this.#state = "committed";
    return this.#store.commitWriter(this.#changes);
  }

  abort(): void {
    if (this.#state !== "open") return;
    this.#state = "aborted";
    this.#store.abortWriter(this);
  }

  #current(entity: EntityType, key: string): Entity | null {
    const own = this.#changes.entities.get(entity.name);
    if (own?.has(key)) return own.get(key)!;
    return this.#committed(entity, key);
  }

  #committed(entity: EntityType, key: string): Entity | null {
    const overlay = this.#store.overlay(entity.name, key);
    if (overlay !== undefined) return overlay;
    return this.#backend.readCurrent(entity, key);
  }

  #writes(type: string): Map<string, Entity | null> {
    let writes = this.#changes.entities.get(type);
    if (!writes) this.#changes.entities.set(type, (writes = new Map()));
    return writes;
  }

  #open(): void {
    if (this.#state !== "open") throw new Error(`block ${this.block.number} was already ${this.#state}`);
  }
}

function references(value: StoreValue | undefined, key: string): boolean {
  if (!value) return false;
  if (value.kind === "Array") return value.value.some((v) => idKeyOf(v) === key);
  return idKeyOf(value) === key;
}
