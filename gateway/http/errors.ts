// Every error the gateway answers with is `{ error: { code, message } }` and a status that says whose fault it is:
// 4xx for anything the caller can fix (bad input, bad or missing payment), 5xx only for the gateway's own faults.
// The model layer's ModelError/InputError (gateway/models/errors.ts) follow the same shape; `toErrorResponse`
// turns anything thrown into one of these, so no route writes an error body by hand.
import type { Address } from "viem";
import type { LaneState } from "../../sdk/x402/voucher-scheme.ts";

export interface ErrorBody {
  error: { code: string; message: string; [detail: string]: unknown };
}

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  /** Extra fields for the error body (e.g. the lane's state after a failed call). */
  readonly details: Record<string, unknown> | undefined;
  readonly expose = true;

  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

/** A payment the gateway cannot take: answered 402 with a fresh PAYMENT-REQUIRED whose `error` is `code`. */
export class PaymentError extends ApiError {
  /** For a corrective 402: the payer and the lanes whose state the client must adopt. */
  readonly resync: { payer: Address; tabs: LaneState[] } | undefined;

  constructor(code: string, message: string, options: { status?: number; resync?: PaymentError["resync"]; details?: Record<string, unknown> } = {}) {
    super(options.status ?? 402, code, message, options.details);
    this.name = "PaymentError";
    this.resync = options.resync;
  }
}

/** The gateway's own errors (ApiError, ModelError, InputError): they carry their code and write their body. */
interface Coded {
  code: string;
  status: number;
  message: string;
  expose: true;
  toJSON(): ErrorBody;
}

function isCoded(error: unknown): error is Coded {
  return (
    error instanceof Error &&
    typeof (error as Partial<Coded>).code === "string" &&
    typeof (error as Partial<Coded>).status === "number" &&
    (error as Partial<Coded>).expose === true &&
    typeof (error as Partial<Coded>).toJSON === "function"
  );
}

/** What body-parser throws, mapped to the gateway's codes. */
const BODY_ERRORS: Record<string, [number, string, string]> = {
  "entity.too.large": [413, "body_too_large", "the request body is larger than the gateway accepts"],
  "entity.parse.failed": [400, "malformed_json", "the request body is not valid JSON"],
  "encoding.unsupported": [415, "unsupported_encoding", "the request body's content encoding is not supported"],
  "charset.unsupported": [415, "unsupported_charset", "the request body's charset is not supported (use utf-8)"],
  "request.aborted": [400, "request_aborted", "the request was aborted before its body arrived"],
  "request.size.invalid": [400, "bad_request", "the request body is shorter or longer than its content-length"],
};

/** A 4xx that Express, its router or zlib raised: its own code is an implementation detail, so name it here. */
function clientFault(error: unknown): [number, string, string] | undefined {
  const status = (error as { status?: unknown } | null)?.status ?? (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status !== "number" || status < 400 || status > 499) return undefined;
  // The router decodes path parameters with decodeURIComponent; a stray "%" there is the caller's typo.
  if (error instanceof URIError) return [400, "malformed_path", "the request path is not valid percent-encoding"];
  // body-parser inflates gzip/deflate/br bodies and passes zlib's errors on with a 400.
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && /^(Z_|ERR__ERROR|ERR_BROTLI)/.test(code)) {
    return [400, "malformed_body", "the request body does not decompress with its content-encoding"];
  }
  return [status, "bad_request", "the gateway cannot read this request"];
}

/** Status and body for anything thrown while handling a request; `internal` is true for the gateway's own faults. */
export function toErrorResponse(error: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (isCoded(error)) return { status: error.status, body: error.toJSON(), internal: error.status >= 500 };
  const type = (error as { type?: unknown } | null)?.type;
  const known = (typeof type === "string" ? BODY_ERRORS[type] : undefined) ?? clientFault(error);
  if (known) {
    const [status, code, message] = known;
    return { status, body: { error: { code, message } }, internal: false };
  }
  return { status: 500, body: { error: { code: "internal_error", message: "the gateway failed to handle the request" } }, internal: true };
}
