// Serializes a linear classifier — probabilities = Softmax(input · W + B) — as an ONNX model, so sample and test models
// can be made in code with no model files. The weights are stored as float32 `floatData`, which onnxruntime reads as is.
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

export interface LinearClassifierSpec {
  inputName: string;
  /** The softmax output, float32 [batch, classes]. */
  outputName: string;
  /** When set, a second output of this name answers the most likely class: int64 [batch] (ArgMax of the logits). */
  labelOutputName?: string;
  features: number;
  classes: number;
  /** Row-major `features × classes`: `weights[f * classes + c]` links feature f to class c. */
  weights: ArrayLike<number>;
  /** One per class. */
  bias: ArrayLike<number>;
  /** Name of the symbolic first dimension of the input and outputs. */
  batchDim?: string;
  graphName: string;
  producerName: string;
  producerVersion?: string;
  docString?: string;
  /** Default operator set version; 13 unless given. */
  opset?: number;
  irVersion?: number;
  /** Tensors the graph carries but does not use, after W and B (e.g. to make a bigger file). */
  extraInitializers?: readonly onnxProto.onnx.ITensorProto[];
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const INT = onnx.AttributeProto.AttributeType.INT;

/** The serialized ModelProto of `spec`. Throws on weights that do not match the dimensions or are not finite float32. */
export function linearClassifierOnnx(spec: LinearClassifierSpec): Uint8Array {
  const { features, classes, inputName, outputName, labelOutputName } = spec;
  checkCount("features", features);
  checkCount("classes", classes);
  const weights = finiteValues("weights", spec.weights, features * classes);
  const bias = finiteValues("bias", spec.bias, classes);
  const batch = spec.batchDim ?? "batch";

  const node: onnxProto.onnx.INodeProto[] = [
    { opType: "MatMul", input: [inputName, "W"], output: ["logits_raw"], name: "matmul" },
    { opType: "Add", input: ["logits_raw", "B"], output: ["logits"], name: "add" },
    { opType: "Softmax", input: ["logits"], output: [outputName], name: "softmax", attribute: [{ name: "axis", type: INT, i: -1 }] },
  ];
  const output = [valueInfo(outputName, FLOAT, [batch, classes])];
  if (labelOutputName !== undefined) {
    // On the logits rather than the probabilities: softmax can round near-equal scores into a tie.
    node.push({
      opType: "ArgMax",
      input: ["logits"],
      output: [labelOutputName],
      name: "argmax",
      attribute: [
        { name: "axis", type: INT, i: -1 },
        { name: "keepdims", type: INT, i: 0 },
      ],
    });
    output.push(valueInfo(labelOutputName, INT64, [batch]));
  }

  const model = onnx.ModelProto.create({
    irVersion: spec.irVersion ?? 8,
    producerName: spec.producerName,
    ...(spec.producerVersion === undefined ? {} : { producerVersion: spec.producerVersion }),
    ...(spec.docString === undefined ? {} : { docString: spec.docString }),
    opsetImport: [{ domain: "", version: spec.opset ?? 13 }],
    graph: {
      name: spec.graphName,
      node,
      initializer: [floatTensor("W", [features, classes], weights), floatTensor("B", [classes], bias), ...(spec.extraInitializers ?? [])],
      input: [valueInfo(inputName, FLOAT, [batch, features])],
      output,
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

function floatTensor(name: string, dims: number[], values: number[]) {
  return onnx.TensorProto.create({ name, dims, dataType: FLOAT, floatData: values });
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } } },
  });
}

function checkCount(label: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${label} must be a positive integer, got ${n}`);
}

function finiteValues(label: string, values: ArrayLike<number>, expected: number): number[] {
  if (values.length !== expected) throw new RangeError(`${label} has ${values.length} values; expected ${expected}`);
  const out = Array.from(values);
  // Stored as float32, so a double beyond float32's range would become Infinity.
  const bad = out.findIndex((v) => !Number.isFinite(Math.fround(v)));
  if (bad >= 0) throw new RangeError(`${label}[${bad}] is ${out[bad]}, not a finite float32`);
  return out;
}
