// sdk/onnx.ts and sdk/model-card.ts on the tiny models test/helpers/onnx.ts builds (no chain needed).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { buildModelCard, decodeModelCard, encodeModelCard, MODEL_CARD_SCHEMA } from "../../sdk/model-card.ts";
import { inspectOnnx, OnnxFileError, readModelBytes } from "../../sdk/onnx.ts";
import { buildTinyClassifier } from "../helpers/onnx.ts";

describe("ONNX inspection and model card", () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(path.join(tmpdir(), "modelshare-card-"))));
  after(async () => rm(dir, { recursive: true, force: true }));

  const write = async (name: string, bytes: Uint8Array | string) => {
    const file = path.join(dir, name);
    await writeFile(file, bytes);
    return file;
  };

  it("builds a tiny classifier that onnxruntime loads and runs", async () => {
    const session = await InferenceSession.create(buildTinyClassifier({ features: 4, classes: 3 }));
    const { probabilities } = await session.run({ input: new Tensor("float32", new Float32Array([1, 2, 3, 4]), [1, 4]) });
    const p = Array.from(probabilities!.data as Float32Array);
    assert.equal(p.length, 3);
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-5, "softmax sums to 1");
    await session.release();
  });

  it("reads opset, signature, size and sha256 of a model file", async () => {
    const bytes = buildTinyClassifier({ features: 5, classes: 2, opset: 17 });
    const file = await write("m.onnx", bytes);
    const info = await inspectOnnx(file);
    assert.equal(info.opset, 17);
    assert.equal(info.irVersion, 8);
    assert.deepEqual(info.opsetImports, [{ domain: "", version: 17 }]);
    assert.equal(info.producer, "modelshare-tests");
    assert.deepEqual(info.inputs, [{ name: "input", type: "float32", shape: ["batch", 5] }]);
    assert.deepEqual(info.outputs, [{ name: "probabilities", type: "float32", shape: ["batch", 2] }]);
    assert.equal(info.sizeBytes, bytes.length);
    assert.equal(info.sha256, `0x${createHash("sha256").update(bytes).digest("hex")}`);
    assert.deepEqual(new Uint8Array(await readModelBytes(file)), new Uint8Array(bytes));
  });

  it("rejects missing, oversized, non-protobuf and unloadable files", async () => {
    await assert.rejects(inspectOnnx(path.join(dir, "none.onnx")), (e) => e instanceof OnnxFileError && /not found/.test(e.message));
    const file = await write("big.onnx", buildTinyClassifier({ padBytes: 4096 }));
    await assert.rejects(inspectOnnx(file, { maxBytes: 1024 }), /above the 1 KiB limit/);
    await assert.rejects(inspectOnnx(await write("t.onnx", "hello world")), /is not an ONNX model/);
    // Valid protobuf framing, but a graph onnxruntime cannot load (an empty graph message and an IR version).
    await assert.rejects(inspectOnnx(await write("empty.onnx", new Uint8Array([0x08, 0x08, 0x3a, 0x00]))), /does not load as an ONNX model/);
  });

  it("builds an ERC-721 card with the model's signature, weights and lineage", async () => {
    const info = await inspectOnnx(await write("c.onnx", buildTinyClassifier()));
    const card = buildModelCard({
      name: " Tiny ",
      description: "a test model",
      license: "MIT",
      tags: ["vision", "vision", " tiny "],
      parents: [{ modelId: 3n, bps: 250 }],
      onnx: info,
      weightsCid: "bafkreiexample",
    });
    assert.equal(card.name, "Tiny");
    assert.equal(card.schema, MODEL_CARD_SCHEMA);
    assert.deepEqual(card.tags, ["vision", "tiny"]);
    assert.deepEqual(card.parents, [{ modelId: "3", bps: 250 }]);
    assert.deepEqual(card.weights, { sha256: info.sha256, cid: "bafkreiexample", sizeBytes: info.sizeBytes });
    assert.equal(card.model.opset, 13);
    assert.ok(card.attributes.some((a) => a.trait_type === "license" && a.value === "MIT"));
    assert.ok(card.attributes.some((a) => a.trait_type === "parent" && a.value === "#3 (250 bps)"));
    assert.equal(card.image, undefined);
    const bytes = encodeModelCard(card);
    assert.deepEqual(encodeModelCard(decodeModelCard(bytes)), bytes, "encoding is stable");
    assert.throws(() => buildModelCard({ name: "  ", onnx: info, weightsCid: "x" }), /needs a name/);
  });
});
