// A tiny ONNX model that passes the gateway's input checks yet fails inside onnxruntime for some inputs, so tests can
// make a paid call fail after its payment was held: `Reshape(input [batch, 4] → [3, -1])` runs for a batch of 3
// (12 elements) and fails for a batch of 1 (4 elements cannot fill 3 rows).
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

export function buildReshapeModel(): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "modelshare-tests",
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: "reshape_into_three_rows",
      node: [{ opType: "Reshape", input: ["input", "shape"], output: ["rows"], name: "reshape" }],
      initializer: [onnx.TensorProto.create({ name: "shape", dims: [2], dataType: onnx.TensorProto.DataType.INT64, int64Data: [3, -1] })],
      input: [valueInfo("input", ["batch", 4])],
      output: [valueInfo("rows", [3, "columns"])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
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
