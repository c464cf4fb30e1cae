// json.*: documents parsed with numbers kept exactly as written (graph-node's serde_json has arbitrary_precision)
// and object keys in byte order (serde_json's map is a BTreeMap without preserve_order).
import type { JsonValue } from "../marshal.ts";
import { parseDecimalBigInt } from "../bigint.ts";
import { DeterministicError } from "../errors.ts";
import { TypeId } from "../type-ids.ts";
import type { HostFunctions } from "./types.ts";

const MAX_JSON_SIZE = 10_000_000;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

interface SourceContext {
  source?: string;
}

function byteOrder(a: [string, JsonValue], b: [string, JsonValue]): number {
  return Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]));
}

export function parseJson(bytes: Uint8Array): JsonValue {
  if (bytes.length > MAX_JSON_SIZE) throw new DeterministicError(`JSON size exceeds max size of ${MAX_JSON_SIZE}`);
  const text = strictUtf8.decode(bytes);
  // The reviver sees children before parents, so each level turns into a JsonValue as it is built.
  return JSON.parse(text, function (this: unknown, _key: string, value: unknown, context?: SourceContext): JsonValue {
    if (value === null) return { kind: "Null" };
    if (typeof value === "boolean") return { kind: "Bool", value };
    if (typeof value === "number") return { kind: "Number", value: context?.source ?? String(value) };
    if (typeof value === "string") return { kind: "String", value };
    if (Array.isArray(value)) return { kind: "Array", value: value as JsonValue[] };
    const entries = Object.entries(value as Record<string, JsonValue>).sort(byteOrder);
    return { kind: "Object", value: entries };
  } as (key: string, value: unknown) => unknown) as JsonValue;
}

function parseInteger(text: string, min: bigint, max: bigint, what: string): bigint {
  if (!/^[+-]?[0-9]+$/.test(text)) throw new DeterministicError(`JSON \`${text}\` cannot be parsed as ${what}`);
  const value = BigInt(text);
  if (value < min || value > max) throw new DeterministicError(`JSON \`${text}\` cannot be parsed as ${what}`);
  return value;
}

const RUST_FLOAT = /^[+-]?(inf|infinity|nan|[0-9]+\.?[0-9]*([eE][+-]?[0-9]+)?|\.[0-9]+([eE][+-]?[0-9]+)?)$/i;

export const jsonFunctions: HostFunctions = {
  "json.fromBytes"(ctx, ptr) {
    let value: JsonValue;
    try {
      value = parseJson(ctx.marshal.bytes(ptr));
    } catch (error) {
      if (error instanceof DeterministicError) throw error;
      throw new DeterministicError(`json.fromBytes: ${(error as Error).message}`);
    }
    return ctx.marshal.writeJsonValue(value);
  },
  "json.try_fromBytes"(ctx, ptr) {
    const m = ctx.marshal;
    let value: JsonValue;
    try {
      value = parseJson(m.bytes(ptr));
    } catch {
      return m.writeResult(TypeId.ResultJsonValueBool, 0, m.writeWrapped(TypeId.WrappedBool, 1, 1));
    }
    return m.writeResult(TypeId.ResultJsonValueBool, m.writeWrapped(TypeId.WrappedJsonValue, m.writeJsonValue(value), 4), 0);
  },
  "json.toI64"(ctx, ptr) {
    return parseInteger(ctx.marshal.string(ptr), -(2n ** 63n), 2n ** 63n - 1n, "i64");
  },
  "json.toU64"(ctx, ptr) {
    // A u64 crosses the boundary as the i64 with the same bits.
    return BigInt.asIntN(64, parseInteger(ctx.marshal.string(ptr), 0n, 2n ** 64n - 1n, "u64"));
  },
  "json.toF64"(ctx, ptr) {
    const text = ctx.marshal.string(ptr);
    if (!RUST_FLOAT.test(text)) throw new DeterministicError(`JSON \`${text}\` cannot be parsed as f64`);
    const lower = text.toLowerCase().replace(/^\+/, "");
    if (lower === "nan" || lower === "-nan") return NaN;
    if (lower === "inf" || lower === "infinity") return Infinity;
    if (lower === "-inf" || lower === "-infinity") return -Infinity;
    return Number(text);
  },
  "json.toBigInt"(ctx, ptr) {
    const text = ctx.marshal.string(ptr);
    const value = parseDecimalBigInt(text);
    if (value === null) throw new DeterministicError(`JSON \`${text}\` is not a decimal string`);
    return ctx.marshal.writeBigInt(value);
  },
};
