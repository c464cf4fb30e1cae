// What differs between SQLite and PostgreSQL in the queries the builder writes: placeholders, how values and lists
// are encoded, and a handful of string, bytes and list functions.
import type { EntityField, ValueKind } from "../../schema.ts";
import type { FilterScalar } from "../query.ts";

export type TextOp = "contains" | "starts_with" | "ends_with";

export interface SqlDialect {
  readonly name: "sqlite" | "postgres";
  /** The n-th (1-based) parameter's placeholder. */
  placeholder(n: number): string;
  /** The quoted (and qualified) table of an entity type. */
  table(entity: string): string;
  /** A scalar filter operand as the column of its kind stores it. */
  scalar(kind: ValueKind, payload: FilterScalar): unknown;
  /** A whole list as its column stores it (list equality). */
  list(field: EntityField, payloads: FilterScalar[]): unknown;
  /** A subquery yielding the elements of a list column, comparable with columns of the element kind. */
  listElements(column: string, field: EntityField): string;
  /** Whether the list column has an element equal to the parameter (case-insensitively with nocase). */
  listHas(column: string, field: EntityField, param: string, nocase: boolean): string;
  /** A string test on a text column (ASCII case-insensitive with nocase, like graph-node's byte-wise collation). */
  text(op: TextOp, column: string, param: string, nocase: boolean): string;
  /** A byte-string test on a bytes column. */
  bytes(op: TextOp, column: string, param: string): string;
  /** `column = param`, written so the attribute index can serve it. */
  equals(column: string, field: EntityField, param: string): string;
  /**
   * How a list field of many parents is read with a LIMIT per parent (so an index can stop early): one UNION ALL
   * part per parent (SQLite), or a LATERAL join over an array of parent ids (PostgreSQL).
   */
  readonly perParent: "union" | "lateral";
  /** The SQL array type of a kind, for `$1::<type>[]` parameters. */
  arrayType(kind: ValueKind): string;
}
