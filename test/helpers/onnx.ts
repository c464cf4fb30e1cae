// Builds tiny, valid ONNX models in code, so CLI and gateway tests need no model files: a linear classifier
// `Softmax(X · W + B)` with a few float weights.
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

export interface TinyModelOptions {
  /** Input features; the weights are `features × classes`. */
  features?: number;
  classes?: number;
  opset?: number;
  /** Changes the weights (and so the sha256 and CID) without changing the signature. */
  seed?: number;
  /** Extra bytes of weights, to make a bigger file (an extra unused initializer). */
  padBytes?: number;
}

function tensor(name: string, dims: number[], values: number[]) {
  return onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: values });
}

function valueInfo(name: string, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

/** The serialized ModelProto of a MatMul + Add + Softmax classifier with input "input" and output "probabilities". */
export function buildTinyClassifier(options: TinyModelOptions = {}): Uint8Array {
  const features = options.features ?? 4;
  const classes = options.classes ?? 3;
  const seed = options.seed ?? 1;
  const weights = Array.from({ length: features * classes }, (_, i) => ((i * 7 + seed * 13) % 17) / 17 - 0.5);
  const bias = Array.from({ length: classes }, (_, i) => (i + seed) / 10);
  const initializer = [tensor("W", [features, classes], weights), tensor("B", [classes], bias)];
  if (options.padBytes) {
    const n = Math.ceil(options.padBytes / 4);
    initializer.push(
      onnx.TensorProto.create({
        name: "padding",
        dims: [n],
        dataType: onnx.TensorProto.DataType.FLOAT,
        rawData: new Uint8Array(n * 4),
      }),
    );
  }
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "modelshare-tests",
    opsetImport: [{ domain: "", version: options.opset ?? 13 }],
    graph: {
      name: "tiny_classifier",
      node: [
        { opType: "MatMul", input: ["input", "W"], output: ["logits_raw"], name: "matmul" },
        { opType: "Add", input: ["logits_raw", "B"], output: ["logits"], name: "add" },
        { opType: "Softmax", input: ["logits"], output: ["probabilities"], name: "softmax", attribute: [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: -1 }] },
      ],
      initializer,
      input: [valueInfo("input", ["batch", features])],
      output: [valueInfo("probabilities", ["batch", classes])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
