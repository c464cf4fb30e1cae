// The EIP-712 voucher: one running tab per (payer, operator, model, lane), carrying cumulative amount and calls.
// Lanes let a payer keep several calls in flight with one operator: each lane advances one answered call at a time.
import { hashTypedData, type Address, type Hex, type LocalAccount, type TypedDataDomain } from "viem";

export const VOUCHER_DOMAIN_NAME = "Modelshare Vault";
export const VOUCHER_DOMAIN_VERSION = "1";

export const VOUCHER_TYPES = {
  Voucher: [
    { name: "payer", type: "address" },
    { name: "operator", type: "address" },
    { name: "modelId", type: "uint256" },
    { name: "lane", type: "uint32" },
    { name: "cumulativeAmount", type: "uint256" },
    { name: "cumulativeCalls", type: "uint64" },
    { name: "expiry", type: "uint64" },
  ],
} as const;

export interface Voucher {
  payer: Address;
  operator: Address;
  modelId: bigint;
  /** Which of the payer's parallel tabs with this operator and model (0 … 2^32 − 1). */
  lane: number;
  cumulativeAmount: bigint;
  cumulativeCalls: bigint;
  /** Unix seconds after which the voucher can no longer be settled; 0 for none. */
  expiry: bigint;
}

export interface SignedVoucher {
  voucher: Voucher;
  signature: Hex;
}

export function voucherDomain(chainId: number, vault: Address): TypedDataDomain {
  return { name: VOUCHER_DOMAIN_NAME, version: VOUCHER_DOMAIN_VERSION, chainId, verifyingContract: vault };
}

export function hashVoucher(voucher: Voucher, chainId: number, vault: Address): Hex {
  return hashTypedData({ domain: voucherDomain(chainId, vault), types: VOUCHER_TYPES, primaryType: "Voucher", message: voucher });
}

/** Signs with the payer's key or with a session key the payer registered on the vault. */
export async function signVoucher(signer: LocalAccount, voucher: Voucher, chainId: number, vault: Address): Promise<SignedVoucher> {
  const signature = await signer.signTypedData({
    domain: voucherDomain(chainId, vault),
    types: VOUCHER_TYPES,
    primaryType: "Voucher",
    message: voucher,
  });
  return { voucher, signature };
}
