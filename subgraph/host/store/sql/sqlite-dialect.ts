// SQLite's side of the query builder: numbered `?N` placeholders, JSON lists walked with json_each, byte-wise text.
import type { EntityField, ValueKind } from "../../schema.ts";
import type { FilterScalar } from "../query.ts";
import type { SqlDialect, TextOp } from "./dialect.ts";
import { quote } from "./layout.ts";
import { listElement, sqliteScalar } from "./sqlite-codec.ts";

export const sqliteDialect: SqlDialect = {
  name: "sqlite",
  placeholder: (n) => `?${n}`,
  table: (entity) => quote(entity),
  scalar: (kind: ValueKind, payload: FilterScalar) => sqliteScalar(kind, payload),
  list: (field, payloads) => JSON.stringify(payloads.map((p) => listElement(field.kind, p))),
  listElements(column: string, field: EntityField): string {
    return `SELECT ${elementAsColumn(field.kind)} FROM json_each(${column})`;
  },
  listHas(column, _field, param, nocase) {
    const value = nocase ? "lower(value)" : "value";
    return `EXISTS (SELECT 1 FROM json_each(${column}) WHERE ${value} = ${nocase ? `lower(${param})` : param})`;
  },
  text: (op, column, param, nocase) => (nocase ? affix(op, `lower(${column})`, `lower(${param})`) : affix(op, column, param)),
  bytes: (op, column, param) => affix(op, column, param),
  equals: (column, _field, param) => `${column} = ${param}`,
  perParent: "union",
  arrayType: () => {
    throw new Error("SQLite has no array parameters");
  },
};

// instr and substr work on characters for TEXT and on bytes for BLOBs, so one form serves both.
function affix(op: TextOp, column: string, param: string): string {
  switch (op) {
    case "contains":
      return `instr(${column}, ${param}) > 0`;
    case "starts_with":
      return `substr(${column}, 1, length(${param})) = ${param}`;
    case "ends_with":
      return `(length(${param}) = 0 OR substr(${column}, -length(${param})) = ${param})`;
  }
}

/** A JSON list element (see listElement) back in its column form, so it can be compared with id columns. */
function elementAsColumn(kind: ValueKind): string {
  switch (kind) {
    case "Bytes":
      return "unhex(substr(value, 3))";
    case "Int8":
    case "Timestamp":
      return "CAST(value AS INTEGER)";
    default:
      return "value";
  }
}
