// The model-file check shared by mint and version: a spinner while onnxruntime loads it (seconds for big models),
// and its problems reported as bad input.
import { createHash } from "node:crypto";
import { inspectOnnx, OnnxFileError, readModelBytes, type OnnxInfo } from "../onnx.ts";
import { CliError, type Output } from "./output.ts";

export async function checkModel(file: string, maxBytes: number, out: Output): Promise<OnnxInfo> {
  const spinner = out.spinner(`checking ${file}`);
  try {
    return await inspectOnnx(file, { maxBytes });
  } catch (error) {
    if (error instanceof OnnxFileError) throw new CliError(error.message);
    throw error;
  } finally {
    spinner.stop();
  }
}

/** The file's bytes for upload, refused if the file changed since it was checked (the chain records that hash). */
export async function readChecked(info: OnnxInfo): Promise<Uint8Array> {
  const bytes = await readModelBytes(info.path);
  if (`0x${createHash("sha256").update(bytes).digest("hex")}` !== info.sha256) {
    throw new CliError(`${info.path} changed while it was being minted; run the command again`);
  }
  return bytes;
}
