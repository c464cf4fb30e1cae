// One onnxruntime-node session over verified weights: its signature, concurrent runs with a timeout, and a release
// that waits for the runs in flight (an evicted session may still be answering calls).
//
// onnxruntime-node runs a session synchronously on the calling thread, deferred by one setImmediate, so a timeout
// cannot interrupt a run that has started: the deadline covers queueing and running, and a run that ends after it is
// reported as `inference_timeout` and its result discarded. The timer still races the run so that a binding that
// runs off-thread would be cut off on time.
import { InferenceSession, Tensor as OrtTensor } from "onnxruntime-node";
import type { TensorSignature } from "../../sdk/onnx.ts";
import { isTensorType, type Tensor, type TensorType, type Tensors } from "../../sdk/tensors.ts";
import { firstLine, InputError, ModelError } from "./errors.ts";

export type SessionOptions = InferenceSession.SessionOptions;

/**
 * One thread per session and the sequential executor, chosen by `npm run bench:inference` (2 cores, small models, many
 * calls in flight): the parallel executor was 10–100× slower, and intra-op threads gained nothing on a 4→3 model while
 * costing up to 3× on a 512→512 one, worse with several sessions loaded, each with its own spinning thread pool.
 * Runs are serialized on the event loop thread anyway (see above), so extra threads only compete with it.
 */
export const DEFAULT_SESSION_OPTIONS: Readonly<SessionOptions> = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all",
  // Failures are reported through our errors and logger; onnxruntime's own stderr lines would duplicate them.
  logSeverityLevel: 4,
};

export interface Signature {
  inputs: TensorSignature[];
  /** The outputs served: tensors of a type the gateway can write as JSON. */
  outputs: TensorSignature[];
}

/** A run on a session that was evicted; the catalog reloads the model and runs it there. */
export class SessionReleasedError extends Error {}

export class ModelSession {
  readonly signature: Signature;
  /** Size of the weights, charged against the catalog's byte budget. */
  readonly bytes: number;
  readonly #session: InferenceSession;
  readonly #fetches: string[];
  readonly #label: string;
  #inflight = 0;
  #retired = false;
  #released = false;

  private constructor(session: InferenceSession, signature: Signature, bytes: number, label: string) {
    this.#session = session;
    this.signature = signature;
    this.bytes = bytes;
    this.#label = label;
    this.#fetches = signature.outputs.map((o) => o.name);
  }

  /** Creates a session from weights already checked against the registry; `label` names the model in errors. */
  static async create(weights: Uint8Array, options: SessionOptions, label: string): Promise<ModelSession> {
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(weights, options);
    } catch (error) {
      throw new ModelError("model_invalid", `${label} cannot be loaded by onnxruntime: ${firstLine(error)}`, { cause: error });
    }
    try {
      return new ModelSession(session, servedSignature(session, label), weights.byteLength, label);
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  get inflight(): number {
    return this.#inflight;
  }

  get released(): boolean {
    return this.#released;
  }

  /** Runs validated feeds (see tensors.ts `parseInputs`); rejects with a ModelError, or an InputError as a safety net. */
  async run(feeds: Tensors, timeoutMs: number): Promise<Record<string, Tensor>> {
    // An evicted session only finishes what it started, so its memory is freed soon whoever still holds it.
    if (this.#retired) throw new SessionReleasedError(`${this.#label} was evicted`);
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const name in feeds) {
      const t = feeds[name]!;
      ortFeeds[name] = new OrtTensor(t.type, t.data as Float32Array, t.dims);
    }
    const started = performance.now();
    this.#inflight++;
    const running = this.#session.run(ortFeeds, this.#fetches).finally(() => {
      this.#inflight--;
      if (this.#retired && this.#inflight === 0) this.#release();
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = () => new ModelError("inference_timeout", `${this.#label} did not answer within ${timeoutMs} ms`);
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timedOut()), timeoutMs);
    });
    try {
      const result = await Promise.race([running, deadline]);
      if (performance.now() - started > timeoutMs) throw timedOut();
      const outputs: Record<string, Tensor> = {};
      for (const name of this.#fetches) {
        const t = result[name] as OrtTensor;
        outputs[name] = { type: t.type as TensorType, dims: t.dims, data: t.data as Tensor["data"] };
      }
      return outputs;
    } catch (error) {
      if (error instanceof ModelError) throw error;
      throw runError(this.#label, error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Evicted: release now if idle, else when the last run in flight ends. */
  retire(): void {
    this.#retired = true;
    if (this.#inflight === 0) this.#release();
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    void this.#session.release().catch(() => {});
  }
}

/** The signature from the session's metadata; a model whose inputs cannot be fed from JSON cannot be served. */
function servedSignature(session: InferenceSession, label: string): Signature {
  const inputs: TensorSignature[] = [];
  for (const m of session.inputMetadata) {
    if (!m.isTensor) throw new ModelError("model_invalid", `${label} cannot be served: input ${JSON.stringify(m.name)} is not a tensor`);
    if (!isTensorType(m.type)) {
      throw new ModelError("model_invalid", `${label} cannot be served: input ${JSON.stringify(m.name)} is ${m.type}, which JSON cannot carry`);
    }
    inputs.push({ name: m.name, type: m.type, shape: [...m.shape] });
  }
  // Outputs JSON cannot carry (sequences, maps, float16) are left out rather than refusing the whole model: a
  // classifier's label tensor is still useful without its probability map.
  const outputs: TensorSignature[] = [];
  for (const m of session.outputMetadata) {
    if (m.isTensor && isTensorType(m.type)) outputs.push({ name: m.name, type: m.type, shape: [...m.shape] });
  }
  if (outputs.length === 0) throw new ModelError("model_invalid", `${label} cannot be served: none of its outputs is a tensor JSON can carry`);
  return { inputs, outputs };
}

// onnxruntime's own input checks, in case a caller skipped parseInputs: still the caller's fault, still a 4xx.
const ORT_INPUT_ERRORS: [RegExp, "bad_shape" | "bad_type" | "missing_input"][] = [
  [/^Invalid rank for input/, "bad_shape"],
  [/^Got invalid dimensions for input/, "bad_shape"],
  [/^Unexpected input data type/, "bad_type"],
  [/^input '.*' is missing in 'feeds'/, "missing_input"],
];

function runError(label: string, error: unknown): Error {
  const message = firstLine(error, 1000);
  for (const [pattern, code] of ORT_INPUT_ERRORS) if (pattern.test(message)) return new InputError(code, firstLine(message));
  return new ModelError("inference_failed", `${label} failed: ${firstLine(kernelFailure(message))}`, { cause: error });
}

/**
 * A kernel failure without onnxruntime's source path, C++ signature and assertion (`Reshape node "r": The input
 * tensor cannot be reshaped…`): what a caller needs to see what went wrong with the input they sent.
 */
function kernelFailure(message: string): string {
  const match = /running (\w+) node\. Name:'([^']*)' Status Message: (.*)$/.exec(message);
  if (!match) return message;
  const [, op, name, status] = match;
  const reason = status!.includes(" was false. ") ? status!.slice(status!.indexOf(" was false. ") + 12) : status!.replace(/^\S+:\d+ /, "");
  return `${op} node${name ? ` ${JSON.stringify(name)}` : ""}: ${reason}`;
}
