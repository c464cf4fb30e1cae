// The canonical tensor encoding behind receipts (sdk/tensors.ts): its bytes follow the documented format, the hash
// ignores key order and nothing else, and JSON written by the gateway reads back to the very same tensors.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import {
  canonicalTensorBytes,
  TENSOR_TYPES,
  tensorFromJson,
  TensorFormatError,
  tensorsFromJson,
  tensorsSha256,
  tensorsToJson,
  tensorToJson,
  type Tensor,
  type TensorType,
} from "../../sdk/tensors.ts";

const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const u64 = (n: number) => [...u32(n), 0, 0, 0, 0];
const ascii = (s: string) => [...Buffer.from(s, "utf8")];

/** One tensor of every type, with values at the edges of each range. */
function everyType(): Record<string, Tensor> {
  return {
    f32: { type: "float32", dims: [2, 2], data: Float32Array.of(0.1, -2.5, 3.4028234663852886e38, 1e-45) },
    f64: { type: "float64", dims: [3], data: Float64Array.of(0.1, -1e308, 5e-324) },
    i8: { type: "int8", dims: [2], data: Int8Array.of(-128, 127) },
    u8: { type: "uint8", dims: [2], data: Uint8Array.of(0, 255) },
    i16: { type: "int16", dims: [2], data: Int16Array.of(-32768, 32767) },
    u16: { type: "uint16", dims: [2], data: Uint16Array.of(0, 65535) },
    i32: { type: "int32", dims: [2], data: Int32Array.of(-2147483648, 2147483647) },
    u32: { type: "uint32", dims: [2], data: Uint32Array.of(0, 4294967295) },
    i64: { type: "int64", dims: [2], data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n) },
    u64: { type: "uint64", dims: [2], data: BigUint64Array.of(0n, 2n ** 64n - 1n) },
    flag: { type: "bool", dims: [3], data: Uint8Array.of(1, 0, 1) },
    text: { type: "string", dims: [3], data: ["", "héllo", "日本 🎉"] },
  };
}

describe("canonical tensor bytes", () => {
  it("follow the documented layout byte for byte", () => {
    const bytes = canonicalTensorBytes({
      y: { type: "bool", dims: [], data: Uint8Array.of(7) },
      x: { type: "int16", dims: [1, 2], data: Int16Array.of(1, -2) },
      s: { type: "string", dims: [1], data: ["é"] },
    });
    const expected = [
      ...ascii("MST"), 1, ...u32(3),
      // sorted by name: "s" < "x" < "y"
      ...u32(1), ...ascii("s"), 8, 1, ...u64(1), ...u32(2), 0xc3, 0xa9,
      ...u32(1), ...ascii("x"), 5, 2, ...u64(1), ...u64(2), 0x01, 0x00, 0xfe, 0xff,
      // a scalar: rank 0, no dims; any non-zero bool is written as 1
      ...u32(1), ...ascii("y"), 9, 0, 0x01,
    ];
    assert.deepEqual([...bytes], expected);
    assert.equal(tensorsSha256({ y: { type: "bool", dims: [], data: Uint8Array.of(7) }, x: { type: "int16", dims: [1, 2], data: Int16Array.of(1, -2) }, s: { type: "string", dims: [1], data: ["é"] } }),
      `0x${createHash("sha256").update(Uint8Array.from(expected)).digest("hex")}`);
  });

  it("write floats as little-endian IEEE 754, 64-bit integers in 8 bytes", () => {
    const bytes = canonicalTensorBytes({
      a: { type: "float32", dims: [1], data: Float32Array.of(1) },
      b: { type: "float64", dims: [1], data: Float64Array.of(-2) },
      c: { type: "int64", dims: [1], data: BigInt64Array.of(-1n) },
    });
    const tail = (name: string, code: number, element: number[]) => [...u32(1), ...ascii(name), code, 1, ...u64(1), ...element];
    assert.deepEqual([...bytes], [
      ...ascii("MST"), 1, ...u32(3),
      ...tail("a", 1, [0x00, 0x00, 0x80, 0x3f]),
      ...tail("b", 11, [0, 0, 0, 0, 0, 0, 0x00, 0xc0]),
      ...tail("c", 7, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    ]);
  });

  it("sort names by their UTF-8 bytes, not by UTF-16 code units", () => {
    // U+FF5E (ef bd 9e) sorts after U+1F600 (f0 9f 98 80) in UTF-16, before it in UTF-8.
    const t = (v: number): Tensor => ({ type: "uint8", dims: [1], data: Uint8Array.of(v) });
    const bytes = canonicalTensorBytes({ "😀": t(1), "～": t(2) });
    const first = bytes.indexOf(0xef);
    const second = bytes.indexOf(0xf0);
    assert.ok(first > 0 && second > first, "U+FF5E must come first");
  });
});

describe("tensorsSha256", () => {
  it("is the same whatever the order of names", () => {
    const tensors = everyType();
    const reversed = Object.fromEntries(Object.entries(tensors).reverse());
    const shuffled = Object.fromEntries(Object.entries(tensors).sort(([a], [b]) => (a.length - b.length) || (b < a ? -1 : 1)));
    assert.equal(tensorsSha256(reversed), tensorsSha256(tensors));
    assert.equal(tensorsSha256(shuffled), tensorsSha256(tensors));
    const fromJson = (order: string[]) => tensorsSha256(tensorsFromJson(Object.fromEntries(order.map((k) => [k, tensorToJson(tensors[k]!)]))));
    assert.equal(fromJson(Object.keys(tensors)), fromJson(Object.keys(tensors).reverse()));
  });

  it("changes with any name, type, dim or single element", () => {
    const base = everyType();
    const reference = tensorsSha256(base);
    const variants: [string, Record<string, Tensor>][] = [];
    const { f32, ...rest } = base;
    variants.push(["renamed", { ...rest, f33: f32! }]);
    variants.push(["dropped", rest]);
    variants.push(["int32 read as uint32", { ...base, i32: { ...base.i32!, type: "uint32", data: new Uint32Array(base.i32!.data as Int32Array) } }]);
    variants.push(["dims [2, 2] as [4]", { ...base, f32: { ...f32!, dims: [4] } }]);
    variants.push(["dims [2, 2] as [1, 4]", { ...base, f32: { ...f32!, dims: [1, 4] } }]);
    variants.push(["a trailing unit dim", { ...base, u8: { ...base.u8!, dims: [2, 1] } }]);
    variants.push(["string split differently", { ...base, text: { type: "string", dims: [3], data: ["h", "éllo", "日本 🎉"] } }]);
    for (const [name, tensor] of Object.entries(base)) {
      const data = tensor.data;
      if (Array.isArray(data)) {
        variants.push([`${name}[0] changed`, { ...base, [name]: { ...tensor, data: ["x", ...data.slice(1)] } }]);
        continue;
      }
      const copy = (data as Uint8Array).slice();
      // Flip one bit of the last element's lowest byte (its first byte, little-endian), whatever the type.
      const bytes = new Uint8Array(copy.buffer);
      const at = bytes.length - copy.BYTES_PER_ELEMENT;
      bytes[at] = bytes[at]! ^ 1;
      variants.push([`${name} last element changed`, { ...base, [name]: { ...tensor, data: copy } }]);
    }
    const seen = new Set([reference]);
    for (const [why, tensors] of variants) {
      const hash = tensorsSha256(tensors);
      assert.notEqual(hash, reference, why);
      assert.ok(!seen.has(hash), `${why} collides with another variant`);
      seen.add(hash);
    }
  });

  it("treats -0 as 0 and every NaN as one NaN, as JSON would carry them", () => {
    const f32 = (...v: number[]) => ({ x: { type: "float32" as const, dims: [v.length], data: Float32Array.from(v) } });
    assert.equal(tensorsSha256(f32(-0, 1)), tensorsSha256(f32(0, 1)));
    const payload = new Float32Array(1);
    new Uint32Array(payload.buffer)[0] = 0xffc00123; // a negative NaN with a payload
    assert.equal(tensorsSha256({ x: { type: "float32", dims: [1], data: payload } }), tensorsSha256(f32(Number.NaN)));
    const f64 = new Float64Array(1);
    new BigUint64Array(f64.buffer)[0] = 0xfff0000000000001n;
    assert.equal(tensorsSha256({ x: { type: "float64", dims: [1], data: f64 } }), tensorsSha256({ x: { type: "float64", dims: [1], data: Float64Array.of(Number.NaN) } }));
    assert.notEqual(tensorsSha256(f32(Infinity)), tensorsSha256(f32(Number.NaN)));
  });

  it("refuses tensors whose data does not match their type or dims", () => {
    const bad: [string, Tensor, RegExp][] = [
      ["wrong array", { type: "float32", dims: [1], data: Float64Array.of(1) }, /is float32 but its data is a Float64Array/],
      ["short data", { type: "int8", dims: [3], data: Int8Array.of(1, 2) }, /has 2 elements but dims \[3\] need 3/],
      ["negative dim", { type: "int8", dims: [-1], data: Int8Array.of() }, /has dims \[-1\]/],
      ["unknown type", { type: "float16" as TensorType, dims: [1], data: Uint16Array.of(1) }, /has type "float16"/],
    ];
    for (const [why, tensor, message] of bad) assert.throws(() => tensorsSha256({ t: tensor }), message, why);
    assert.throws(() => tensorsSha256({ "\ud800": { type: "int8", dims: [0], data: Int8Array.of() } }), /unpaired surrogate/);
  });
});

describe("JSON tensors", () => {
  it("round-trip every type exactly: what the gateway writes, a client reads back to the same hash", () => {
    const tensors = everyType();
    const wire = JSON.parse(JSON.stringify(tensorsToJson(tensors)));
    assert.deepEqual(wire.i64.data, ["-9223372036854775808", "9223372036854775807"], "64-bit integers travel as strings");
    assert.deepEqual(wire.flag.data, [true, false, true]);
    const back = tensorsFromJson(wire);
    assert.equal(tensorsSha256(back), tensorsSha256(tensors));
    for (const [name, tensor] of Object.entries(tensors)) {
      assert.deepEqual(back[name]!.dims, tensor.dims, name);
      assert.deepEqual([...back[name]!.data], [...tensor.data], name);
    }
  });

  it("write non-finite outputs as strings that only output reading accepts", () => {
    const out = { y: { type: "float32" as const, dims: [4], data: Float32Array.of(Number.NaN, Infinity, -Infinity, -0) } };
    const wire = JSON.parse(JSON.stringify(tensorsToJson(out)));
    assert.deepEqual(wire.y.data, ["NaN", "Infinity", "-Infinity", 0]);
    assert.equal(tensorsSha256(tensorsFromJson(wire, { nonFinite: true })), tensorsSha256(out));
    assert.throws(() => tensorsFromJson(wire), (e: unknown) => e instanceof TensorFormatError && e.code === "bad_data" && /element 0 is "NaN"/.test(e.message));
  });

  it("round float32 the one documented way: parse as a double, then Math.fround", () => {
    const t = tensorFromJson("t", { type: "float32", dims: [3], data: [0.1, 1 / 3, 16777217] });
    assert.deepEqual([...t.data], [Math.fround(0.1), Math.fround(1 / 3), 16777216]);
    assert.throws(() => tensorFromJson("t", { type: "float32", data: [1e39] }), /element 0 is 1e\+39: outside the float32 range/);
    assert.deepEqual([...tensorFromJson("t", { type: "float64", data: [1e39] }).data], [1e39]);
  });

  it("read nested data with its dims inferred, and a bare value as a scalar", () => {
    const nested = tensorFromJson("t", { type: "int32", data: [[[1, 2], [3, 4], [5, 6]]] });
    assert.deepEqual(nested.dims, [1, 3, 2]);
    assert.deepEqual([...nested.data], [1, 2, 3, 4, 5, 6]);
    const flat = tensorFromJson("t", { type: "int32", dims: [1, 3, 2], data: [1, 2, 3, 4, 5, 6] });
    assert.equal(tensorsSha256({ t: nested }), tensorsSha256({ t: flat }));
    assert.deepEqual(tensorFromJson("t", { type: "int32", data: 7 }).dims, []);
    assert.deepEqual(tensorFromJson("t", { type: "int32", data: [7] }).dims, [1]);
    assert.deepEqual(tensorFromJson("t", { type: "int32", dims: [0, 5], data: [] }).dims, [0, 5]);
    assert.deepEqual(tensorFromJson("t", { type: "int32", data: [[], []] }).dims, [2, 0]);
  });

  it("refuse every malformed tensor with a code and a message naming it", () => {
    const cases: [unknown, string, RegExp][] = [
      [null, "bad_data", /^t must be an object \{ type, dims, data \} or an array, got null$/],
      [{ type: "int8" }, "bad_data", /^t has no data$/],
      [{ type: "int8", data: [1], shape: [1] }, "bad_data", /unknown field "shape"/],
      [{ data: [1] }, "bad_type", /^t has no type; add "type"/],
      [{ type: "complex64", data: [1] }, "bad_type", /^t has type "complex64"; supported types: float32, float64/],
      [{ type: "int8", dims: "2", data: [1, 2] }, "bad_shape", /dims must be an array of integers/],
      [{ type: "int8", dims: [2.5], data: [1, 2] }, "bad_shape", /dims\[0\] is 2.5; dims must be non-negative integers/],
      [{ type: "int8", dims: [3], data: [1, 2] }, "bad_shape", /^t has 2 elements but dims \[3\] need 3$/],
      [{ type: "int8", dims: [2, 2], data: [[1, 2], [3, 4, 5]] }, "bad_shape", /ragged: data\[1\] has 3 elements, expected 2/],
      [{ type: "int8", data: [[1, 2], 3] }, "bad_shape", /ragged: data\[1\] is a value where an array was expected/],
      [{ type: "int8", dims: [4], data: [[1, 2], [3, 4]] }, "bad_shape", /has dims \[4\] but its nested data has dims \[2, 2\]/],
      [{ type: "int8", dims: [1], data: 5 }, "bad_shape", /has dims \[1\] but its data is a single value/],
      [{ type: "int8", dims: [100000, 100000, 100000], data: [] }, "too_large", /more than the 1000 elements accepted/],
      [{ type: "int8", data: [1, null] }, "bad_data", /^t element 1 is null: int8 elements must be JSON integers$/],
      [{ type: "int8", data: [128] }, "bad_data", /element 0 is 128: outside the int8 range \[-128, 127\]/],
      [{ type: "uint32", data: [-1] }, "bad_data", /outside the uint32 range/],
      [{ type: "int16", data: [1.5] }, "bad_data", /int16 elements must be JSON integers/],
      [{ type: "float32", data: ["NaN"] }, "bad_data", /element 0 is "NaN": float32 elements must be finite JSON numbers/],
      [{ type: "float64", data: [true] }, "bad_data", /element 0 is true: float64 elements must be finite/],
      [{ type: "int64", data: [2 ** 53] }, "bad_data", /beyond 2\^53 - 1 a JSON number has lost precision; send int64 values as decimal strings/],
      [{ type: "int64", data: ["1e3"] }, "bad_data", /int64 elements must be JSON integers or decimal strings/],
      [{ type: "int64", data: ["9223372036854775808"] }, "bad_data", /outside the int64 range/],
      [{ type: "uint64", data: ["-1"] }, "bad_data", /outside the uint64 range/],
      [{ type: "bool", data: [1] }, "bad_data", /element 0 is 1: bool elements must be true or false/],
      [{ type: "string", data: [1] }, "bad_data", /string elements must be JSON strings/],
      [{ type: "string", data: ["\ud800x"] }, "bad_data", /unpaired surrogate/],
    ];
    for (const [json, code, message] of cases) {
      const before = JSON.stringify(json);
      assert.throws(
        () => tensorFromJson("t", json, { maxElements: 1000 }),
        (e: unknown) => e instanceof TensorFormatError && e.code === code && message.test(e.message),
        `${before} should fail with ${code} ${message}`,
      );
      assert.equal(JSON.stringify(json), before, "the input is left as it was");
    }
  });

  it("accept 64-bit integers as safe numbers or decimal strings, and nothing in between", () => {
    const t = tensorFromJson("t", { type: "int64", data: [-(2 ** 53) + 1, "-9223372036854775808", "18", 0] });
    assert.deepEqual([...t.data], [-(2n ** 53n) + 1n, -(2n ** 63n), 18n, 0n]);
    assert.deepEqual([...tensorFromJson("t", { type: "uint64", data: ["18446744073709551615"] }).data], [2n ** 64n - 1n]);
  });

  it("cover every supported type in the type list", () => {
    assert.deepEqual(new Set(TENSOR_TYPES), new Set(Object.values(everyType()).map((t) => t.type)));
  });
});
