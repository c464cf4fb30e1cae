// EIP-712 digest of a voucher, specialised for the one type the gateway verifies on every paid call (see eip712.ts).
import type { Address } from "viem";
import { VOUCHER_DOMAIN_NAME, VOUCHER_DOMAIN_VERSION, type Voucher } from "../../sdk/vouchers.ts";
import { createDigester, typeHash, writeAddress, writeUint } from "./eip712.ts";

export { toHexDigest } from "./eip712.ts";

const VOUCHER_TYPEHASH = typeHash(
  "Voucher(address payer,address operator,uint256 modelId,uint32 lane,uint256 cumulativeAmount,uint64 cumulativeCalls,uint64 expiry)",
);

export type VoucherHasher = (voucher: Voucher) => Uint8Array;

/** A hasher bound to one vault on one chain: the domain separator is computed here, once. */
export function createVoucherHasher(chainId: number, vault: Address): VoucherHasher {
  const digest = createDigester({ name: VOUCHER_DOMAIN_NAME, version: VOUCHER_DOMAIN_VERSION, chainId, verifyingContract: vault });
  return (voucher) => {
    const struct = new Uint8Array(256);
    struct.set(VOUCHER_TYPEHASH, 0);
    writeAddress(struct, 32, voucher.payer);
    writeAddress(struct, 64, voucher.operator);
    writeUint(struct, 96, voucher.modelId);
    writeUint(struct, 128, BigInt(voucher.lane), 32);
    writeUint(struct, 160, voucher.cumulativeAmount);
    writeUint(struct, 192, voucher.cumulativeCalls, 64);
    writeUint(struct, 224, voucher.expiry, 64);
    return digest(struct);
  };
}
