// Named tensors in JSON and their canonical binary encoding, shared by the gateway and its clients: the gateway signs
// receipts over `tensorsSha256` of what it ran and answered, and a client recomputes both hashes from the JSON it sent
// and the JSON it got back. Both sides convert JSON with the functions below, so they hash the same bytes.
//
// JSON form of one tensor: `{ "type": "float32", "dims": [1, 4], "data": [0.1, 0.2, 0.3, 0.4] }`
//   - `type` may be omitted when the reader knows it (the gateway takes it from the model's signature).
//   - `data` is flat (row-major, length = product of dims) or nested arrays; nested data fixes the dims itself, so
//     `dims` may then be omitted (when given, it must agree). Flat data without `dims` is a vector. A bare value
//     (not an array) is a scalar, dims [].
//   - float32/float64: JSON numbers. float32 values are the JSON number parsed as a double, then rounded to float32
//     (Math.fround); a number that overflows float32 is refused. Outputs may contain "NaN", "Infinity" and
//     "-Infinity" as strings (inputs may not).
//   - int8…int32, uint8…uint32: JSON integers in range.
//   - int64/uint64: JSON integers up to 2^53 − 1 in magnitude, or decimal strings ("-9007199254740993") for any value
//     in range. Written out as decimal strings, always, so no reader loses precision.
//   - bool: true/false. string: JSON strings (well-formed Unicode).
//
// Canonical encoding (format 1). All integers little-endian.
//   "MST" 0x01                          magic and format version
//   u32 count                           number of tensors
//   then each tensor, sorted by name compared as UTF-8 bytes:
//     u32 nameLength, name (UTF-8)
//     u8  type code                     ONNX TensorProto.DataType: float32 1, uint8 2, int8 3, uint16 4, int16 5,
//                                       int32 6, int64 7, string 8, bool 9, float64 11, uint32 12, uint64 13
//     u8  rank, then rank × u64 dims
//     elements, row-major:
//       numbers: each in its type's width; floats are IEEE 754 with every zero written as +0 and every NaN as the
//                quiet NaN (0x7fc00000 / 0x7ff8000000000000), because JSON cannot carry -0 or NaN payloads
//       bool:    one byte, 0x00 or 0x01
//       string:  u32 byteLength, UTF-8 bytes
// `tensorsSha256` is the sha256 of those bytes, 0x-prefixed hex.
import { createHash } from "node:crypto";

export const TENSOR_TYPES = [
  "float32",
  "float64",
  "int8",
  "uint8",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "uint64",
  "bool",
  "string",
] as const;

export type TensorType = (typeof TENSOR_TYPES)[number];

export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Elements of a tensor: the typed array of its type (Uint8Array of 0/1 for bool), or strings. */
export type TensorData = NumericArray | readonly string[];

export interface Tensor {
  readonly type: TensorType;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

export type Tensors = Readonly<Record<string, Tensor>>;

export type JsonElement = number | string | boolean;

export interface JsonTensor {
  type: TensorType;
  dims: number[];
  data: JsonElement[];
}

export type TensorErrorCode = "bad_type" | "bad_shape" | "bad_data" | "too_large";

/** JSON that is not a valid tensor; `code` is stable, the message names the tensor and what is wrong. */
export class TensorFormatError extends Error {
  readonly code: TensorErrorCode;

  constructor(code: TensorErrorCode, message: string) {
    super(message);
    this.name = "TensorFormatError";
    this.code = code;
  }
}

/** The ONNX TensorProto.DataType of each type: the type code of the canonical encoding. */
export const TENSOR_TYPE_CODES: Readonly<Record<TensorType, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  float64: 11,
  uint32: 12,
  uint64: 13,
};

/** Deeper nesting than this is refused before any recursion (ONNX models use far fewer dimensions). */
export const MAX_RANK = 32;

const TYPE_SET: ReadonlySet<string> = new Set(TENSOR_TYPES);

export function isTensorType(value: unknown): value is TensorType {
  return typeof value === "string" && TYPE_SET.has(value);
}

/** A tensor's type, dims and flattened (not yet converted) elements, as read from its JSON. */
export interface JsonTensorParts {
  type: TensorType;
  dims: number[];
  elements: readonly unknown[];
}

export interface ReadOptions {
  /** Used when the JSON omits `type`. */
  defaultType?: TensorType;
  /** Refuses a tensor whose dims multiply to more elements, before looking at its data. */
  maxElements?: number;
}

/**
 * First step of reading a JSON tensor: checks its structure, type name and dims, and flattens nested data, without
 * converting elements. `label` names the tensor in errors (`input "x"`).
 */
export function readJsonTensor(label: string, json: unknown, options: ReadOptions = {}): JsonTensorParts {
  if (typeof json !== "object" || json === null) {
    throw new TensorFormatError("bad_data", `${label} must be an object { type, dims, data } or an array, got ${kind(json)}`);
  }
  const raw = Array.isArray(json) ? { data: json } : (json as Record<string, unknown>);
  for (const key of Object.keys(raw)) {
    if (key !== "type" && key !== "dims" && key !== "data") {
      throw new TensorFormatError("bad_data", `${label} has an unknown field ${JSON.stringify(key)}; a tensor has type, dims and data`);
    }
  }
  let type: TensorType;
  if (raw.type !== undefined) {
    if (!isTensorType(raw.type)) {
      throw new TensorFormatError("bad_type", `${label} has type ${show(raw.type)}; supported types: ${TENSOR_TYPES.join(", ")}`);
    }
    type = raw.type;
  } else if (options.defaultType) {
    type = options.defaultType;
  } else {
    throw new TensorFormatError("bad_type", `${label} has no type; add "type" (one of ${TENSOR_TYPES.join(", ")})`);
  }
  if (!("data" in raw)) throw new TensorFormatError("bad_data", `${label} has no data`);
  const given = raw.dims === undefined ? undefined : readDims(label, raw.dims);
  const data = raw.data;

  let dims: number[];
  let elements: readonly unknown[];
  if (!Array.isArray(data)) {
    if (given && given.length !== 0) throw new TensorFormatError("bad_shape", `${label} has dims ${showDims(given)} but its data is a single value`);
    dims = [];
    elements = [data];
  } else if (data.length > 0 && Array.isArray(data[0])) {
    dims = nestedDims(label, data);
    if (given && !sameDims(given, dims)) {
      throw new TensorFormatError("bad_shape", `${label} has dims ${showDims(given)} but its nested data has dims ${showDims(dims)}`);
    }
    elements = data.flat(dims.length - 1);
  } else {
    dims = given ?? [data.length];
    elements = data;
  }
  const count = elementCount(dims, options.maxElements ?? Number.MAX_SAFE_INTEGER);
  if (count === undefined) {
    throw new TensorFormatError(
      "too_large",
      `${label} has dims ${showDims(dims)}, more than the ${options.maxElements ?? Number.MAX_SAFE_INTEGER} elements accepted`,
    );
  }
  if (elements.length !== count) {
    throw new TensorFormatError("bad_shape", `${label} has ${elements.length} elements but dims ${showDims(dims)} need ${count}`);
  }
  return { type, dims, elements };
}

function readDims(label: string, dims: unknown): number[] {
  if (!Array.isArray(dims)) throw new TensorFormatError("bad_shape", `${label} dims must be an array of integers, got ${kind(dims)}`);
  if (dims.length > MAX_RANK) throw new TensorFormatError("bad_shape", `${label} has ${dims.length} dims; at most ${MAX_RANK} are accepted`);
  dims.forEach((d, i) => {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      throw new TensorFormatError("bad_shape", `${label} dims[${i}] is ${show(d)}; dims must be non-negative integers`);
    }
  });
  return dims as number[];
}

/** Dims of rectangular nested arrays, refusing ragged ones and mixed levels. */
function nestedDims(label: string, data: unknown[]): number[] {
  const dims: number[] = [];
  let level: unknown = data;
  while (Array.isArray(level)) {
    if (dims.length === MAX_RANK) throw new TensorFormatError("bad_shape", `${label} data is nested more than ${MAX_RANK} deep`);
    dims.push(level.length);
    level = level[0];
  }
  checkRectangular(label, data, dims, 0, "data");
  return dims;
}

function checkRectangular(label: string, value: unknown[], dims: number[], depth: number, path: string): void {
  if (value.length !== dims[depth]) {
    throw new TensorFormatError("bad_shape", `${label} data is ragged: ${path} has ${value.length} elements, expected ${dims[depth]}`);
  }
  const inner = depth + 1 < dims.length;
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    if (inner !== Array.isArray(item)) {
      const what = inner ? "a value where an array was expected" : "an array where a value was expected";
      throw new TensorFormatError("bad_shape", `${label} data is ragged: ${path}[${i}] is ${what}`);
    }
    if (inner) checkRectangular(label, item as unknown[], dims, depth + 1, `${path}[${i}]`);
  }
}

/** Product of dims, or undefined above `max` (checked as it multiplies, so it never overflows). */
export function elementCount(dims: readonly number[], max = Number.MAX_SAFE_INTEGER): number | undefined {
  let count = 1;
  for (const d of dims) count *= d;
  if (count <= max) return count;
  // A zero dim makes an empty tensor whatever the others are; otherwise the product really is too large.
  return dims.includes(0) ? 0 : undefined;
}

const INT_RANGES = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
} as const;

const BIG_RANGES = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
} as const;

// In Unicode mode only an unpaired surrogate is a code point of category Cs: strings that UTF-8 cannot encode.
const LONE_SURROGATE = /\p{Cs}/u;

const NON_FINITE: Readonly<Record<string, number>> = { NaN: Number.NaN, Infinity: Infinity, "-Infinity": -Infinity };

export interface DecodeOptions {
  /** Accepts "NaN", "Infinity" and "-Infinity" for floats (model outputs); inputs leave it off. */
  nonFinite?: boolean;
}

/** Second step: converts flattened JSON elements into the typed array of `type`, checking every element. */
export function decodeElements(label: string, type: TensorType, elements: readonly unknown[], options: DecodeOptions = {}): TensorData {
  const n = elements.length;
  const bad = (i: number, why: string) => new TensorFormatError("bad_data", `${label} element ${i} is ${show(elements[i])}: ${why}`);
  switch (type) {
    case "float32":
    case "float64": {
      const out = type === "float32" ? new Float32Array(n) : new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = elements[i];
        if (typeof v === "number") {
          out[i] = v;
          if (!Number.isFinite(out[i])) throw bad(i, `outside the ${type} range`);
        } else if (options.nonFinite && typeof v === "string" && v in NON_FINITE) {
          out[i] = NON_FINITE[v]!;
        } else {
          throw bad(i, `${type} elements must be finite JSON numbers`);
        }
      }
      return out;
    }
    case "int8":
    case "uint8":
    case "int16":
    case "uint16":
    case "int32":
    case "uint32": {
      const [min, max] = INT_RANGES[type];
      const out = new INT_ARRAYS[type](n);
      for (let i = 0; i < n; i++) {
        const v = elements[i];
        if (typeof v !== "number" || !Number.isInteger(v)) throw bad(i, `${type} elements must be JSON integers`);
        if (v < min || v > max) throw bad(i, `outside the ${type} range [${min}, ${max}]`);
        out[i] = v;
      }
      return out;
    }
    case "int64":
    case "uint64": {
      const [min, max] = BIG_RANGES[type];
      const out = type === "int64" ? new BigInt64Array(n) : new BigUint64Array(n);
      for (let i = 0; i < n; i++) {
        const v = elements[i];
        let big: bigint;
        if (typeof v === "number") {
          if (!Number.isInteger(v)) throw bad(i, `${type} elements must be integers`);
          if (!Number.isSafeInteger(v)) throw bad(i, `beyond 2^53 - 1 a JSON number has lost precision; send ${type} values as decimal strings`);
          big = BigInt(v);
        } else if (typeof v === "string" && /^-?[0-9]{1,20}$/.test(v)) {
          big = BigInt(v);
        } else {
          throw bad(i, `${type} elements must be JSON integers or decimal strings`);
        }
        if (big < min || big > max) throw bad(i, `outside the ${type} range [${min}, ${max}]`);
        out[i] = big;
      }
      return out;
    }
    case "bool": {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = elements[i];
        if (typeof v !== "boolean") throw bad(i, "bool elements must be true or false");
        out[i] = v ? 1 : 0;
      }
      return out;
    }
    case "string": {
      for (let i = 0; i < n; i++) {
        const v = elements[i];
        if (typeof v !== "string") throw bad(i, "string elements must be JSON strings");
        if (LONE_SURROGATE.test(v)) throw bad(i, "the string contains an unpaired surrogate");
      }
      return elements as string[];
    }
  }
}

const INT_ARRAYS = {
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
} as const;

export interface TensorFromJsonOptions extends ReadOptions, DecodeOptions {}

/** One JSON tensor → typed tensor (both steps). */
export function tensorFromJson(label: string, json: unknown, options: TensorFromJsonOptions = {}): Tensor {
  const parts = readJsonTensor(label, json, options);
  return { type: parts.type, dims: parts.dims, data: decodeElements(label, parts.type, parts.elements, options) };
}

export interface TensorsFromJsonOptions extends DecodeOptions {
  /** Types for tensors whose JSON omits `type` (a model's signature). */
  types?: Readonly<Record<string, TensorType>>;
}

/**
 * A JSON object of named tensors → typed tensors, exactly as the gateway converts them. Clients use it to hash what
 * they sent (`types` from the model's signature when they omitted `type`) and what they got back (`nonFinite: true`).
 */
export function tensorsFromJson(json: unknown, options: TensorsFromJsonOptions = {}): Record<string, Tensor> {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new TensorFormatError("bad_data", `tensors must be a JSON object of named tensors, got ${kind(json)}`);
  }
  const out: Record<string, Tensor> = {};
  for (const [name, value] of Object.entries(json)) {
    const defaultType = options.types?.[name];
    out[name] = tensorFromJson(`tensor ${JSON.stringify(name)}`, value, { ...options, ...(defaultType ? { defaultType } : {}) });
  }
  return out;
}

/** A typed tensor in the JSON form above: int64/uint64 as decimal strings, non-finite floats as strings. */
export function tensorToJson(tensor: Tensor): JsonTensor {
  const { type, data } = tensor;
  let out: JsonElement[];
  if (type === "string") out = [...(data as readonly string[])];
  else if (type === "bool") out = Array.from(data as Uint8Array, (v) => v !== 0);
  else if (type === "int64" || type === "uint64") out = Array.from(data as BigInt64Array, (v) => v.toString());
  else if (type === "float32" || type === "float64") out = Array.from(data as Float64Array, jsonFloat);
  else out = Array.from(data as Int32Array);
  return { type, dims: [...tensor.dims], data: out };
}

function jsonFloat(v: number): number | string {
  if (Number.isFinite(v)) return v === 0 ? 0 : v;
  return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}

export function tensorsToJson(tensors: Tensors): Record<string, JsonTensor> {
  const out: Record<string, JsonTensor> = {};
  for (const [name, tensor] of Object.entries(tensors)) out[name] = tensorToJson(tensor);
  return out;
}

const MAGIC = [0x4d, 0x53, 0x54, 0x01]; // "MST", format 1
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const utf8 = new TextEncoder();

/** The canonical bytes of a set of named tensors (format in the file header). */
export function canonicalTensorBytes(tensors: Tensors): Uint8Array {
  const parts: Uint8Array[] = [];
  writeCanonical(tensors, (part) => parts.push(part));
  return Buffer.concat(parts);
}

/** sha256 of `canonicalTensorBytes`, 0x-prefixed hex. */
export function tensorsSha256(tensors: Tensors): `0x${string}` {
  // Hashed part by part: every paid call hashes its input and output, and the joined copy is not needed.
  const hash = createHash("sha256");
  writeCanonical(tensors, (part) => hash.update(part));
  return `0x${hash.digest("hex")}`;
}

/** Hands the canonical encoding to `write`, in order, a part at a time. */
function writeCanonical(tensors: Tensors, write: (part: Uint8Array) => void): void {
  const entries = Object.entries(tensors).map(([name, tensor]) => {
    if (LONE_SURROGATE.test(name)) throw new TensorFormatError("bad_data", `tensor name ${JSON.stringify(name)} contains an unpaired surrogate`);
    return { nameBytes: utf8.encode(name), tensor };
  });
  if (entries.length > 1) entries.sort((a, b) => Buffer.compare(a.nameBytes, b.nameBytes));
  const start = new Uint8Array(8);
  start.set(MAGIC, 0);
  new DataView(start.buffer).setUint32(4, entries.length, true);
  write(start);
  for (const { nameBytes, tensor } of entries) {
    checkTensor(nameBytes, tensor);
    const header = new DataView(new ArrayBuffer(4 + nameBytes.length + 2 + 8 * tensor.dims.length));
    header.setUint32(0, nameBytes.length, true);
    new Uint8Array(header.buffer).set(nameBytes, 4);
    let at = 4 + nameBytes.length;
    header.setUint8(at++, TENSOR_TYPE_CODES[tensor.type]);
    header.setUint8(at++, tensor.dims.length);
    for (const d of tensor.dims) {
      header.setBigUint64(at, BigInt(d), true);
      at += 8;
    }
    write(new Uint8Array(header.buffer));
    if (tensor.type === "string") {
      for (const s of tensor.data as readonly string[]) {
        const bytes = utf8.encode(s);
        write(u32(bytes.length));
        write(bytes);
      }
    } else {
      write(elementBytes(tensor.type, tensor.data as NumericArray));
    }
  }
}

const ARRAY_OF_TYPE: Readonly<Record<Exclude<TensorType, "string">, abstract new (length: number) => NumericArray>> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

/** Refuses a tensor whose data does not fit its type and dims, rather than hashing something ambiguous. */
function checkTensor(nameBytes: Uint8Array, tensor: Tensor): void {
  // Worded only when something is wrong: every paid call checks its input and output here.
  const label = () => `tensor ${JSON.stringify(Buffer.from(nameBytes).toString("utf8"))}`;
  if (!isTensorType(tensor.type)) throw new TensorFormatError("bad_type", `${label()} has type ${show(tensor.type)}`);
  if (tensor.dims.length > 255) throw new TensorFormatError("bad_shape", `${label()} has ${tensor.dims.length} dims`);
  for (const d of tensor.dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new TensorFormatError("bad_shape", `${label()} has dims ${showDims(tensor.dims)}`);
  }
  const ok = tensor.type === "string" ? Array.isArray(tensor.data) : tensor.data instanceof ARRAY_OF_TYPE[tensor.type];
  if (!ok) throw new TensorFormatError("bad_data", `${label()} is ${tensor.type} but its data is a ${tensor.data.constructor.name}`);
  const count = elementCount(tensor.dims);
  if (tensor.data.length !== count) {
    throw new TensorFormatError("bad_shape", `${label()} has ${tensor.data.length} elements but dims ${showDims(tensor.dims)} need ${count}`);
  }
}

/** Little-endian element bytes; floats with zeros and NaNs made canonical, bools as 0/1. */
function elementBytes(type: Exclude<TensorType, "string">, data: NumericArray): Uint8Array {
  let copy: NumericArray;
  if (type === "float32") {
    copy = Float32Array.from(data as Float32Array);
    // Same-width views share the host's byte order, so these are the float's bits on any host.
    const bits = new Uint32Array(copy.buffer);
    for (let i = 0; i < bits.length; i++) {
      const w = bits[i]!;
      if ((w & 0x7fffffff) === 0) bits[i] = 0;
      else if ((w & 0x7f800000) === 0x7f800000 && (w & 0x007fffff) !== 0) bits[i] = 0x7fc00000;
    }
  } else if (type === "float64") {
    copy = Float64Array.from(data as Float64Array);
    const bits = new BigUint64Array(copy.buffer);
    for (let i = 0; i < copy.length; i++) {
      const v = copy[i]!;
      if (v === 0) bits[i] = 0n;
      else if (v !== v) bits[i] = 0x7ff8000000000000n;
    }
  } else if (type === "bool") {
    copy = Uint8Array.from(data as Uint8Array, (v) => (v === 0 ? 0 : 1));
  } else {
    copy = data;
  }
  const bytes = new Uint8Array(copy.buffer, copy.byteOffset, copy.byteLength);
  if (LITTLE_ENDIAN || copy.BYTES_PER_ELEMENT === 1) return bytes;
  return swapBytes(bytes, copy.BYTES_PER_ELEMENT);
}

function swapBytes(bytes: Uint8Array, width: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += width) for (let j = 0; j < width; j++) out[i + j] = bytes[i + width - 1 - j]!;
  return out;
}

function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function showDims(dims: readonly (number | string)[]): string {
  return `[${dims.map((d) => (d === "" ? "?" : String(d))).join(", ")}]`;
}

/** A value for an error message, cut short so a huge input never ends up in a log line or a response. */
function show(value: unknown): string {
  const text = typeof value === "string" ? JSON.stringify(value) : kind(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function kind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}
