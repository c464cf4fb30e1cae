// Small helpers over StoreValue shared by the stores and the GraphQL layer: id keys, hex, exact decimals, copies and
// a JSON form for data source contexts.
import type { IdKind } from "../schema.ts";
import type { Entity, StoreValue } from "./types.ts";

export function bytesToHex(bytes: Uint8Array): string {
  return "0x" + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

const HEX = /^(0x)?([0-9a-fA-F]{2})*$/;

/** Parses `0x`-prefixed (or bare) hex with an even number of digits; null when it is not hex. */
export function hexToBytes(hex: string): Uint8Array | null {
  if (!HEX.test(hex)) return null;
  return new Uint8Array(Buffer.from(hex.startsWith("0x") ? hex.slice(2) : hex, "hex"));
}

/**
 * The text form of an id, used as the key of an entity everywhere in the host: the string itself, lowercase 0x hex for
 * Bytes ids (what graph-ts's `toHexString()` gives) and decimal for Int8 ids.
 */
export function idKeyOf(value: StoreValue): string | null {
  switch (value.kind) {
    case "String":
      return value.value;
    case "Bytes":
      return bytesToHex(value.value);
    case "Int8":
      return value.value.toString();
    default:
      return null;
  }
}

/** The id value for a key (see idKeyOf), or null when the key is not a valid id of that kind. */
export function idValueOf(kind: IdKind, key: string): StoreValue | null {
  switch (kind) {
    case "String":
      return { kind: "String", value: key };
    case "Bytes": {
      if (!key.startsWith("0x")) return null;
      const bytes = hexToBytes(key);
      return bytes ? { kind: "Bytes", value: bytes } : null;
    }
    case "Int8": {
      if (!/^-?\d+$/.test(key)) return null;
      const n = BigInt(key);
      return n >= -(2n ** 63n) && n < 2n ** 63n ? { kind: "Int8", value: n } : null;
    }
  }
}

/** Normalises the text form of an id the runtime hands over (hex ids in lowercase). */
export function normalizeIdKey(kind: IdKind, key: string): string | null {
  const value = idValueOf(kind, key);
  return value ? idKeyOf(value) : null;
}

export function cloneValue(value: StoreValue): StoreValue {
  switch (value.kind) {
    case "Array":
      return { kind: "Array", value: value.value.map(cloneValue) };
    case "Bytes":
      return { kind: "Bytes", value: value.value.slice() };
    default:
      return { ...value };
  }
}

export function cloneEntity(entity: Entity): Entity {
  const copy: Entity = new Map();
  for (const [key, value] of entity) copy.set(key, cloneValue(value));
  return copy;
}

/** A short, readable rendering of a value for error messages. */
export function describeValue(value: StoreValue): string {
  switch (value.kind) {
    case "Null":
      return "null";
    case "Bytes":
      return `${value.kind} ${bytesToHex(value.value)}`;
    case "Array":
      return `[${value.value.map(describeValue).join(", ")}]`;
    case "String": {
      const text = value.value.length > 80 ? value.value.slice(0, 77) + "..." : value.value;
      return `String ${JSON.stringify(text)}`;
    }
    default:
      return `${value.kind} ${String(value.value)}`;
  }
}

// ---- exact decimals --------------------------------------------------------------------------------------------------

/** value = sign × digits × 10^exp, digits without leading or trailing zeros ("" for zero). */
export interface Decimal {
  sign: -1 | 0 | 1;
  digits: string;
  exp: number;
}

const DECIMAL = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Parses a decimal in plain or scientific notation; null when it is not one. */
export function parseDecimal(text: string): Decimal | null {
  const match = DECIMAL.exec(text.trim());
  if (!match) return null;
  const [, signText, whole = "", fraction = "", expText] = match;
  if (whole === "" && fraction === "") return null;
  let digits = (whole + fraction).replace(/^0+/, "");
  let exp = (expText ? Number(expText) : 0) - fraction.length;
  if (!Number.isSafeInteger(exp)) return null;
  if (digits === "") return { sign: 0, digits: "", exp: 0 };
  const trimmed = digits.replace(/0+$/, "");
  exp += digits.length - trimmed.length;
  digits = trimmed;
  return { sign: signText === "-" ? -1 : 1, digits, exp };
}

export function decimalFromBigInt(n: bigint): Decimal {
  if (n === 0n) return { sign: 0, digits: "", exp: 0 };
  return parseDecimal(n.toString())!;
}

/** Plain notation without trailing zeros, as graph-node prints a BigDecimal: "1.5", "-0.001", "1200". */
export function formatDecimal(d: Decimal): string {
  if (d.sign === 0) return "0";
  const sign = d.sign < 0 ? "-" : "";
  if (d.exp >= 0) return sign + d.digits + "0".repeat(d.exp);
  const point = d.digits.length + d.exp;
  if (point > 0) return sign + d.digits.slice(0, point) + "." + d.digits.slice(point);
  return sign + "0." + "0".repeat(-point) + d.digits;
}

/** The canonical text of a BigDecimal, or null when `text` is not a decimal. */
export function normalizeDecimal(text: string): string | null {
  const d = parseDecimal(text);
  return d ? formatDecimal(d) : null;
}

export function decimalToBigInt(d: Decimal): bigint | null {
  if (d.sign === 0) return 0n;
  if (d.exp < 0) return null;
  return BigInt((d.sign < 0 ? "-" : "") + d.digits + "0".repeat(d.exp));
}

// ---- JSON form (data source contexts, failures) ---------------------------------------------------------------------

export type JsonValue = { kind: StoreValue["kind"]; value?: unknown };

export function valueToJson(value: StoreValue): JsonValue {
  switch (value.kind) {
    case "Null":
      return { kind: "Null" };
    case "Array":
      return { kind: "Array", value: value.value.map(valueToJson) };
    case "Bytes":
      return { kind: "Bytes", value: bytesToHex(value.value) };
    case "BigInt":
    case "Int8":
    case "Timestamp":
      return { kind: value.kind, value: value.value.toString() };
    default:
      return { kind: value.kind, value: value.value };
  }
}

export function valueFromJson(json: JsonValue): StoreValue {
  const v = json.value;
  switch (json.kind) {
    case "Null":
      return { kind: "Null" };
    case "Array":
      return { kind: "Array", value: (v as JsonValue[]).map(valueFromJson) };
    case "Bytes":
      return { kind: "Bytes", value: hexToBytes(v as string)! };
    case "BigInt":
    case "Int8":
    case "Timestamp":
      return { kind: json.kind, value: BigInt(v as string) };
    case "String":
    case "BigDecimal":
      return { kind: json.kind, value: v as string };
    case "Int":
      return { kind: "Int", value: v as number };
    case "Boolean":
      return { kind: "Boolean", value: v as boolean };
  }
}

export function entityToJson(entity: Entity): [string, JsonValue][] {
  return [...entity].map(([k, v]) => [k, valueToJson(v)]);
}

export function entityFromJson(json: [string, JsonValue][]): Entity {
  return new Map(json.map(([k, v]) => [k, valueFromJson(v)]));
}
