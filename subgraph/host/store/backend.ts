// What a database must provide for the versioned store (store/versioned.ts) to implement EntityStore on top of it.
// The SQLite and PostgreSQL backends implement it; everything about blocks, merges, validation, overlays and group
// commits is shared.
import type { EntityField, EntityType, SubgraphSchema } from "../schema.ts";
import type { FlushPlan } from "./changes.ts";
import type { BlockPtr, DynamicDataSource, Entity, IndexingError } from "./types.ts";

export interface StoreBackend {
  readonly schema: SubgraphSchema;
  /** The committed current version of an entity. Synchronous: WebAssembly imports cannot await. */
  readCurrent(entity: EntityType, key: string): Entity | null;
  /** The committed current entities of `child` whose `field` references `parentKey`. Synchronous. */
  readRelated(child: EntityType, field: EntityField, parentKey: string): Entity[];
  /** Writes a run of blocks in one transaction; resolves once durable. */
  flush(plan: FlushPlan): Promise<void>;
  head(): Promise<BlockPtr | null>;
  block(number: number): Promise<BlockPtr | null>;
  /** Deletes versions, data sources and blocks above `number`, reopens versions closed above it; returns the new head. */
  revertTo(number: number): Promise<BlockPtr | null>;
  dataSources(): Promise<DynamicDataSource[]>;
  setFailure(error: IndexingError | null): Promise<void>;
  failure(): Promise<IndexingError | null>;
  close(): Promise<void>;
}
