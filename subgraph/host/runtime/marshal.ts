// Reading and writing AssemblyScript objects in a module's memory: strings, buffers, typed arrays (Bytes, Address,
// BigInt), BigDecimal, Array<T>, the store and ethereum `Value` enums, entities (TypedMap<string, Value>) and JSON.
// Layouts follow AssemblyScript 0.19 as graph-node writes them; pointers are 4 bytes, enum payloads u64 at offset 8.
import type { Entity, StoreValue } from "../store/types.ts";
import { AscHeap } from "./heap.ts";
import { bigintFromSignedLE, bigintToSignedLE, checkBigIntSize } from "./bigint.ts";
import {
  bigDecimal,
  checkExponent,
  fromString as parseBigDecimal,
  toString as formatBigDecimal,
  type BigDecimalValue,
} from "./bigdecimal.ts";
import { DeterministicError } from "./errors.ts";
import type { EthereumValue } from "./ethereum-value.ts";
import { EthereumValueKind, JsonValueKind, StoreValueKind, TypeId, type TypeIdIndex } from "./type-ids.ts";

export type JsonValue =
  | { kind: "Null" }
  | { kind: "Bool"; value: boolean }
  /** The number as written in the document, so no precision is lost. */
  | { kind: "Number"; value: string }
  | { kind: "String"; value: string }
  | { kind: "Array"; value: JsonValue[] }
  | { kind: "Object"; value: [string, JsonValue][] };

/** ES2024's String.prototype.isWellFormed (native in Node 24; the project's TypeScript lib stops at ES2023). */
interface WellFormed {
  isWellFormed(): boolean;
}

const STORE_KIND_NAMES = ["String", "Int", "BigDecimal", "Boolean", "Array", "Null", "Bytes", "BigInt", "Int8", "Timestamp"] as const;
const ETHEREUM_KINDS = ["Address", "FixedBytes", "Bytes", "Int", "Uint", "Bool", "String", "FixedArray", "Array", "Tuple"] as const;

/** Reads and writes objects in one instance's memory. */
export class Marshal {
  readonly heap: AscHeap;
  constructor(heap: AscHeap) {
    this.heap = heap;
  }

  // --- Reading --------------------------------------------------------------------------------------------------

  /** UTF-16LE, strict (a lone surrogate is an error, as in graph-node), with U+0000 removed. */
  string(ptr: number): string {
    const heap = this.heap;
    const size = heap.sizeOf(ptr);
    heap.check(ptr, size);
    const text = Buffer.from(heap.u8.buffer, ptr, size & ~1).toString("utf16le");
    if (!(text as unknown as WellFormed).isWellFormed()) throw new DeterministicError("a string from the mapping is not valid UTF-16 (lone surrogate)");
    return text.includes("\u0000") ? text.replaceAll("\u0000", "") : text;
  }

  nullableString(ptr: number): string | null {
    return ptr === 0 ? null : this.string(ptr);
  }

  arrayBuffer(ptr: number): Uint8Array {
    const size = this.heap.sizeOf(ptr);
    return this.heap.bytesAt(ptr, size);
  }

  /** A Uint8Array (Bytes, Address, ByteArray, BigInt): buffer@0, dataStart@4, byteLength@8. */
  bytes(ptr: number): Uint8Array {
    const heap = this.heap;
    heap.check(ptr, 12);
    const dataStart = heap.u32At(ptr + 4);
    const length = heap.u32At(ptr + 8);
    return heap.bytesAt(dataStart, length);
  }

  bigInt(ptr: number): bigint {
    return checkBigIntSize(bigintFromSignedLE(this.bytes(ptr)));
  }

  /** Normalised on the way in, and its exponent checked, as graph-node does. */
  bigDecimal(ptr: number): BigDecimalValue {
    this.heap.check(ptr, 8);
    const digits = this.bigInt(this.heap.u32At(ptr));
    const exp = this.bigInt(this.heap.u32At(ptr + 4));
    if (exp > 2n ** 63n - 1n || exp < -(2n ** 63n)) throw new DeterministicError(`big decimal exponent \`${exp}\` does not fit in 64 bits`);
    return checkExponent(bigDecimal(digits, exp));
  }

  /** The element pointers (or 4-byte values) of an Array<T>: buffer@0, dataStart@4, byteLength@8, length@12. */
  arrayWords(ptr: number): number[] {
    const heap = this.heap;
    heap.check(ptr, 16);
    const dataStart = heap.u32At(ptr + 4);
    const length = heap.u32At(ptr + 12);
    heap.check(dataStart, length * 4);
    const out = new Array<number>(length);
    for (let i = 0; i < length; i++) out[i] = heap.u32At(dataStart + i * 4);
    return out;
  }

  stringArray(ptr: number): string[] {
    return this.arrayWords(ptr).map((p) => this.string(p));
  }

  storeValue(ptr: number): StoreValue {
    const heap = this.heap;
    heap.check(ptr, 16);
    const kind = heap.u32At(ptr);
    const payload = ptr + 8;
    switch (kind) {
      case StoreValueKind.String:
        return { kind: "String", value: this.string(heap.u32At(payload)) };
      case StoreValueKind.Int:
        return { kind: "Int", value: heap.i32At(payload) };
      case StoreValueKind.BigDecimal:
        return { kind: "BigDecimal", value: formatBigDecimal(this.bigDecimal(heap.u32At(payload))) };
      case StoreValueKind.Bool:
        return { kind: "Boolean", value: heap.u32At(payload) !== 0 || heap.u32At(payload + 4) !== 0 };
      case StoreValueKind.Array:
        return { kind: "Array", value: this.arrayWords(heap.u32At(payload)).map((p) => this.storeValue(p)) };
      case StoreValueKind.Null:
        return { kind: "Null" };
      case StoreValueKind.Bytes:
        return { kind: "Bytes", value: this.bytes(heap.u32At(payload)) };
      case StoreValueKind.BigInt:
        return { kind: "BigInt", value: this.bigInt(heap.u32At(payload)) };
      case StoreValueKind.Int8:
        return { kind: "Int8", value: heap.i64At(payload) };
      case StoreValueKind.Timestamp:
        return { kind: "Timestamp", value: heap.i64At(payload) };
      default:
        throw new DeterministicError(`unknown store value kind ${kind}`);
    }
  }

  /** An Entity (TypedMap<string, Value>): entries@0 → Array<TypedMapEntry{key@0, value@4}>. */
  entity(ptr: number): Entity {
    this.heap.check(ptr, 4);
    const entity: Entity = new Map();
    for (const entry of this.arrayWords(this.heap.u32At(ptr))) {
      this.heap.check(entry, 8);
      const key = this.string(this.heap.u32At(entry));
      entity.set(key, this.storeValue(this.heap.u32At(entry + 4)));
    }
    return entity;
  }

  ethereumValue(ptr: number): EthereumValue {
    const heap = this.heap;
    heap.check(ptr, 16);
    const kind = heap.u32At(ptr);
    const payload = heap.u32At(ptr + 8);
    switch (kind) {
      case EthereumValueKind.Address:
      case EthereumValueKind.FixedBytes:
      case EthereumValueKind.Bytes:
        return { kind: ETHEREUM_KINDS[kind] as "Address" | "FixedBytes" | "Bytes", value: this.bytes(payload) };
      case EthereumValueKind.Int:
      case EthereumValueKind.Uint:
        return { kind: ETHEREUM_KINDS[kind] as "Int" | "Uint", value: this.bigInt(payload) };
      case EthereumValueKind.Bool:
        return { kind: "Bool", value: payload !== 0 };
      case EthereumValueKind.String:
        return { kind: "String", value: this.string(payload) };
      case EthereumValueKind.FixedArray:
      case EthereumValueKind.Array:
      case EthereumValueKind.Tuple:
        return {
          kind: ETHEREUM_KINDS[kind] as "FixedArray" | "Array" | "Tuple",
          value: this.arrayWords(payload).map((p) => this.ethereumValue(p)),
        };
      default:
        throw new DeterministicError(`unknown ethereum value kind ${kind}`);
    }
  }

  // --- Writing --------------------------------------------------------------------------------------------------

  writeString(text: string): number {
    const heap = this.heap;
    const length = text.length;
    const ptr = heap.alloc(TypeId.String, length * 2);
    const u16 = heap.u16;
    const base = ptr >>> 1;
    for (let i = 0; i < length; i++) u16[base + i] = text.charCodeAt(i);
    return ptr;
  }

  writeArrayBuffer(bytes: Uint8Array): number {
    const ptr = this.heap.alloc(TypeId.ArrayBuffer, bytes.length);
    this.heap.u8.set(bytes, ptr);
    return ptr;
  }

  /** Bytes, Address and BigInt are all a Uint8Array over a fresh ArrayBuffer. */
  writeBytes(bytes: Uint8Array): number {
    const buffer = this.writeArrayBuffer(bytes);
    const ptr = this.heap.alloc(TypeId.Uint8Array, 12);
    const w = ptr >>> 2;
    const u32 = this.heap.u32;
    u32[w] = buffer;
    u32[w + 1] = buffer;
    u32[w + 2] = bytes.length;
    return ptr;
  }

  writeBigInt(value: bigint): number {
    return this.writeBytes(bigintToSignedLE(value));
  }

  writeBigDecimal(value: BigDecimalValue): number {
    const digits = this.writeBigInt(checkBigIntSize(value.digits));
    const exp = this.writeBigInt(value.exp);
    const ptr = this.heap.alloc(TypeId.BigDecimal, 8);
    this.heap.setU32(ptr, digits);
    this.heap.setU32(ptr + 4, exp);
    return ptr;
  }

  /** An Array<T> of 4-byte elements (pointers). */
  writeArray(type: TypeIdIndex, words: readonly number[]): number {
    const heap = this.heap;
    const byteLength = words.length * 4;
    const buffer = heap.alloc(TypeId.ArrayBuffer, byteLength);
    const u32 = heap.u32;
    for (let i = 0; i < words.length; i++) u32[(buffer >>> 2) + i] = words[i]!;
    const ptr = heap.alloc(type, 16);
    const w = ptr >>> 2;
    const after = heap.u32;
    after[w] = buffer;
    after[w + 1] = buffer;
    after[w + 2] = byteLength;
    after[w + 3] = words.length;
    return ptr;
  }

  /** A 16-byte enum (store Value, ethereum Value, JSONValue): kind@0, payload u64@8. */
  private writeEnum(type: TypeIdIndex, kind: number, low: number, high = 0): number {
    const ptr = this.heap.alloc(type, 16);
    const w = ptr >>> 2;
    const u32 = this.heap.u32;
    u32[w] = kind;
    u32[w + 2] = low >>> 0;
    u32[w + 3] = high >>> 0;
    return ptr;
  }

  private writeEnumI64(type: TypeIdIndex, kind: number, value: bigint): number {
    const ptr = this.heap.alloc(type, 16);
    this.heap.setU32(ptr, kind);
    this.heap.setI64(ptr + 8, value);
    return ptr;
  }

  writeStoreValue(value: StoreValue): number {
    const T = TypeId.StoreValue;
    switch (value.kind) {
      case "String":
        return this.writeEnum(T, StoreValueKind.String, this.writeString(value.value));
      case "Int":
        return this.writeEnum(T, StoreValueKind.Int, value.value, value.value < 0 ? 0xffffffff : 0);
      case "BigDecimal": {
        const parsed = parseStoredBigDecimal(value.value);
        return this.writeEnum(T, StoreValueKind.BigDecimal, this.writeBigDecimal(parsed));
      }
      case "Boolean":
        return this.writeEnum(T, StoreValueKind.Bool, value.value ? 1 : 0);
      case "Array":
        return this.writeEnum(
          T,
          StoreValueKind.Array,
          this.writeArray(
            TypeId.ArrayStoreValue,
            value.value.map((v) => this.writeStoreValue(v)),
          ),
        );
      case "Null":
        return this.writeEnum(T, StoreValueKind.Null, 0);
      case "Bytes":
        return this.writeEnum(T, StoreValueKind.Bytes, this.writeBytes(value.value));
      case "BigInt":
        return this.writeEnum(T, StoreValueKind.BigInt, this.writeBigInt(value.value));
      case "Int8":
        return this.writeEnumI64(T, StoreValueKind.Int8, value.value);
      case "Timestamp":
        return this.writeEnumI64(T, StoreValueKind.Timestamp, value.value);
    }
  }

  writeEntity(entity: Entity): number {
    const entries: number[] = [];
    for (const [key, value] of entity) {
      const keyPtr = this.writeString(key);
      const valuePtr = this.writeStoreValue(value);
      const entry = this.heap.alloc(TypeId.TypedMapEntryStringStoreValue, 8);
      this.heap.setU32(entry, keyPtr);
      this.heap.setU32(entry + 4, valuePtr);
      entries.push(entry);
    }
    const array = this.writeArray(TypeId.ArrayTypedMapEntryStringStoreValue, entries);
    const ptr = this.heap.alloc(TypeId.TypedMapStringStoreValue, 4);
    this.heap.setU32(ptr, array);
    return ptr;
  }

  writeEthereumValue(value: EthereumValue): number {
    const T = TypeId.EthereumValue;
    switch (value.kind) {
      case "Address":
        return this.writeEnum(T, EthereumValueKind.Address, this.writeBytes(value.value));
      case "FixedBytes":
        return this.writeEnum(T, EthereumValueKind.FixedBytes, this.writeBytes(value.value));
      case "Bytes":
        return this.writeEnum(T, EthereumValueKind.Bytes, this.writeBytes(value.value));
      case "Int":
        return this.writeEnum(T, EthereumValueKind.Int, this.writeBigInt(value.value));
      case "Uint":
        return this.writeEnum(T, EthereumValueKind.Uint, this.writeBigInt(value.value));
      case "Bool":
        return this.writeEnum(T, EthereumValueKind.Bool, value.value ? 1 : 0);
      case "String":
        return this.writeEnum(T, EthereumValueKind.String, this.writeString(value.value));
      case "FixedArray":
      case "Array":
      case "Tuple": {
        const kind = EthereumValueKind[value.kind];
        const items = value.value.map((v) => this.writeEthereumValue(v));
        return this.writeEnum(T, kind, this.writeArray(TypeId.ArrayEthereumValue, items));
      }
    }
  }

  writeJsonValue(value: JsonValue): number {
    const T = TypeId.JsonValue;
    switch (value.kind) {
      case "Null":
        return this.writeEnum(T, JsonValueKind.Null, 0);
      case "Bool":
        return this.writeEnum(T, JsonValueKind.Bool, value.value ? 1 : 0);
      case "Number":
        return this.writeEnum(T, JsonValueKind.Number, this.writeString(value.value));
      case "String":
        return this.writeEnum(T, JsonValueKind.String, this.writeString(value.value));
      case "Array":
        return this.writeEnum(
          T,
          JsonValueKind.Array,
          this.writeArray(
            TypeId.ArrayJsonValue,
            value.value.map((v) => this.writeJsonValue(v)),
          ),
        );
      case "Object": {
        const entries = value.value.map(([key, v]) => {
          const keyPtr = this.writeString(key);
          const valuePtr = this.writeJsonValue(v);
          const entry = this.heap.alloc(TypeId.TypedMapEntryStringJsonValue, 8);
          this.heap.setU32(entry, keyPtr);
          this.heap.setU32(entry + 4, valuePtr);
          return entry;
        });
        const map = this.heap.alloc(TypeId.TypedMapStringJsonValue, 4);
        this.heap.setU32(map, this.writeArray(TypeId.ArrayTypedMapEntryStringJsonValue, entries));
        return this.writeEnum(T, JsonValueKind.Object, map);
      }
    }
  }

  /** Wrapped<T> (graph-ts `Wrapped`): one field, inner@0. */
  writeWrapped(type: TypeIdIndex, inner: number, size: 1 | 4): number {
    const ptr = this.heap.alloc(type, size);
    if (size === 4) this.heap.setU32(ptr, inner);
    else this.heap.u8[ptr] = inner;
    return ptr;
  }

  /** Result<V, E>: _value@0 (Wrapped<V> | null), _error@4 (Wrapped<E> | null). */
  writeResult(type: TypeIdIndex, value: number, error: number): number {
    const ptr = this.heap.alloc(type, 8);
    this.heap.setU32(ptr, value);
    this.heap.setU32(ptr + 4, error);
    return ptr;
  }
}

export function storeKindName(kind: number): string {
  return STORE_KIND_NAMES[kind] ?? `kind ${kind}`;
}

function parseStoredBigDecimal(text: string): BigDecimalValue {
  const parsed = parseBigDecimal(text);
  if (!parsed) throw new Error(`the store returned a BigDecimal that is not a decimal: ${JSON.stringify(text)}`);
  return parsed;
}
