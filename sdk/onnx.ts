// Inspects an ONNX file without trusting it: the header (IR version, opsets, producer) is read from the protobuf's
// top-level fields only — the graph, which holds the weights, is skipped by seeking — and the input/output
// signature comes from actually loading the model in onnxruntime-node, so a file that passes can be served.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, stat, type FileHandle } from "node:fs/promises";
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

export const DEFAULT_MAX_MODEL_BYTES = 2 * 1024 ** 3;

export interface OpsetImport {
  /** "" (or "ai.onnx") is the default operator set. */
  domain: string;
  version: number;
}

export interface TensorSignature {
  name: string;
  /** onnxruntime's element type ("float32", "int64", ...), or "non-tensor" for sequences and maps. */
  type: string;
  /** Dimensions: numbers, or strings for symbolic ones ("batch"); empty when unknown. */
  shape: (number | string)[];
}

export interface OnnxInfo {
  path: string;
  sizeBytes: number;
  /** Hex sha256 of the file, 0x-prefixed (the form the registry stores). */
  sha256: `0x${string}`;
  irVersion: number;
  /** Version of the default ("ai.onnx") operator set. */
  opset: number;
  opsetImports: OpsetImport[];
  producer: string;
  inputs: TensorSignature[];
  outputs: TensorSignature[];
}

/** A file that is missing, too big or not a loadable ONNX model. */
export class OnnxFileError extends Error {}

/** Checks size, parses the header, loads the model and hashes it. `maxBytes` guards memory before anything is read. */
export async function inspectOnnx(path: string, options: { maxBytes?: number } = {}): Promise<OnnxInfo> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MODEL_BYTES;
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new OnnxFileError(`${path} is not a file`);
    size = info.size;
  } catch (error) {
    if (error instanceof OnnxFileError) throw error;
    throw new OnnxFileError(`model file not found: ${path}`);
  }
  if (size > maxBytes) {
    throw new OnnxFileError(`${path} is ${formatBytes(size)}, above the ${formatBytes(maxBytes)} limit (--max-size)`);
  }
  const header = await readHeader(path, size);
  const { inputs, outputs } = await loadSignature(path);
  const sha256 = await sha256File(path);
  const defaultOpset = header.opsetImports.find((o) => o.domain === "" || o.domain === "ai.onnx");
  return {
    path,
    sizeBytes: size,
    sha256,
    irVersion: header.irVersion,
    opset: defaultOpset?.version ?? 0,
    opsetImports: header.opsetImports,
    producer: header.producer,
    inputs,
    outputs,
  };
}

export async function sha256File(path: string): Promise<`0x${string}`> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `0x${hash.digest("hex")}`;
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(value < 10 ? 2 : 1)} ${units[i]}`;
}

async function loadSignature(path: string): Promise<{ inputs: TensorSignature[]; outputs: TensorSignature[] }> {
  // Imported here so commands that never touch a model don't pay for loading the native runtime.
  const { InferenceSession } = await import("onnxruntime-node");
  let session;
  try {
    session = await InferenceSession.create(path, { logSeverityLevel: 3 });
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split("\n")[0];
    throw new OnnxFileError(`${path} does not load as an ONNX model: ${reason}`);
  }
  try {
    const describe = (m: (typeof session.inputMetadata)[number]): TensorSignature =>
      m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: "non-tensor", shape: [] };
    return { inputs: session.inputMetadata.map(describe), outputs: session.outputMetadata.map(describe) };
  } finally {
    await session.release();
  }
}

// ModelProto field numbers (onnx.proto3): the ones read here, and the graph that is skipped.
const IR_VERSION = 1;
const PRODUCER_NAME = 2;
const PRODUCER_VERSION = 3;
const GRAPH = 7;
const OPSET_IMPORT = 8;

interface Header {
  irVersion: number;
  producer: string;
  opsetImports: OpsetImport[];
}

/** Walks the top-level protobuf fields with positioned reads; a file that is not a ModelProto fails here, cheaply. */
async function readHeader(path: string, size: number): Promise<Header> {
  const notOnnx = (why: string) => new OnnxFileError(`${path} is not an ONNX model (${why})`);
  const fh = await open(path, "r");
  try {
    const header: Header = { irVersion: 0, producer: "", opsetImports: [] };
    let producerVersion = "";
    let hasGraph = false;
    let pos = 0;
    while (pos < size) {
      const [tag, afterTag] = await readVarint(fh, pos, size);
      if (tag === undefined) throw notOnnx("truncated protobuf");
      const field = Number(tag >> 3n);
      const wire = Number(tag & 7n);
      pos = afterTag;
      if (field === 0) throw notOnnx("invalid protobuf field");
      if (wire === 0) {
        const [value, next] = await readVarint(fh, pos, size);
        if (value === undefined) throw notOnnx("truncated protobuf");
        if (field === IR_VERSION) header.irVersion = Number(value);
        pos = next;
      } else if (wire === 2) {
        const [length, next] = await readVarint(fh, pos, size);
        if (length === undefined || next + Number(length) > size) throw notOnnx("truncated protobuf");
        const n = Number(length);
        if (field === OPSET_IMPORT || field === PRODUCER_NAME || field === PRODUCER_VERSION) {
          const bytes = await readAt(fh, next, n);
          if (field === OPSET_IMPORT) {
            const o = onnx.OperatorSetIdProto.decode(bytes);
            header.opsetImports.push({ domain: o.domain ?? "", version: Number(o.version ?? 0) });
          } else if (field === PRODUCER_NAME) header.producer = Buffer.from(bytes).toString("utf8");
          else producerVersion = Buffer.from(bytes).toString("utf8");
        }
        if (field === GRAPH) hasGraph = true;
        pos = next + n;
      } else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else throw notOnnx(`unexpected protobuf wire type ${wire}`);
    }
    if (pos !== size) throw notOnnx("truncated protobuf");
    if (!hasGraph || header.irVersion === 0) throw notOnnx("no graph or IR version");
    if (producerVersion) header.producer = `${header.producer} ${producerVersion}`.trim();
    return header;
  } catch (error) {
    if (error instanceof OnnxFileError) throw error;
    throw notOnnx(error instanceof Error ? error.message : String(error));
  } finally {
    await fh.close();
  }
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/** Returns [value, position after it], or [undefined] past the end or after 10 bytes. */
async function readVarint(fh: FileHandle, position: number, size: number): Promise<[bigint | undefined, number]> {
  const bytes = await readAt(fh, position, Math.min(10, size - position));
  let value = 0n;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    value |= BigInt(b & 0x7f) << BigInt(7 * i);
    if ((b & 0x80) === 0) return [value, position + i + 1];
  }
  return [undefined, position];
}

/** Reads a whole file, including files above fs.readFile's 2 GiB cap, in 64 MiB chunks. */
export async function readModelBytes(path: string): Promise<Uint8Array> {
  const fh = await open(path, "r");
  try {
    const { size } = await fh.stat();
    const buffer = Buffer.allocUnsafe(size);
    let offset = 0;
    while (offset < size) {
      const { bytesRead } = await fh.read(buffer, offset, Math.min(64 * 1024 ** 2, size - offset), offset);
      if (bytesRead === 0) throw new OnnxFileError(`${path} changed while being read`);
      offset += bytesRead;
    }
    return buffer;
  } finally {
    await fh.close();
  }
}
