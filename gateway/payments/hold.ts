// A payment checked but not yet taken. The request path runs inference while holding it, then either commits it
// (the answer goes out only once the payment is final: a voucher durable in the ledger, an `exact` transfer mined)
// or releases it (the call failed: nothing is charged).
import type { SettleResponse } from "@x402/core/types";
import type { Address, Hex } from "viem";

/** The receipt's fields that depend on the payment: known once it is held, so the receipt can be signed while the
 *  payment is being made final. */
export interface ReceiptPayment {
  payment: Hex;
  cumulativeAmount: bigint;
  callIndex: bigint;
}

export interface Committed {
  /** The PAYMENT-RESPONSE body (its `extra` gets the receipt). */
  response: SettleResponse;
  /** What the JSON answer says about the payment. */
  summary: Record<string, unknown>;
}

export interface PaymentHold {
  scheme: string;
  payer: Address;
  amount: bigint;
  /** An identical retry of a call already paid for (same voucher, same input): answered without a new charge. */
  replay: boolean;
  receipt: ReceiptPayment;
  /** Takes the payment; throws a PaymentError when it can no longer be taken (then the answer is withheld). */
  commit(): Promise<Committed>;
  /** Gives the payment up; the payer is not charged. Returns what the error body should say about the payment. */
  release(): Record<string, unknown>;
}
