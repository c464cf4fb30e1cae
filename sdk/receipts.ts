// The operator-signed receipt a gateway returns with every paid answer. It binds what was run (model, version,
// weights) to what was asked and answered (sha256 of the canonical input and output tensors, see sdk/tensors.ts)
// and to the payment that bought it, so a payer can prove — offline, with nothing but the receipt — which answer
// an operator gave for which money.
import {
  encodeAbiParameters,
  hashTypedData,
  isAddressEqual,
  keccak256,
  recoverTypedDataAddress,
  type Address,
  type Hex,
  type TypedDataDomain,
} from "viem";

export const RECEIPT_DOMAIN_NAME = "Modelshare Receipt";
export const RECEIPT_DOMAIN_VERSION = "1";

export const RECEIPT_TYPES = {
  Receipt: [
    { name: "modelId", type: "uint256" },
    { name: "version", type: "uint32" },
    { name: "weightsSha256", type: "bytes32" },
    { name: "inputSha256", type: "bytes32" },
    { name: "outputSha256", type: "bytes32" },
    { name: "payer", type: "address" },
    { name: "payment", type: "bytes32" },
    { name: "cumulativeAmount", type: "uint256" },
    { name: "callIndex", type: "uint64" },
  ],
} as const;

export interface Receipt {
  modelId: bigint;
  /** The model version that ran. */
  version: number;
  weightsSha256: Hex;
  inputSha256: Hex;
  outputSha256: Hex;
  payer: Address;
  /**
   * What paid: for a voucher, the vault's tab key of its lane (`voucherTabKey`); for an x402 `exact` payment, the
   * EIP-3009 authorization nonce.
   */
  payment: Hex;
  /** Voucher: the lane's cumulative amount including this call. Exact: the amount paid. */
  cumulativeAmount: bigint;
  /** Voucher: the lane's cumulative call count including this call. Exact: 1. */
  callIndex: bigint;
}

/** A receipt with the operator's EIP-712 signature, as it travels in JSON (integers as decimal strings). */
export interface SignedReceiptJson {
  receipt: {
    modelId: string;
    version: number;
    weightsSha256: Hex;
    inputSha256: Hex;
    outputSha256: Hex;
    payer: Address;
    payment: Hex;
    cumulativeAmount: string;
    callIndex: string;
  };
  operator: Address;
  signature: Hex;
}

/** Receipts are signed for one vault on one chain, like vouchers, so they cannot be replayed as another's. */
export function receiptDomain(chainId: number, vault: Address): TypedDataDomain {
  return { name: RECEIPT_DOMAIN_NAME, version: RECEIPT_DOMAIN_VERSION, chainId, verifyingContract: vault };
}

export function hashReceipt(receipt: Receipt, chainId: number, vault: Address): Hex {
  return hashTypedData({ domain: receiptDomain(chainId, vault), types: RECEIPT_TYPES, primaryType: "Receipt", message: receipt });
}

/** The vault's key of a voucher lane: keccak256(abi.encode(payer, operator, modelId, lane)). */
export function voucherTabKey(payer: Address, operator: Address, modelId: bigint, lane: number): Hex {
  return keccak256(
    encodeAbiParameters([{ type: "address" }, { type: "address" }, { type: "uint256" }, { type: "uint32" }], [payer, operator, modelId, lane]),
  );
}

export function receiptToJson(receipt: Receipt, operator: Address, signature: Hex): SignedReceiptJson {
  return {
    receipt: {
      ...receipt,
      modelId: receipt.modelId.toString(),
      cumulativeAmount: receipt.cumulativeAmount.toString(),
      callIndex: receipt.callIndex.toString(),
    },
    operator,
    signature,
  };
}

export function receiptFromJson(json: SignedReceiptJson): { receipt: Receipt; operator: Address; signature: Hex } {
  const r = json.receipt;
  return {
    receipt: { ...r, modelId: BigInt(r.modelId), cumulativeAmount: BigInt(r.cumulativeAmount), callIndex: BigInt(r.callIndex) },
    operator: json.operator,
    signature: json.signature,
  };
}

/** What a payer expects a receipt to say; every field given is compared. */
export type ReceiptExpectation = Partial<Receipt> & { operator?: Address };

export type ReceiptCheck = { ok: true; signer: Address } | { ok: false; reason: string };

/**
 * Checks a signed receipt offline: the signature must recover to the operator it names (and to `expected.operator`
 * when given), and every expected field must match.
 */
export async function verifyReceipt(
  signed: SignedReceiptJson,
  context: { chainId: number; vault: Address },
  expected: ReceiptExpectation = {},
): Promise<ReceiptCheck> {
  let parsed: ReturnType<typeof receiptFromJson>;
  try {
    parsed = receiptFromJson(signed);
  } catch {
    return { ok: false, reason: "the receipt is malformed" };
  }
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({
      domain: receiptDomain(context.chainId, context.vault),
      types: RECEIPT_TYPES,
      primaryType: "Receipt",
      message: parsed.receipt,
      signature: parsed.signature,
    });
  } catch {
    return { ok: false, reason: "the receipt's signature is malformed" };
  }
  if (!isAddressEqual(signer, parsed.operator)) return { ok: false, reason: `signed by ${signer}, not by the operator ${parsed.operator} it names` };
  const { operator, ...fields } = expected;
  if (operator && !isAddressEqual(operator, signer)) return { ok: false, reason: `signed by ${signer}, expected operator ${operator}` };
  for (const [key, want] of Object.entries(fields) as [keyof Receipt, Receipt[keyof Receipt]][]) {
    const got = parsed.receipt[key];
    const same = typeof want === "string" && typeof got === "string" ? want.toLowerCase() === got.toLowerCase() : want === got;
    if (!same) return { ok: false, reason: `${key} is ${String(got)}, expected ${String(want)}` };
  }
  return { ok: true, signer };
}
