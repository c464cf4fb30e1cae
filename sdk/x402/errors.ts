// What the paying client throws. Each error says what went wrong in one sentence and carries what a caller needs to
// act on it (the gateway's error code, the receipt that did not match, the response it came with).
import type { SignedReceiptJson } from "../receipts.ts";

/** The gateway asks more per call than the client was told to pay. Nothing was signed. */
export class PriceTooHighError extends Error {
  readonly price: bigint;
  readonly maxPrice: bigint;

  constructor(price: bigint, maxPrice: bigint, what: string) {
    super(`${what} costs ${price} base units per call, above the limit of ${maxPrice} (maxPricePerCall)`);
    this.name = "PriceTooHighError";
    this.price = price;
    this.maxPrice = maxPrice;
  }
}

/** A paid answer whose receipt does not prove what was asked, answered and paid. The payment itself was made. */
export class ReceiptError extends Error {
  readonly reason: string;
  readonly receipt: SignedReceiptJson | undefined;
  /** The answer the receipt came with (body unread), for a caller that wants to keep evidence. */
  readonly response: Response | undefined;

  constructor(reason: string, receipt: SignedReceiptJson | undefined, response?: Response) {
    super(`the gateway's receipt does not check out: ${reason}`);
    this.name = "ReceiptError";
    this.reason = reason;
    this.receipt = receipt;
    this.response = response;
  }
}

/** A corrective 402 offered lane states the client cannot verify (not signed by the payer or its session key, and
 *  not what the vault's tab says). The client keeps its own state and pays nothing on that lane. */
export class VoucherResyncError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VoucherResyncError";
  }
}

/** A PAYMENT-RESPONSE that contradicts the voucher the call was paid with. */
export class VoucherStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VoucherStateError";
  }
}

/** The gateway could not be reached, or the answer was lost on the way, even after retrying the same payment. */
export class GatewayUnreachableError extends Error {
  readonly url: string;

  constructor(url: string, cause: unknown) {
    super(`cannot reach the gateway at ${new URL(url).origin}: ${describeCause(cause)}`, { cause });
    this.name = "GatewayUnreachableError";
    this.url = url;
  }
}

/** The gateway answered an inference with an error (payment refused, bad input, model failure…). */
export class GatewayError extends Error {
  readonly status: number;
  /** The gateway's error code (`insufficient_escrow`, `bad_shape`, `inference_failed`…). */
  readonly code: string;
  /** The gateway's own message. */
  readonly detail: string;
  /** For a call that failed after its payment was held: what the gateway says about it (`charged: false`). */
  readonly payment: Record<string, unknown> | undefined;

  constructor(status: number, code: string, message: string, payment?: Record<string, unknown>) {
    super(`${code}: ${message}`);
    this.name = "GatewayError";
    this.status = status;
    this.code = code;
    this.detail = message;
    this.payment = payment;
  }
}

function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const inner = (cause as { cause?: unknown }).cause;
  const code = (inner as { code?: unknown } | undefined)?.code;
  if (typeof code === "string") return `${cause.message} (${code})`;
  return cause.message;
}
