// Builds tiny, valid ONNX models in code, so CLI and gateway tests need no model files: a linear classifier
// `Softmax(X · W + B)` with a few float weights, made by the SDK's shared linear-classifier builder.
import onnxProto from "onnx-proto";
import { linearClassifierOnnx } from "../../sdk/samples/onnx-linear.ts";

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

/** The serialized ModelProto of a MatMul + Add + Softmax classifier with input "input" and output "probabilities". */
export function buildTinyClassifier(options: TinyModelOptions = {}): Uint8Array {
  const features = options.features ?? 4;
  const classes = options.classes ?? 3;
  const seed = options.seed ?? 1;
  const weights = Array.from({ length: features * classes }, (_, i) => ((i * 7 + seed * 13) % 17) / 17 - 0.5);
  const bias = Array.from({ length: classes }, (_, i) => (i + seed) / 10);
  const padding = [];
  if (options.padBytes) {
    const n = Math.ceil(options.padBytes / 4);
    padding.push(onnx.TensorProto.create({ name: "padding", dims: [n], dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(n * 4) }));
  }
  return linearClassifierOnnx({
    inputName: "input",
    outputName: "probabilities",
    features,
    classes,
    weights,
    bias,
    graphName: "tiny_classifier",
    producerName: "modelshare-tests",
    opset: options.opset ?? 13,
    extraInitializers: padding,
  });
}
