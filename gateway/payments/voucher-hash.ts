// EIP-712 digest of a voucher, specialised for the one type the gateway verifies on every paid call. viem's
// generic hashTypedData re-derives the type and domain on each call (~77 µs); here the domain separator and type
// hash are computed once and a voucher costs one 256-byte encoding and two keccak256 hashes.
import { keccak256, toBytes, hexToBytes, type Address, type Hex } from "viem";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { VOUCHER_DOMAIN_NAME, VOUCHER_DOMAIN_VERSION, type Voucher } from "../../sdk/vouchers.ts";

const DOMAIN_TYPEHASH = toBytes(keccak256(toBytes("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")));
const VOUCHER_TYPEHASH = toBytes(
  keccak256(toBytes("Voucher(address payer,address operator,uint256 modelId,uint32 lane,uint256 cumulativeAmount,uint64 cumulativeCalls,uint64 expiry)")),
);

function writeUint(out: Uint8Array, offset: number, value: bigint, bits = 256): void {
  if (value < 0n || value >= 1n << BigInt(bits)) throw new RangeError(`value out of uint${bits} range: ${value}`);
  for (let i = 31; i >= 0 && value > 0n; i--) {
    out[offset + i] = Number(value & 0xffn);
    value >>= 8n;
  }
}

function writeAddress(out: Uint8Array, offset: number, address: Address): void {
  out.set(hexToBytes(address), offset + 12);
}

export type VoucherHasher = (voucher: Voucher) => Uint8Array;

/** A hasher bound to one vault on one chain: the domain separator is computed here, once. */
export function createVoucherHasher(chainId: number, vault: Address): VoucherHasher {
  const domain = new Uint8Array(160);
  domain.set(DOMAIN_TYPEHASH, 0);
  domain.set(keccak_256(toBytes(VOUCHER_DOMAIN_NAME)), 32);
  domain.set(keccak_256(toBytes(VOUCHER_DOMAIN_VERSION)), 64);
  writeUint(domain, 96, BigInt(chainId));
  writeAddress(domain, 128, vault);
  const prefix = new Uint8Array(66);
  prefix.set([0x19, 0x01], 0);
  prefix.set(keccak_256(domain), 2);

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
    const message = prefix.slice();
    message.set(keccak_256(struct), 34);
    return keccak_256(message);
  };
}

export function toHexDigest(digest: Uint8Array): Hex {
  return `0x${Buffer.from(digest).toString("hex")}`;
}
