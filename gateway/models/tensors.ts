// JSON tensors in and out of a served model. Every input is checked against the model's signature before inference,
// so bad input is always an InputError (4xx) and never reaches onnxruntime.
//
// Request body of POST /v1/models/:id/infer:
//   { "inputs": { "<name>": <tensor>, ... }, "version"?: <positive integer> }
// where <tensor> is { "type"?: "float32", "dims"?: [1, 4], "data": [...] } or, as a shorthand, just the (nested)
// data array; see sdk/tensors.ts for the element rules. `type` defaults to the signature's; nested data gives the
// dims itself. Checks, in order (the first failure is reported):
//   unknown_input  a name the model does not take          missing_input  an input the model needs is absent
//   bad_type       type is not the signature's type         bad_shape      rank, a fixed dim, a symbolic dim that differs
//                                                                          between inputs, or data length ≠ product of dims
//   too_large      a batch (symbolic first dim) above maxBatch, or more than maxElements elements over all inputs
//   bad_data       an element that is not valid for the type (non-finite, "NaN", null, out of range, not an integer…)
// Outputs are written in the same form with type and dims always present (int64/uint64 as decimal strings).
import {
  decodeElements,
  elementCount,
  isTensorType,
  readJsonTensor,
  showDims,
  TensorFormatError,
  tensorsToJson,
  type JsonTensor,
  type JsonTensorParts,
  type Tensor,
  type Tensors,
} from "../../sdk/tensors.ts";
import type { TensorSignature } from "../../sdk/onnx.ts";
import { InputError } from "./errors.ts";

export interface InputLimits {
  /** Elements over all inputs of one call. */
  maxElements: number;
  /** Largest value of a symbolic (or unnamed) first dimension: the batch. */
  maxBatch: number;
}

export const DEFAULT_INPUT_LIMITS: Readonly<InputLimits> = { maxElements: 1 << 20, maxBatch: 256 };

export interface InferRequest {
  inputs: unknown;
  /** A pinned model version; absent means the latest. */
  version?: number;
}

const MAX_VERSION = 2 ** 32 - 1; // the registry stores versions as uint32

/** Checks the envelope of an inference request; the inputs themselves are checked by `parseInputs`. */
export function parseInferRequest(body: unknown): InferRequest {
  if (!isPlainObject(body)) {
    throw new InputError("bad_request", `the request body must be a JSON object { "inputs": { ... } }, got ${describe(body)}`);
  }
  for (const key of Object.keys(body)) {
    if (key !== "inputs" && key !== "version") {
      throw new InputError("bad_request", `unknown field ${JSON.stringify(key)} in the request body; expected "inputs" and optionally "version"`);
    }
  }
  if (!("inputs" in body)) throw new InputError("bad_request", `the request body has no "inputs"`);
  const { version } = body;
  if (version === undefined) return { inputs: body.inputs };
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1 || version > MAX_VERSION) {
    throw new InputError("bad_request", `"version" must be a positive integer, got ${describe(version)}`);
  }
  return { inputs: body.inputs, version };
}

/** Validates JSON inputs against a model's input signature and converts them into typed tensors. */
export function parseInputs(signature: readonly TensorSignature[], json: unknown, limits: Partial<InputLimits> = {}): Record<string, Tensor> {
  const maxElements = limits.maxElements ?? DEFAULT_INPUT_LIMITS.maxElements;
  const maxBatch = limits.maxBatch ?? DEFAULT_INPUT_LIMITS.maxBatch;
  if (!isPlainObject(json)) {
    throw new InputError("bad_request", `"inputs" must be an object of named tensors, got ${describe(json)}`);
  }
  for (const name of Object.keys(json)) {
    if (!signature.some((s) => s.name === name)) {
      throw new InputError("unknown_input", `unknown input ${JSON.stringify(name)}; the model's inputs are ${listNames(signature)}`);
    }
  }
  for (const s of signature) {
    if (json[s.name] === undefined) {
      throw new InputError("missing_input", `missing input ${JSON.stringify(s.name)} (${s.type} ${showDims(s.shape)})`);
    }
  }

  const symbols = new Map<string, { value: number; input: string }>();
  const parts: { name: string; label: string; parts: JsonTensorParts }[] = [];
  let total = 0;
  for (const s of signature) {
    const label = `input ${JSON.stringify(s.name)}`;
    const type = s.type;
    if (!isTensorType(type)) throw new InputError("bad_type", `${label} is ${type}, which cannot be sent as JSON`);
    const p = converted(() => readJsonTensor(label, json[s.name], { defaultType: type, maxElements }));
    if (p.type !== type) throw new InputError("bad_type", `${label} expects ${type}, got ${p.type}`);
    checkShape(label, s, p.dims, symbols, maxBatch);
    total += elementCount(p.dims)!;
    if (total > maxElements) {
      throw new InputError("too_large", `the inputs have more than ${maxElements} elements in all (at ${label}); send fewer per call`);
    }
    parts.push({ name: s.name, label, parts: p });
  }

  const tensors: Record<string, Tensor> = {};
  for (const { name, label, parts: p } of parts) {
    const data = converted(() => decodeElements(label, p.type, p.elements));
    if (p.type === "string") refuseNul(label, data as readonly string[]);
    tensors[name] = { type: p.type, dims: p.dims, data };
  }
  return tensors;
}

/** onnxruntime cuts strings at U+0000: the model would see another input than the one hashed into the receipt. */
function refuseNul(label: string, strings: readonly string[]): void {
  const at = strings.findIndex((s) => s.includes("\0"));
  if (at >= 0) throw new InputError("bad_data", `${label} element ${at} contains U+0000, which onnxruntime cannot pass to a model`);
}

function checkShape(
  label: string,
  signature: TensorSignature,
  dims: readonly number[],
  symbols: Map<string, { value: number; input: string }>,
  maxBatch: number,
): void {
  const expected = signature.shape;
  // onnxruntime reports both "scalar" and "shape not declared" as []; it enforces nothing then, and neither can we.
  if (expected.length === 0) return;
  const mismatch = () => new InputError("bad_shape", `${label} expects dims ${showDims(expected)}, got ${showDims(dims)}`);
  if (dims.length !== expected.length) throw mismatch();
  for (let i = 0; i < expected.length; i++) {
    const want = expected[i]!;
    const got = dims[i]!;
    if (typeof want === "number") {
      if (got !== want) throw mismatch();
      continue;
    }
    const name = want === "" ? `dim ${i}` : `dim ${i} (${want})`;
    // Many models fail on empty tensors; a variable dimension must hold something.
    if (got < 1) throw new InputError("bad_shape", `${label} ${name} is 0; it must be at least 1`);
    if (i === 0 && got > maxBatch) {
      throw new InputError("too_large", `${label} has a batch of ${got}; at most ${maxBatch} per call`);
    }
    if (want === "") continue;
    const bound = symbols.get(want);
    if (!bound) symbols.set(want, { value: got, input: label });
    else if (bound.value !== got) {
      throw new InputError("bad_shape", `${label} ${name} is ${got}, but ${bound.input} has ${want} = ${bound.value}`);
    }
  }
}

/** Typed outputs → the JSON response form. */
export function outputsToJson(outputs: Tensors): Record<string, JsonTensor> {
  return tensorsToJson(outputs);
}

function converted<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof TensorFormatError) throw new InputError(error.code, error.message);
    throw error;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function listNames(signature: readonly TensorSignature[]): string {
  return signature.map((s) => JSON.stringify(s.name)).join(", ") || "(none)";
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return value.length > 40 ? `a string` : JSON.stringify(value);
  return typeof value === "object" ? "an object" : String(value);
}
