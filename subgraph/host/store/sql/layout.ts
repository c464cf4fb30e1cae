// How entities map to tables, shared by both databases: one table per entity type, one column per stored field (named
// like the field), plus `vid` (row id), `block_from` and `block_to` (the version's block range; NULL = current).
// Internal tables start with "_" (entity names cannot).
import { createHash } from "node:crypto";
import type { EntityField, EntityType, SubgraphSchema } from "../../schema.ts";

export const BLOCKS_TABLE = "_blocks";
export const DATA_SOURCES_TABLE = "_data_sources";
export const META_TABLE = "_meta";

/** Bump when the layout changes: a database written by another layout is refused instead of misread. */
export const LAYOUT_VERSION = "1";

export function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** An index name, readable when it fits PostgreSQL's 63-byte limit and unique either way. */
export function indexName(table: string, suffix: string): string {
  const name = `${table}$${suffix}`;
  if (Buffer.byteLength(name) <= 63) return name;
  return `${table.slice(0, 30)}$${createHash("sha256").update(name).digest("hex").slice(0, 16)}`;
}

/** The stored fields that get an attribute index: every non-list column but the id (which has its own). */
export function indexedFields(entity: EntityType): EntityField[] {
  return entity.stored.filter((f) => f.name !== "id" && !f.list);
}

/** Whether a field is a reference to another entity (stored as that entity's id). */
export function isReference(field: EntityField): boolean {
  return field.base === "entity";
}

export function entityTypes(schema: SubgraphSchema): EntityType[] {
  return [...schema.entities.values()];
}
