// The SDK's x402 client side, in one import: the paying fetch, the voucher scheme's client for @x402/core, lane
// stores, session keys, and the errors they throw.
export { createPayingFetch, type InferResult, type PaidCall, type PayingFetch, type PayingFetchOptions } from "./paying-fetch.ts";
export { VoucherSchemeClient, voucherReceiptExpectation, type SentVoucher, type VoucherSchemeClientOptions } from "./voucher-client.ts";
export { JsonFileLaneStore, MemoryLaneStore, type LaneScope, type LaneStore } from "./lane-store.ts";
export { revokeSessionSigner, sessionOf, setSessionSigner, type SessionKey, type VaultWriter } from "./session-keys.ts";
export { fetchModelInfo, ModelInfoError, type GatewayModelInfo } from "./model-info.ts";
export { GatewayError, GatewayUnreachableError, PriceTooHighError, ReceiptError, VoucherResyncError, VoucherStateError } from "./errors.ts";
export { VOUCHER_SCHEME, OUT_OF_SYNC, type LaneState, type VoucherJson, type VoucherPayload } from "./voucher-scheme.ts";
