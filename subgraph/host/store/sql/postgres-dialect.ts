// PostgreSQL's side of the query builder: `$N` placeholders, schema-qualified tables, native arrays, and prefix
// predicates so equality on long text and bytes attributes can use their prefix indexes.
import type { EntityField } from "../../schema.ts";
import type { SqlDialect, TextOp } from "./dialect.ts";
import { quote } from "./layout.ts";
import { CAST_TYPE, postgresScalar } from "./postgres-codec.ts";

/** Prefix lengths of the text/bytes attribute indexes (a btree entry must stay well below 2,700 bytes). */
export const TEXT_PREFIX = 256;
export const BYTES_PREFIX = 64;

/** Text and bytes attributes (not ids, not references) are indexed on a prefix only: values may be long. */
export function prefixIndexed(field: EntityField): boolean {
  return !field.list && field.base !== "entity" && field.name !== "id" && (field.kind === "String" || field.kind === "Bytes");
}

export function postgresDialect(pgSchema: string): SqlDialect {
  return {
    name: "postgres",
    placeholder: (n) => `$${n}`,
    table: (entity) => `${quote(pgSchema)}.${quote(entity)}`,
    scalar: (kind, payload) => postgresScalar(kind, payload),
    list: (field, payloads) => payloads.map((p) => postgresScalar(field.kind, p)),
    listElements: (column) => `SELECT unnest(${column})`,
    listHas(column, field, param, nocase) {
      if (nocase) return `EXISTS (SELECT 1 FROM unnest(${column}) e WHERE lower(e::text) = lower(${param}::text))`;
      return `${param}::${CAST_TYPE[field.kind]} = ANY(${column})`;
    },
    text(op: TextOp, column: string, param: string, nocase: boolean): string {
      let p = `${param}::text`;
      if (nocase) {
        p = `lower(${p})`;
        column = `lower(${column})`;
      }
      switch (op) {
        case "contains":
          return `strpos(${column}, ${p}) > 0`;
        case "starts_with":
          return `left(${column}, length(${p})) = ${p}`;
        case "ends_with":
          return `right(${column}, length(${p})) = ${p}`;
      }
    },
    bytes(op: TextOp, column: string, param: string): string {
      const p = `${param}::bytea`;
      switch (op) {
        case "contains":
          return `position(${p} in ${column}) > 0`;
        case "starts_with":
          return `substring(${column} from 1 for length(${p})) = ${p}`;
        case "ends_with":
          return `(length(${column}) >= length(${p}) AND substring(${column} from length(${column}) - length(${p}) + 1) = ${p})`;
      }
    },
    perParent: "lateral",
    arrayType: (kind) => CAST_TYPE[kind],
    equals(column, field, param) {
      if (!prefixIndexed(field)) return `${column} = ${param}`;
      return field.kind === "String"
        ? `left(${column}, ${TEXT_PREFIX}) = left(${param}::text, ${TEXT_PREFIX}) AND ${column} = ${param}`
        : `substring(${column} from 1 for ${BYTES_PREFIX}) = substring(${param}::bytea from 1 for ${BYTES_PREFIX}) AND ${column} = ${param}`;
    },
  };
}
