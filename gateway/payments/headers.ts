// Reading the payment a request carries: x402 version 2's PAYMENT-SIGNATURE or version 1's X-PAYMENT, each base64
// JSON. Decoded with Buffer after a strict alphabet check (Buffer alone would skip bad characters silently).
import { ApiError } from "../http/errors.ts";

export interface DecodedPayment {
  x402Version: 1 | 2;
  scheme: string;
  network: string;
  /** Version 2: the requirements the client chose (echoed back). */
  accepted: Record<string, unknown> | undefined;
  payload: Record<string, unknown>;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const MAX_HEADER_LENGTH = 16 * 1024;

function malformed(message: string): ApiError {
  return new ApiError(400, "malformed_payment", message);
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Decodes the payment header of `version`; throws a 400 `malformed_payment` that says what is wrong. */
export function decodePaymentHeader(value: string, version: 1 | 2): DecodedPayment {
  const name = version === 2 ? "PAYMENT-SIGNATURE" : "X-PAYMENT";
  if (value.length > MAX_HEADER_LENGTH) throw malformed(`the ${name} header is longer than ${MAX_HEADER_LENGTH} characters`);
  if (value.length % 4 !== 0 || !BASE64.test(value)) throw malformed(`the ${name} header is not base64`);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(value, "base64").toString("utf8"));
  } catch {
    throw malformed(`the ${name} header is not base64-encoded JSON`);
  }
  if (!isObject(json)) throw malformed(`the ${name} header must hold a JSON object`);
  if (json.x402Version !== version) {
    throw malformed(`the ${name} header carries x402Version ${JSON.stringify(json.x402Version)}; ${name} is for version ${version}`);
  }
  if (!isObject(json.payload)) throw malformed(`the ${name} header has no payload object`);
  if (version === 2) {
    const accepted = json.accepted;
    if (!isObject(accepted) || typeof accepted.scheme !== "string" || typeof accepted.network !== "string") {
      throw malformed("the PAYMENT-SIGNATURE header has no `accepted` requirements with a scheme and a network");
    }
    return { x402Version: 2, scheme: accepted.scheme, network: accepted.network, accepted, payload: json.payload };
  }
  if (typeof json.scheme !== "string" || typeof json.network !== "string") throw malformed("the X-PAYMENT header has no scheme or network");
  return { x402Version: 1, scheme: json.scheme, network: json.network, accepted: undefined, payload: json.payload };
}

/** Encodes a PAYMENT-RESPONSE / X-PAYMENT-RESPONSE header value. */
export function encodeHeaderJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64");
}
