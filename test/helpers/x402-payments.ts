// What a paying client puts on the wire, built by hand so tests can send exactly the payment they mean, valid or
// broken: x402 headers (base64 JSON), voucher-scheme payloads signed with sdk/vouchers.ts, and x402 `exact` payloads
// (EIP-3009 TransferWithAuthorization) signed the way any x402 client signs them.
import type { Address, Hex, LocalAccount } from "viem";
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from "../../sdk/typed-data.ts";
import { signVoucher, type Voucher } from "../../sdk/vouchers.ts";
import { voucherToJson, VOUCHER_SCHEME } from "../../sdk/x402/voucher-scheme.ts";

/** One entry of a 402's `accepts` (or of GET /v1/models/:id's). */
export interface Requirement {
  scheme: string;
  network: string;
  asset: Address;
  amount: string;
  payTo: Address;
  maxTimeoutSeconds: number;
  extra: Record<string, unknown>;
}

export function encodeHeader(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64");
}

export function decodeHeader<T = Record<string, unknown>>(value: string | null | undefined): T {
  if (!value) throw new Error("no header to decode");
  return JSON.parse(Buffer.from(value, "base64").toString("utf8")) as T;
}

/** The `exact` and voucher entries of an accepts list. */
export function pickAccepts(accepts: readonly Requirement[]): { exact: Requirement; voucher: Requirement } {
  const exact = accepts.find((a) => a.scheme === "exact");
  const voucher = accepts.find((a) => a.scheme === VOUCHER_SCHEME);
  if (!exact || !voucher) throw new Error(`accepts lacks exact or ${VOUCHER_SCHEME}: ${JSON.stringify(accepts)}`);
  return { exact, voucher };
}

/** A PAYMENT-SIGNATURE value for a signed voucher, as the voucher scheme's client writes it. */
export function voucherHeader(accepted: Requirement, voucher: Voucher, signature: Hex): string {
  return encodeHeader({ x402Version: 2, accepted, payload: { voucher: voucherToJson(voucher), signature } });
}

export interface VoucherDomain {
  chainId: number;
  vault: Address;
}

/** Signs `voucher` with `signer` (the payer or a session key) and wraps it in a PAYMENT-SIGNATURE value. */
export async function signedVoucherHeader(signer: LocalAccount, voucher: Voucher, domain: VoucherDomain, accepted: Requirement) {
  const { signature } = await signVoucher(signer, voucher, domain.chainId, domain.vault);
  return { header: voucherHeader(accepted, voucher, signature), signature };
}

export interface Authorization {
  from: Address;
  to: Address;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  nonce: Hex;
}

export interface StablecoinDomain {
  chainId: number;
  address: Address;
  /** The stablecoin's EIP-712 name and version (the `exact` requirement's `extra`). */
  name: string;
  version: string;
}

export function signAuthorization(signer: LocalAccount, auth: Authorization, domain: StablecoinDomain): Promise<Hex> {
  return signer.signTypedData({
    domain: { name: domain.name, version: domain.version, chainId: domain.chainId, verifyingContract: domain.address },
    types: TRANSFER_WITH_AUTHORIZATION_TYPES,
    primaryType: "TransferWithAuthorization",
    message: auth,
  });
}

/** The authorization as x402 writes it: integers as decimal strings. */
export function authorizationJson(auth: Authorization) {
  return {
    from: auth.from,
    to: auth.to,
    value: auth.value.toString(),
    validAfter: auth.validAfter.toString(),
    validBefore: auth.validBefore.toString(),
    nonce: auth.nonce,
  };
}

/** A version 2 PAYMENT-SIGNATURE value paying with `exact`. */
export function exactHeader(accepted: Requirement, auth: Authorization, signature: Hex): string {
  return encodeHeader({ x402Version: 2, accepted, payload: { signature, authorization: authorizationJson(auth) } });
}

/** A version 1 X-PAYMENT value paying with `exact` on the v1-named `network`. */
export function exactHeaderV1(network: string, auth: Authorization, signature: Hex): string {
  return encodeHeader({ x402Version: 1, scheme: "exact", network, payload: { signature, authorization: authorizationJson(auth) } });
}

/** An `exact` authorization of `value` to `to`, valid from a minute ago for `seconds`, with a random nonce. */
export function authorization(from: Address, to: Address, value: bigint, nowSeconds: bigint, seconds = 600n): Authorization {
  const nonce = `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex")}` as Hex;
  return { from, to, value, validAfter: nowSeconds - 60n, validBefore: nowSeconds + seconds, nonce };
}
