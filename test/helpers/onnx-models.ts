// ONNX models built in code for what the tiny classifier (./onnx.ts) cannot show: a model whose run time the caller
// picks with its input (to keep a call in flight, or overrun a deadline), and one that fails at run time on input
// its signature accepts.
import onnxProto from "onnx-proto";
import { TENSOR_TYPE_CODES, type TensorType } from "../../sdk/tensors.ts";

const { onnx } = onnxProto;

function valueInfo(name: string, type: TensorType, shape: (number | string)[]) {
  const dim = shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d }));
  return onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: TENSOR_TYPE_CODES[type], shape: { dim } } } });
}

function encode(graph: Record<string, unknown>): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({ irVersion: 8, producerName: "modelshare-tests", opsetImport: [{ domain: "", version: 17 }], graph }),
  ).finish();
}

/**
 * Inputs `x` (float32 [1]) and `size` (int64 [2]): x is broadcast to a size[0] × size[1] matrix which is multiplied by
 * itself `steps` times (Tanh between products keeps the values finite); output `y` is the sum of the result. Work grows
 * with the cube of the size, so `size: [1, 1]` answers at once and `[2000, 2000]` keeps the model busy for seconds.
 */
export function buildSlowModel(steps = 24): Uint8Array {
  const node: Record<string, unknown>[] = [{ opType: "Expand", input: ["x", "size"], output: ["m0"], name: "expand" }];
  for (let i = 0; i < steps; i++) {
    node.push({ opType: "MatMul", input: [`m${i}`, `m${i}`], output: [`p${i}`], name: `matmul_${i}` });
    node.push({ opType: "Tanh", input: [`p${i}`], output: [`m${i + 1}`], name: `tanh_${i}` });
  }
  // Summed to one number, so even a huge run answers with a small body.
  const keepdims = { name: "keepdims", type: onnx.AttributeProto.AttributeType.INT, i: 0 };
  node.push({ opType: "ReduceSum", input: [`m${steps}`], output: ["y"], name: "sum", attribute: [keepdims] });
  return encode({
    name: "slow",
    node,
    input: [valueInfo("x", "float32", [1]), valueInfo("size", "int64", [2])],
    output: [valueInfo("y", "float32", [])],
  });
}

/** Reshapes x [batch, n] into rows of 3: its signature takes any n, but the run fails unless 3 divides batch × n. */
export function buildFailingModel(): Uint8Array {
  const shape = onnx.TensorProto.create({ name: "rows_of_3", dims: [2], dataType: TENSOR_TYPE_CODES.int64, int64Data: [-1, 3] });
  return encode({
    name: "reshape",
    node: [{ opType: "Reshape", input: ["x", "rows_of_3"], output: ["y"], name: "reshape" }],
    initializer: [shape],
    input: [valueInfo("x", "float32", ["batch", "n"])],
    output: [valueInfo("y", "float32", ["rows", 3])],
  });
}
