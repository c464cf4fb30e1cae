// Values in SQLite columns: strings as TEXT, Bytes as BLOB, Int/Int8/Timestamp/Boolean as INTEGER, BigInt and
// BigDecimal as sortable TEXT (sortable.ts) so comparisons and ORDER BY are numeric and exact. Lists are JSON arrays
// whose elements use the same scalar forms as filter parameters (listElement), so `json_each` can match them.
import type { EntityField, ValueKind } from "../../schema.ts";
import type { StoreValue } from "../types.ts";
import { bytesToHex, formatDecimal, hexToBytes } from "../values.ts";
import { bigIntFromSortable, decodeSortable, sortableBigInt, sortableDecimal } from "./sortable.ts";

export type SqliteValue = null | number | bigint | string | Uint8Array;

export function sqliteColumnType(field: EntityField): string {
  if (field.list) return "TEXT";
  switch (field.kind) {
    case "Bytes":
      return "BLOB";
    case "Int":
    case "Int8":
    case "Timestamp":
    case "Boolean":
      return "INTEGER";
    default:
      return "TEXT";
  }
}

/** The column value of a scalar payload of `kind` (also the parameter a filter compares the column with). */
export function sqliteScalar(kind: ValueKind, payload: unknown): SqliteValue {
  switch (kind) {
    case "String":
      return payload as string;
    case "Bytes":
      return payload as Uint8Array;
    case "Int":
      return payload as number;
    case "Int8":
    case "Timestamp":
      return payload as bigint;
    case "Boolean":
      return payload ? 1 : 0;
    case "BigInt":
      return sortableBigInt(payload as bigint);
    case "BigDecimal":
      return sortableDecimal(payload as string);
  }
}

/** A list element as it sits in the JSON array (and the parameter `json_each(...).value` is compared with). */
export function listElement(kind: ValueKind, payload: unknown): string | number | null {
  switch (kind) {
    case "Bytes":
      return bytesToHex(payload as Uint8Array);
    case "Int8":
    case "Timestamp":
      return (payload as bigint).toString();
    case "Boolean":
      return payload ? 1 : 0;
    default:
      return sqliteScalar(kind, payload) as string | number;
  }
}

export function toSqlite(field: EntityField, value: StoreValue | undefined): SqliteValue {
  if (value === undefined || value.kind === "Null") return null;
  if (value.kind === "Array") {
    return JSON.stringify(value.value.map((v) => (v.kind === "Null" ? null : listElement(field.kind, (v as { value: unknown }).value))));
  }
  return sqliteScalar(field.kind, value.value);
}

export function fromSqlite(field: EntityField, raw: unknown): StoreValue | undefined {
  if (raw === null || raw === undefined) return undefined;
  if (field.list) {
    const elements = JSON.parse(raw as string) as (string | number | null)[];
    return { kind: "Array", value: elements.map((e) => (e === null ? { kind: "Null" } : fromElement(field.kind, e))) };
  }
  return fromScalar(field.kind, raw);
}

function fromScalar(kind: ValueKind, raw: unknown): StoreValue {
  switch (kind) {
    case "String":
      return { kind, value: raw as string };
    case "Bytes":
      return { kind, value: raw as Uint8Array };
    case "Int":
      return { kind, value: Number(raw) };
    case "Int8":
    case "Timestamp":
      return { kind, value: BigInt(raw as bigint) };
    case "Boolean":
      return { kind, value: Number(raw) !== 0 };
    case "BigInt":
      return { kind, value: bigIntFromSortable(raw as string) };
    case "BigDecimal":
      return { kind, value: formatDecimal(decodeSortable(raw as string)) };
  }
}

function fromElement(kind: ValueKind, e: string | number): StoreValue {
  switch (kind) {
    case "Bytes":
      return { kind, value: hexToBytes(e as string)! };
    case "Int8":
    case "Timestamp":
      return { kind, value: BigInt(e) };
    default:
      return fromScalar(kind, e);
  }
}
