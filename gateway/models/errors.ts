// The two kinds of failure the model layer reports, each with a stable `code` and the HTTP status the server answers
// with (`status`, the field Express's error handler also reads). Bad input is always a 4xx InputError; a ModelError is
// about the model, its weights or the infrastructure, and is a 5xx only when the caller could not have avoided it.
//
// | code                 | status | meaning                                                                        |
// |----------------------|--------|--------------------------------------------------------------------------------|
// | unknown_model        | 404    | no model has this id on the registry (or the id is malformed)                  |
// | unknown_version      | 404    | the model has no such version                                                  |
// | model_not_served     | 404    | the model exists but this gateway does not serve it (allow list)               |
// | registry_unavailable | 503    | the chain's RPC cannot be reached and nothing is known about the model yet     |
// | weights_unavailable  | 503    | storage is down or does not hold the weights' CID; retried on the next call    |
// | weights_mismatch     | 502    | the weights behind the CID do not hash to the registry's sha256: the model as  |
// |                      |        | registered cannot be served (an upstream fault, never the caller's)            |
// | model_invalid        | 502    | the verified weights are not an ONNX model onnxruntime can serve               |
// | inference_timeout    | 504    | the run took longer than the configured timeout; its result was discarded      |
// | inference_failed     | 500    | the model failed on input that passed validation                               |
// | catalog_closed       | 503    | the catalog was closed (shutdown)                                              |
//
// InputError codes (400 unless noted): bad_request, unknown_input, missing_input, bad_type, bad_shape, bad_data,
// too_large (413).

export type ModelErrorCode =
  | "unknown_model"
  | "unknown_version"
  | "model_not_served"
  | "registry_unavailable"
  | "weights_unavailable"
  | "weights_mismatch"
  | "model_invalid"
  | "inference_timeout"
  | "inference_failed"
  | "catalog_closed";

const MODEL_STATUS: Readonly<Record<ModelErrorCode, number>> = {
  unknown_model: 404,
  unknown_version: 404,
  model_not_served: 404,
  registry_unavailable: 503,
  weights_unavailable: 503,
  weights_mismatch: 502,
  model_invalid: 502,
  inference_timeout: 504,
  inference_failed: 500,
  catalog_closed: 503,
};

export type InputErrorCode =
  | "bad_request"
  | "unknown_input"
  | "missing_input"
  | "bad_type"
  | "bad_shape"
  | "bad_data"
  | "too_large";

/** The `{ error: { code, message } }` body every error response carries. */
export interface ErrorBody {
  error: { code: string; message: string };
}

export class ModelError extends Error {
  readonly code: ModelErrorCode;
  readonly status: number;
  /** Messages are written for the caller: safe to send (Express's handler looks at this flag). */
  readonly expose = true;

  constructor(code: ModelErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ModelError";
    this.code = code;
    this.status = MODEL_STATUS[code];
  }

  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

export class InputError extends Error {
  readonly code: InputErrorCode;
  readonly status: number;
  readonly expose = true;

  constructor(code: InputErrorCode, message: string) {
    super(message);
    this.name = "InputError";
    this.code = code;
    this.status = code === "too_large" ? 413 : 400;
  }

  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

/** The first line of an error's message, for wrapping errors from libraries that write paragraphs. */
export function firstLine(error: unknown, max = 300): string {
  const text = (error instanceof Error ? error.message : String(error)).split("\n")[0]!.trim();
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
