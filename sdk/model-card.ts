// The model card: the ERC-721 metadata JSON that `tokenURI` points to (ipfs://<metadata CID>), extended with what an
// app needs to call the model — format, opset, input/output signature — and what ties the card to the chain: the
// weights' sha256 and CID, the license and the declared parents.
import type { OnnxInfo, TensorSignature } from "./onnx.ts";

export const MODEL_CARD_SCHEMA = "modelshare/model-card@1";

export interface ModelCardAttribute {
  trait_type: string;
  value: string | number;
  display_type?: "number";
}

export interface ModelCardParent {
  modelId: string;
  bps: number;
}

export interface ModelCard {
  // ERC-721 metadata JSON schema (plus the widely used OpenSea `attributes`).
  name: string;
  description: string;
  image?: string;
  attributes: ModelCardAttribute[];
  // Modelshare's own fields.
  schema: typeof MODEL_CARD_SCHEMA;
  model: {
    format: "onnx";
    irVersion: number;
    opset: number;
    opsetImports: { domain: string; version: number }[];
    producer?: string;
    inputs: TensorSignature[];
    outputs: TensorSignature[];
  };
  weights: { sha256: string; cid: string; sizeBytes: number };
  license?: string;
  parents: ModelCardParent[];
  tags: string[];
}

export interface ModelCardInput {
  name: string;
  description?: string;
  image?: string;
  license?: string;
  tags?: string[];
  parents?: { modelId: bigint | number | string; bps: number }[];
  onnx: OnnxInfo;
  weightsCid: string;
}

/** Builds the card; the attributes repeat the fields marketplaces display, derived so they can't disagree. */
export function buildModelCard(input: ModelCardInput): ModelCard {
  const name = input.name.trim();
  if (!name) throw new Error("the model card needs a name");
  const tags = [...new Set((input.tags ?? []).map((t) => t.trim()).filter(Boolean))];
  const parents = (input.parents ?? []).map((p) => ({ modelId: p.modelId.toString(), bps: p.bps }));
  const { onnx } = input;
  const attributes: ModelCardAttribute[] = [
    { trait_type: "format", value: "ONNX" },
    { trait_type: "opset", value: onnx.opset, display_type: "number" },
    { trait_type: "size (bytes)", value: onnx.sizeBytes, display_type: "number" },
    ...(input.license ? [{ trait_type: "license", value: input.license }] : []),
    ...parents.map((p) => ({ trait_type: "parent", value: `#${p.modelId} (${p.bps} bps)` })),
    ...tags.map((t) => ({ trait_type: "tag", value: t })),
  ];
  const card: ModelCard = {
    name,
    description: input.description ?? "",
    ...(input.image ? { image: input.image } : {}),
    attributes,
    schema: MODEL_CARD_SCHEMA,
    model: {
      format: "onnx",
      irVersion: onnx.irVersion,
      opset: onnx.opset,
      opsetImports: onnx.opsetImports,
      ...(onnx.producer ? { producer: onnx.producer } : {}),
      inputs: onnx.inputs,
      outputs: onnx.outputs,
    },
    weights: { sha256: onnx.sha256, cid: input.weightsCid, sizeBytes: onnx.sizeBytes },
    ...(input.license ? { license: input.license } : {}),
    parents,
    tags,
  };
  return card;
}

/** The bytes that get stored and hashed: deterministic (field order fixed by buildModelCard), UTF-8, 2-space JSON. */
export function encodeModelCard(card: ModelCard): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(card, null, 2) + "\n");
}

/** Parses a stored card, checking just enough to trust the fields the CLI reads back. */
export function decodeModelCard(bytes: Uint8Array): ModelCard {
  const card = JSON.parse(new TextDecoder().decode(bytes)) as ModelCard;
  if (typeof card !== "object" || card === null || typeof card.name !== "string" || card.schema !== MODEL_CARD_SCHEMA) {
    throw new Error("not a Modelshare model card");
  }
  return card;
}
