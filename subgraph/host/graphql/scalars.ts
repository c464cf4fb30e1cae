// The scalars graph-node adds to GraphQL, with its wire forms: BigInt, BigDecimal, Int8 and Timestamp travel as JSON
// strings (Timestamp in microseconds), Bytes as 0x-prefixed lowercase hex. Inputs take strings (numbers too where
// exact), and reach the resolvers as bigint, canonical decimal text, or Uint8Array.
import { GraphQLScalarType, Kind, type ConstValueNode } from "graphql";
import { bytesToHex, hexToBytes, normalizeDecimal } from "../store/values.ts";

const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;

function integer(name: string, value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === "string" && /^-?\d+$/.test(value.trim())) return BigInt(value.trim());
  throw new TypeError(`${name} cannot represent ${JSON.stringify(value)}: expected an integer as a string`);
}

function literal(node: ConstValueNode): unknown {
  if (node.kind === Kind.STRING || node.kind === Kind.INT || node.kind === Kind.FLOAT) return node.value;
  throw new TypeError(`expected a string or number literal, got ${node.kind}`);
}

function inRange(name: string, n: bigint): bigint {
  if (n < INT8_MIN || n > INT8_MAX) throw new TypeError(`${name} cannot represent ${n}: it does not fit in 64 bits`);
  return n;
}

export const BigIntScalar = new GraphQLScalarType<bigint, string>({
  name: "BigInt",
  coerceOutputValue: (value) => integer("BigInt", value).toString(),
  coerceInputValue: (value) => integer("BigInt", value),
  coerceInputLiteral: (node) => integer("BigInt", literal(node)),
});

export const BigDecimalScalar = new GraphQLScalarType<string, string>({
  name: "BigDecimal",
  coerceOutputValue: (value) => String(value),
  coerceInputValue(value) {
    const canonical = typeof value === "string" || typeof value === "number" ? normalizeDecimal(String(value)) : null;
    if (canonical === null) throw new TypeError(`BigDecimal cannot represent ${JSON.stringify(value)}: expected a decimal as a string`);
    return canonical;
  },
  coerceInputLiteral(node) {
    const canonical = normalizeDecimal(String(literal(node)));
    if (canonical === null) throw new TypeError(`BigDecimal cannot represent ${String(literal(node))}`);
    return canonical;
  },
});

function bytesInput(value: unknown): Uint8Array {
  const bytes = typeof value === "string" ? hexToBytes(value) : null;
  if (!bytes) throw new TypeError(`Bytes cannot represent ${JSON.stringify(value)}: expected 0x-prefixed hex with an even number of digits`);
  return bytes;
}

export const BytesScalar = new GraphQLScalarType<Uint8Array, string>({
  name: "Bytes",
  coerceOutputValue(value) {
    if (value instanceof Uint8Array) return bytesToHex(value);
    if (typeof value === "string") return bytesToHex(bytesInput(value));
    throw new TypeError("Bytes cannot represent a non-bytes value");
  },
  coerceInputValue: bytesInput,
  coerceInputLiteral(node) {
    if (node.kind !== Kind.STRING) throw new TypeError("Bytes takes a hex string");
    return bytesInput(node.value);
  },
});

export const Int8Scalar = new GraphQLScalarType<bigint, string>({
  name: "Int8",
  description: "8 bytes signed integer",
  coerceOutputValue: (value) => integer("Int8", value).toString(),
  coerceInputValue: (value) => inRange("Int8", integer("Int8", value)),
  coerceInputLiteral: (node) => inRange("Int8", integer("Int8", literal(node))),
});

export const TimestampScalar = new GraphQLScalarType<bigint, string>({
  name: "Timestamp",
  description: "A timestamp in microseconds since the Unix epoch",
  coerceOutputValue: (value) => integer("Timestamp", value).toString(),
  coerceInputValue: (value) => inRange("Timestamp", integer("Timestamp", value)),
  coerceInputLiteral: (node) => inRange("Timestamp", integer("Timestamp", literal(node))),
});
