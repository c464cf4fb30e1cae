// The writes of a block, and how a run of committed blocks becomes row operations: close the versions the database
// holds, insert each new version with its block range. Both stores execute the same plan.
import type { BlockPtr, DynamicDataSource, Entity } from "./types.ts";

/** One block's writes: per entity type, per id key, the entity as of this block, or null when removed. */
export interface BlockChanges {
  readonly block: BlockPtr;
  readonly entities: Map<string, Map<string, Entity | null>>;
  readonly dataSources: DynamicDataSource[];
}

export function emptyChanges(block: BlockPtr): BlockChanges {
  return { block, entities: new Map(), dataSources: [] };
}

export function hasWrites(changes: BlockChanges): boolean {
  return changes.dataSources.length > 0 || [...changes.entities.values()].some((m) => m.size > 0);
}

/** A version to insert: the entity as of `from`, current until `to` (null while current). */
export interface VersionRow {
  readonly key: string;
  readonly entity: Entity;
  readonly from: number;
  to: number | null;
}

export interface TablePlan {
  /** Current versions in the database to close, with the block that closes each (its first change in the run). */
  readonly close: Map<string, number>;
  readonly insert: VersionRow[];
}

export interface FlushPlan {
  readonly tables: Map<string, TablePlan>;
  readonly blocks: { ptr: BlockPtr; changed: boolean }[];
  readonly dataSources: DynamicDataSource[];
  readonly head: BlockPtr;
}

/**
 * Collapses consecutive blocks into one set of row operations: a version written and replaced inside the run is
 * inserted with its closed range, and the database's current version is closed by the first block that touched it.
 */
export function planFlush(run: readonly BlockChanges[]): FlushPlan {
  const tables = new Map<string, TablePlan>();
  const open = new Map<string, Map<string, VersionRow>>();
  const blocks: FlushPlan["blocks"] = [];
  const dataSources: DynamicDataSource[] = [];
  for (const changes of run) {
    const number = changes.block.number;
    blocks.push({ ptr: changes.block, changed: hasWrites(changes) });
    dataSources.push(...changes.dataSources);
    for (const [type, writes] of changes.entities) {
      let table = tables.get(type);
      if (!table) tables.set(type, (table = { close: new Map(), insert: [] }));
      let current = open.get(type);
      if (!current) open.set(type, (current = new Map()));
      for (const [key, entity] of writes) {
        const previous = current.get(key);
        if (previous) previous.to = number;
        else if (!table.close.has(key)) table.close.set(key, number);
        if (entity) {
          const row: VersionRow = { key, entity, from: number, to: null };
          table.insert.push(row);
          current.set(key, row);
        } else {
          current.delete(key);
        }
      }
    }
  }
  return { tables, blocks, dataSources, head: run[run.length - 1]!.block };
}
