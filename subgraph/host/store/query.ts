// The query side of a store, as the GraphQL layer uses it: entity queries at a block with graph-node's filters,
// ordering and pagination already parsed into plain data. Both stores answer them with the same SQL builder
// (store/sql/query-builder.ts).
import type { SubgraphSchema } from "../schema.ts";
import type { BlockPtr, IndexingError, StoreValue } from "./types.ts";

/** A filter operand, typed like the field it compares with (BigDecimal as canonical decimal text). */
export type FilterScalar = string | number | bigint | boolean | Uint8Array;

export type Filter =
  | { kind: "and"; filters: Filter[] }
  | { kind: "or"; filters: Filter[] }
  /** `field`, `field_not`, `_gt`, `_lt`, `_gte`, `_lte`; a null value tests for (not) null. */
  | { kind: "compare"; field: string; op: "eq" | "not" | "gt" | "lt" | "gte" | "lte"; value: FilterScalar | null }
  | { kind: "in"; field: string; not: boolean; values: FilterScalar[] }
  /** String `_contains`, `_starts_with`, `_ends_with`, with their `_not_` and `_nocase` variants. */
  | { kind: "text"; field: string; op: "contains" | "starts_with" | "ends_with"; not: boolean; nocase: boolean; value: string }
  /** Bytes `_contains` / `_not_contains` (and prefix/suffix tests on Bytes ids referenced as strings). */
  | { kind: "bytes"; field: string; op: "contains" | "starts_with" | "ends_with"; not: boolean; value: Uint8Array }
  /**
   * List fields: equality, `_not`, `_contains` (every value present; with nocase, any of them), `_not_contains` (none
   * present); a null value tests for null.
   */
  | { kind: "list"; field: string; op: "eq" | "not" | "contains" | "not_contains"; nocase: boolean; values: FilterScalar[] | null }
  /** `field_: Child_filter` on references, reference lists and @derivedFrom fields. */
  | { kind: "child"; field: string; filter: Filter }
  /** `_change_block: { number_gte }`: the version was written at or after `block`. */
  | { kind: "changed_since"; block: number };

export interface OrderBy {
  field: string;
  /** `field__child`: order by a field of the entity `field` references. */
  child?: string;
  direction: "asc" | "desc";
}

export interface EntityQuery {
  type: string;
  /** The block the query runs at: versions whose range contains it. */
  block: number;
  where?: Filter;
  /** Absent: by id ascending. The id always breaks ties, in the same direction. */
  orderBy?: OrderBy;
  skip: number;
  first: number;
}

/** A list field (@derivedFrom or a list of references) of many parents at once, each with its own skip/first. */
export interface ChildrenQuery {
  parentType: string;
  field: string;
  parentKeys: string[];
  block: number;
  where?: Filter;
  orderBy?: OrderBy;
  skip: number;
  first: number;
}

/** A problem with a query that the caller made (a bad filter value, ordering by a list): reported to the client. */
export class QueryError extends Error {
  override name = "QueryError";
}

/** A queried entity. Stores decode a field when it is first read, so unselected fields cost nothing. */
export interface EntityRow {
  get(field: string): StoreValue | undefined;
}

export interface EntityReader {
  readonly schema: SubgraphSchema;
  /** The last durable block. */
  head(): Promise<BlockPtr | null>;
  blockByNumber(number: number): Promise<BlockPtr | null>;
  blockByHash(hash: string): Promise<BlockPtr | null>;
  failure(): Promise<IndexingError | null>;
  find(query: EntityQuery): Promise<EntityRow[]>;
  /** Entities by id key at a block; missing ones are absent from the map. */
  findByIds(type: string, keys: readonly string[], block: number): Promise<Map<string, EntityRow>>;
  /** Per parent key, the children in order (parents without children are absent). */
  findChildren(query: ChildrenQuery): Promise<Map<string, EntityRow[]>>;
}

/** A store with a query side: what the GraphQL server needs. */
export interface QueryableStore {
  readonly reader: EntityReader;
}
