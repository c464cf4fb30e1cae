// The voucher scheme on the wire: how a gateway asks for voucher payment in an x402 (version 2) `accepts` entry,
// what a client sends back in PAYMENT-SIGNATURE, and what a paid answer carries in PAYMENT-RESPONSE. Shared by the
// gateway and the SDK's client so both read and write exactly the same shapes.
//
// A payer keeps one running tab per (operator, model, lane) in the vault and signs, for every call, a voucher with
// the lane's new cumulative amount (last + price) and call count. A lane carries one call at a time; a payer with
// calls in flight uses several lanes (0 … maxLanes − 1). A call the gateway does not answer is not charged: the
// lane's next voucher repeats the same cumulative. When a client's lane state is stale (after a restart, say), the
// gateway answers 402 `voucher_out_of_sync` with its latest state of that lane, signed by the payer, in
// `extra.tabs`; the client checks the signature is its own and continues from there.
import { z } from "zod";
import { isAddress, isHex, type Address, type Hex } from "viem";
import type { SignedReceiptJson } from "../receipts.ts";
import type { Voucher } from "../vouchers.ts";

export const VOUCHER_SCHEME = "modelshare-voucher";

/** The error a 402 carries when the voucher's cumulative is not the lane's last + price. */
export const OUT_OF_SYNC = "voucher_out_of_sync";

/** A lane's state as the gateway knows it: the latest voucher it accepted on that lane. */
export interface LaneState {
  lane: number;
  cumulativeAmount: string;
  cumulativeCalls: string;
  expiry: string;
  /** The payer's (or its session key's) signature of that voucher; absent when the state was read from the chain. */
  signature?: Hex;
}

/** `extra` of a voucher-scheme `accepts` entry. The voucher's EIP-712 domain is (name, version, chain, payTo). */
export interface VoucherRequirementsExtra {
  name: string;
  version: string;
  operator: Address;
  modelId: string;
  maxLanes: number;
  /** On a corrective 402 only: the gateway's state of the lanes the rejected voucher used. */
  payer?: Address;
  tabs?: LaneState[];
}

export interface VoucherJson {
  payer: Address;
  operator: Address;
  modelId: string;
  lane: number;
  cumulativeAmount: string;
  cumulativeCalls: string;
  expiry: string;
}

/** `payload` of a voucher-scheme PAYMENT-SIGNATURE. */
export interface VoucherPayload {
  voucher: VoucherJson;
  signature: Hex;
}

/** `extra` of the PAYMENT-RESPONSE of a voucher-paid answer. */
export interface VoucherResponseExtra {
  receipt: SignedReceiptJson;
  /** The lane's state after this call. */
  lane: LaneState;
}

export function voucherToJson(v: Voucher): VoucherJson {
  return {
    payer: v.payer,
    operator: v.operator,
    modelId: v.modelId.toString(),
    lane: v.lane,
    cumulativeAmount: v.cumulativeAmount.toString(),
    cumulativeCalls: v.cumulativeCalls.toString(),
    expiry: v.expiry.toString(),
  };
}

export function voucherFromJson(v: VoucherJson): Voucher {
  return {
    payer: v.payer,
    operator: v.operator,
    modelId: BigInt(v.modelId),
    lane: v.lane,
    cumulativeAmount: BigInt(v.cumulativeAmount),
    cumulativeCalls: BigInt(v.cumulativeCalls),
    expiry: BigInt(v.expiry),
  };
}

// Mixed case is an EIP-55 checksum and must be right (viem caches the check, so a known payer costs nothing).
const address = z
  .string()
  .superRefine((a, ctx) => {
    if (!isAddress(a, { strict: false })) ctx.addIssue({ code: "custom", message: "not an address" });
    else if (!isAddress(a, { strict: true })) ctx.addIssue({ code: "custom", message: "has a wrong EIP-55 checksum (send it checksummed or all lowercase)" });
  })
  .transform((a) => a as Address);
const uintString = z.string().regex(/^(0|[1-9]\d{0,77})$/, "not a non-negative integer");
const hex = z.string().refine((h) => isHex(h), "not hex").transform((h) => h as Hex);

export const laneStateSchema = z.object({
  lane: z.number().int().min(0).max(2 ** 32 - 1),
  cumulativeAmount: uintString,
  cumulativeCalls: uintString,
  expiry: uintString,
  signature: hex.optional(),
});

export const voucherRequirementsExtraSchema = z.object({
  name: z.string(),
  version: z.string(),
  operator: address,
  modelId: uintString,
  maxLanes: z.number().int().min(1).max(2 ** 32),
  payer: address.optional(),
  tabs: z.array(laneStateSchema).optional(),
});

export const voucherJsonSchema = z.object({
  payer: address,
  operator: address,
  modelId: uintString,
  lane: z.number().int().min(0).max(2 ** 32 - 1),
  cumulativeAmount: uintString,
  cumulativeCalls: uintString,
  expiry: uintString,
});

export const voucherPayloadSchema = z.object({ voucher: voucherJsonSchema, signature: hex });
