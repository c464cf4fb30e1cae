// Values in PostgreSQL columns: text (byte-wise "C" collation), bytea, int4, int8 (Int8, Timestamp), numeric (BigInt,
// BigDecimal: exact and numerically ordered), boolean; lists as arrays of those.
import pg from "pg";
import type { EntityField, ValueKind } from "../../schema.ts";
import type { StoreValue } from "../types.ts";
import { normalizeDecimal } from "../values.ts";

const ELEMENT_TYPE: Record<ValueKind, string> = {
  String: `text COLLATE "C"`,
  Bytes: "bytea",
  Int: "int4",
  Int8: "int8",
  Timestamp: "int8",
  BigInt: "numeric",
  BigDecimal: "numeric",
  Boolean: "boolean",
};

/** The bare SQL type of a kind, for casts (`$1::numeric[]`). */
export const CAST_TYPE: Record<ValueKind, string> = {
  String: "text",
  Bytes: "bytea",
  Int: "int4",
  Int8: "int8",
  Timestamp: "int8",
  BigInt: "numeric",
  BigDecimal: "numeric",
  Boolean: "boolean",
};

export function postgresColumnType(field: EntityField): string {
  if (!field.list) return ELEMENT_TYPE[field.kind];
  return field.kind === "String" ? `text[] COLLATE "C"` : `${ELEMENT_TYPE[field.kind]}[]`;
}

/** A scalar payload as a query parameter for a column of `kind`. */
export function postgresScalar(kind: ValueKind, payload: unknown): unknown {
  switch (kind) {
    case "Bytes": {
      const bytes = payload as Uint8Array;
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    case "Int8":
    case "Timestamp":
    case "BigInt":
      return (payload as bigint).toString();
    default:
      return payload;
  }
}

export function toPostgres(field: EntityField, value: StoreValue | undefined): unknown {
  if (value === undefined || value.kind === "Null") return null;
  if (value.kind === "Array") {
    return value.value.map((v) => (v.kind === "Null" ? null : postgresScalar(field.kind, (v as { value: unknown }).value)));
  }
  return postgresScalar(field.kind, value.value);
}

export function fromPostgres(field: EntityField, raw: unknown): StoreValue | undefined {
  if (raw === null || raw === undefined) return undefined;
  if (field.list) {
    return {
      kind: "Array",
      value: (raw as unknown[]).map((e) => (e === null ? { kind: "Null" } : fromScalar(field.kind, e))),
    };
  }
  return fromScalar(field.kind, raw);
}

function fromScalar(kind: ValueKind, raw: unknown): StoreValue {
  switch (kind) {
    case "String":
      return { kind, value: raw as string };
    case "Bytes": {
      const b = raw as Uint8Array;
      return { kind, value: new Uint8Array(b.buffer, b.byteOffset, b.byteLength) };
    }
    case "Int":
      return { kind, value: Number(raw) };
    case "Int8":
    case "Timestamp":
    case "BigInt":
      return { kind, value: BigInt(raw as string) };
    case "BigDecimal":
      return { kind, value: normalizeDecimal(raw as string)! };
    case "Boolean":
      return { kind, value: raw as boolean };
  }
}

const NUMERIC_ARRAY = 1231; // parsed like text[] (1009), which keeps each element as written

/** node-postgres parsers that keep every numeric exact (its default turns numeric[] into floats). */
export const exactTypes = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === NUMERIC_ARRAY && format !== "binary") return pg.types.getTypeParser(1009 as never, "text");
    return pg.types.getTypeParser(oid as never, format ?? "text");
  },
} as pg.CustomTypesConfig;
