// JSON inputs checked against real models' signatures (read from onnxruntime sessions) before inference, every
// refusal with its stable code and exact message, and outputs written back as JSON that a client hashes to the same
// receipt values as the gateway.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { InputError } from "../../gateway/models/errors.ts";
import { ModelSession, DEFAULT_SESSION_OPTIONS } from "../../gateway/models/session.ts";
import { outputsToJson, parseInferRequest, parseInputs } from "../../gateway/models/tensors.ts";
import { TENSOR_TYPES, tensorsFromJson, tensorsSha256, type TensorType } from "../../sdk/tensors.ts";
import { buildTinyClassifier } from "../helpers/onnx.ts";
import { buildIdentityModel, type ValueSpec } from "./models-fixture.ts";

let classifier: ModelSession;
let identity: ModelSession;
let paired: ModelSession;

const ALL_TYPES: ValueSpec[] = TENSOR_TYPES.map((type) => ({ name: type, type, shape: ["batch", 2] }));
// Two inputs sharing the symbolic "batch", one fixed shape, one unnamed dynamic dim.
const PAIRED: ValueSpec[] = [
  { name: "a", type: "float32", shape: ["batch", 3] },
  { name: "b", type: "int64", shape: ["batch"] },
  { name: "fixed", type: "float32", shape: [2, 2] },
  { name: "free", type: "int32", shape: [1, ""] },
];

before(async () => {
  classifier = await ModelSession.create(buildTinyClassifier({ features: 4, classes: 3 }), DEFAULT_SESSION_OPTIONS, "classifier");
  identity = await ModelSession.create(buildIdentityModel(ALL_TYPES), DEFAULT_SESSION_OPTIONS, "identity");
  paired = await ModelSession.create(buildIdentityModel(PAIRED), DEFAULT_SESSION_OPTIONS, "paired");
});

after(() => {
  for (const s of [classifier, identity, paired]) s.retire();
});

const x = (data: unknown, extra: Record<string, unknown> = {}) => ({ input: { type: "float32", dims: [1, 4], data, ...extra } });
const pairedInputs = (over: Record<string, unknown> = {}) => ({
  a: { dims: [2, 3], data: [1, 2, 3, 4, 5, 6] },
  b: { data: ["1", 2] },
  fixed: [[1, 2], [3, 4]],
  free: [[1, 2, 3]],
  ...over,
});

function refuses(run: () => unknown, code: string, message: string | RegExp) {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof InputError, `expected an InputError, got ${e}`);
    assert.equal(e.code, code);
    assert.equal(e.status, code === "too_large" ? 413 : 400);
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

describe("signatures read from sessions", () => {
  it("give names, types and symbolic dims as the model declares them", () => {
    assert.deepEqual(classifier.signature, {
      inputs: [{ name: "input", type: "float32", shape: ["batch", 4] }],
      outputs: [{ name: "probabilities", type: "float32", shape: ["batch", 3] }],
    });
    assert.deepEqual(paired.signature.inputs, PAIRED.map((s) => ({ ...s })));
    assert.deepEqual(identity.signature.outputs.map((o) => o.type), [...TENSOR_TYPES]);
  });
});

describe("parseInferRequest", () => {
  it("takes inputs and an optional positive version", () => {
    assert.deepEqual(parseInferRequest({ inputs: { a: [1] } }), { inputs: { a: [1] } });
    assert.deepEqual(parseInferRequest({ inputs: {}, version: 3 }), { inputs: {}, version: 3 });
  });

  it("refuses a malformed envelope", () => {
    refuses(() => parseInferRequest([1]), "bad_request", 'the request body must be a JSON object { "inputs": { ... } }, got an array');
    refuses(() => parseInferRequest(null), "bad_request", /got null/);
    refuses(() => parseInferRequest({}), "bad_request", 'the request body has no "inputs"');
    refuses(() => parseInferRequest({ input: {} }), "bad_request", 'unknown field "input" in the request body; expected "inputs" and optionally "version"');
    for (const version of [0, -1, 1.5, "2", null, 2 ** 32]) {
      refuses(() => parseInferRequest({ inputs: {}, version }), "bad_request", /^"version" must be a positive integer, got /);
    }
  });
});

describe("parseInputs", () => {
  it("accepts the full form, the shorthand array and nested data, all to the same tensor", () => {
    const full = parseInputs(classifier.signature.inputs, x([0.1, 0.2, 0.3, 0.4]));
    const noType = parseInputs(classifier.signature.inputs, { input: { dims: [1, 4], data: [0.1, 0.2, 0.3, 0.4] } });
    const nested = parseInputs(classifier.signature.inputs, { input: { data: [[0.1, 0.2, 0.3, 0.4]] } });
    const shorthand = parseInputs(classifier.signature.inputs, { input: [[0.1, 0.2, 0.3, 0.4]] });
    assert.equal(full.input!.type, "float32");
    assert.deepEqual(full.input!.dims, [1, 4]);
    assert.deepEqual([...full.input!.data], [0.1, 0.2, 0.3, 0.4].map(Math.fround));
    for (const other of [noType, nested, shorthand]) assert.equal(tensorsSha256(other), tensorsSha256(full));
  });

  it("refuses names the model does not take, and inputs it needs", () => {
    refuses(() => parseInputs(classifier.signature.inputs, { inputs: [1, 2, 3, 4] }), "unknown_input", 'unknown input "inputs"; the model\'s inputs are "input"');
    refuses(() => parseInputs(classifier.signature.inputs, {}), "missing_input", 'missing input "input" (float32 [batch, 4])');
    refuses(() => parseInputs(paired.signature.inputs, pairedInputs({ free: undefined })), "missing_input", 'missing input "free" (int32 [1, ?])');
    refuses(() => parseInputs(classifier.signature.inputs, [1, 2]), "bad_request", '"inputs" must be an object of named tensors, got an array');
  });

  it("refuses a type other than the signature's, and types JSON cannot name", () => {
    refuses(() => parseInputs(classifier.signature.inputs, x([1, 2, 3, 4], { type: "int32" })), "bad_type", 'input "input" expects float32, got int32');
    refuses(() => parseInputs(classifier.signature.inputs, x([1, 2, 3, 4], { type: "float16" })), "bad_type", /^input "input" has type "float16"; supported types:/);
  });

  it("refuses dims that do not fit the signature", () => {
    const inputs = classifier.signature.inputs;
    refuses(() => parseInputs(inputs, { input: { dims: [1, 3], data: [1, 2, 3] } }), "bad_shape", 'input "input" expects dims [batch, 4], got [1, 3]');
    refuses(() => parseInputs(inputs, { input: { data: [1, 2, 3, 4] } }), "bad_shape", 'input "input" expects dims [batch, 4], got [4]');
    refuses(() => parseInputs(inputs, { input: { dims: [1, 1, 4], data: [1, 2, 3, 4] } }), "bad_shape", 'input "input" expects dims [batch, 4], got [1, 1, 4]');
    refuses(() => parseInputs(inputs, { input: { dims: [0, 4], data: [] } }), "bad_shape", 'input "input" dim 0 (batch) is 0; it must be at least 1');
    refuses(() => parseInputs(inputs, x([1, 2, 3])), "bad_shape", 'input "input" has 3 elements but dims [1, 4] need 4');
    refuses(() => parseInputs(inputs, { input: [[1, 2, 3, 4], [5, 6, 7]] }), "bad_shape", 'input "input" data is ragged: data[1] has 3 elements, expected 4');
    refuses(() => parseInputs(inputs, { input: { dims: [1, -4], data: [] } }), "bad_shape", 'input "input" dims[1] is -4; dims must be non-negative integers');
    refuses(() => parseInputs(paired.signature.inputs, pairedInputs({ fixed: [[1, 2, 3], [4, 5, 6]] })), "bad_shape", 'input "fixed" expects dims [2, 2], got [2, 3]');
  });

  it("binds a symbolic dim across inputs, and leaves unnamed ones free", () => {
    const ok = parseInputs(paired.signature.inputs, pairedInputs());
    assert.deepEqual(ok.b!.dims, [2]);
    assert.deepEqual([...ok.b!.data], [1n, 2n]);
    assert.deepEqual(parseInputs(paired.signature.inputs, pairedInputs({ free: [[1, 2, 3, 4, 5]] })).free!.dims, [1, 5]);
    refuses(() => parseInputs(paired.signature.inputs, pairedInputs({ b: { data: ["1", 2, 3] } })), "bad_shape", 'input "b" dim 0 (batch) is 3, but input "a" has batch = 2');
  });

  it("refuses elements that are not valid for the type", () => {
    const inputs = classifier.signature.inputs;
    refuses(() => parseInputs(inputs, x([1, "NaN", 3, 4])), "bad_data", 'input "input" element 1 is "NaN": float32 elements must be finite JSON numbers');
    refuses(() => parseInputs(inputs, x([1, 2, null, 4])), "bad_data", 'input "input" element 2 is null: float32 elements must be finite JSON numbers');
    refuses(() => parseInputs(inputs, x([1, 2, 3, "Infinity"])), "bad_data", /element 3 is "Infinity"/);
    refuses(() => parseInputs(inputs, x([1e39, 2, 3, 4])), "bad_data", 'input "input" element 0 is 1e+39: outside the float32 range');
    refuses(() => parseInputs(inputs, x([1, 2, 3, [4]])), "bad_data", /element 3 is an array/);
    refuses(() => parseInputs(paired.signature.inputs, pairedInputs({ b: { data: [1, 2 ** 60] } })), "bad_data", /element 1 is 1152921504606847000: beyond 2\^53 - 1/);
    refuses(() => parseInputs(paired.signature.inputs, pairedInputs({ free: [[1, 2, 2147483648]] })), "bad_data", 'input "free" element 2 is 2147483648: outside the int32 range [-2147483648, 2147483647]');
    const strings = identity.signature.inputs.filter((s) => s.type === "string");
    refuses(() => parseInputs(strings, { string: [["a", "b\u0000c"]] }), "bad_data", 'input "string" element 1 contains U+0000, which onnxruntime cannot pass to a model');
  });

  it("refuses batches and element counts above the limits, before reading the data", () => {
    const inputs = classifier.signature.inputs;
    const batch = (n: number) => ({ input: { dims: [n, 4], data: Array.from({ length: n * 4 }, () => 0) } });
    assert.equal(parseInputs(inputs, batch(8), { maxBatch: 8 }).input!.dims[0], 8);
    refuses(() => parseInputs(inputs, batch(9), { maxBatch: 8 }), "too_large", 'input "input" has a batch of 9; at most 8 per call');
    refuses(() => parseInputs(inputs, batch(3), { maxElements: 11 }), "too_large", /more than the 11 elements accepted/);
    refuses(() => parseInputs(inputs, { input: { dims: [1e9, 1e9], data: [] } }), "too_large", /input "input" has dims \[1000000000, 1000000000\], more than/);
    // Over all inputs: 6 + 2 + 4 + 3 = 15 elements.
    assert.ok(parseInputs(paired.signature.inputs, pairedInputs(), { maxElements: 15 }));
    refuses(() => parseInputs(paired.signature.inputs, pairedInputs(), { maxElements: 14 }), "too_large", /the inputs have more than 14 elements in all \(at input "free"\)/);
  });

  it("leaves the request untouched when it refuses it", () => {
    const body = pairedInputs({ b: { data: ["1", "x"] } });
    const copy = structuredClone(body);
    assert.throws(() => parseInputs(paired.signature.inputs, body), InputError);
    assert.deepEqual(body, copy);
  });
});

describe("outputs", () => {
  it("run every type through a real session and come back as JSON a client hashes like the gateway", async () => {
    const values: Record<TensorType, unknown[]> = {
      float32: [0.1, -3.5, 1e-7, 65504],
      float64: [0.1, -1e300, 5e-324, 2],
      int8: [-128, 127, 0, 1],
      uint8: [0, 255, 1, 2],
      int16: [-32768, 32767, 0, 1],
      uint16: [0, 65535, 1, 2],
      int32: [-2147483648, 2147483647, 0, 1],
      uint32: [0, 4294967295, 1, 2],
      int64: ["-9223372036854775808", "9223372036854775807", 0, -1],
      uint64: ["18446744073709551615", 0, 1, "2"],
      bool: [true, false, false, true],
      string: ["", "héllo", "日本 🎉", " "],
    };
    const body = { inputs: Object.fromEntries(TENSOR_TYPES.map((t) => [t, { dims: [2, 2], data: values[t] }])) };
    const request = parseInferRequest(JSON.parse(JSON.stringify(body)));
    const inputs = parseInputs(identity.signature.inputs, request.inputs);
    const outputs = await identity.run(inputs, 10_000);
    const wire = JSON.parse(JSON.stringify({ outputs: outputsToJson(outputs) }));

    // The client side: the JSON it sent (types from the model's signature) and the JSON it got back.
    const types = Object.fromEntries(identity.signature.inputs.map((s) => [s.name, s.type as TensorType]));
    assert.equal(tensorsSha256(tensorsFromJson(body.inputs, { types })), tensorsSha256(inputs));
    assert.equal(tensorsSha256(tensorsFromJson(wire.outputs, { nonFinite: true })), tensorsSha256(outputs));

    for (const type of TENSOR_TYPES) {
      const out = wire.outputs[`${type}_out`];
      assert.equal(out.type, type);
      assert.deepEqual(out.dims, [2, 2]);
      const expected = tensorsFromJson({ t: { type, data: values[type] } }).t!.data;
      assert.deepEqual([...tensorsFromJson({ t: out }).t!.data], [...expected], type);
    }
    assert.deepEqual(wire.outputs.int64_out.data, ["-9223372036854775808", "9223372036854775807", "0", "-1"]);
  });

  it("give a classifier's probabilities that a client can verify against the receipt hashes", async () => {
    const body = { inputs: { input: [[0.5, -1, 2, 0.25], [1, 1, 1, 1]] } };
    const inputs = parseInputs(classifier.signature.inputs, parseInferRequest(body).inputs);
    const outputs = await classifier.run(inputs, 10_000);
    const wire = JSON.parse(JSON.stringify(outputsToJson(outputs)));
    assert.deepEqual(wire.probabilities.dims, [2, 3]);
    for (let row = 0; row < 2; row++) {
      const sum = wire.probabilities.data.slice(row * 3, row * 3 + 3).reduce((a: number, b: number) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-6, `row ${row} sums to ${sum}`);
    }
    assert.equal(tensorsSha256(tensorsFromJson(body.inputs, { types: { input: "float32" } })), tensorsSha256(inputs));
    assert.equal(tensorsSha256(tensorsFromJson(wire)), tensorsSha256(outputs));
  });
});
