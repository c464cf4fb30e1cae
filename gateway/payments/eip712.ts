// Minimal EIP-712 encoding for the few fixed types the gateway hashes on every call (vouchers in, receipts out).
// viem's generic hashTypedData re-derives types and domain on each call (~77 µs); with the domain separator and type
// hash computed once, a digest costs one encoding and two keccak256 hashes.
import { hexToBytes, toBytes, type Address, type Hex } from "viem";
import { keccak256 as keccak_256 } from "./keccak.ts";

const DOMAIN_TYPEHASH = keccak_256(toBytes("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"));

/** Writes `value` as a big-endian uint of `bits` into the 32-byte word at `offset`; refuses values out of range. */
export function writeUint(out: Uint8Array, offset: number, value: bigint, bits = 256): void {
  if (value < 0n || value >= 1n << BigInt(bits)) throw new RangeError(`value out of uint${bits} range: ${value}`);
  for (let i = 31; i >= 0 && value > 0n; i--) {
    out[offset + i] = Number(value & 0xffn);
    value >>= 8n;
  }
}

export function writeAddress(out: Uint8Array, offset: number, address: Address): void {
  const bytes = hexToBytes(address);
  if (bytes.length !== 20) throw new RangeError(`not a 20-byte address: ${address}`);
  out.set(bytes, offset + 12);
}

export function writeBytes32(out: Uint8Array, offset: number, value: Hex): void {
  const bytes = hexToBytes(value);
  if (bytes.length !== 32) throw new RangeError(`not 32 bytes: ${value}`);
  out.set(bytes, offset);
}

export function typeHash(signature: string): Uint8Array {
  return keccak_256(toBytes(signature));
}

/**
 * Returns `digest(structEncoding)`: the EIP-712 digest of a struct whose encoding (type hash first) the caller
 * writes, for one domain fixed here.
 */
export function createDigester(domain: { name: string; version: string; chainId: number; verifyingContract: Address }) {
  const encoded = new Uint8Array(160);
  encoded.set(DOMAIN_TYPEHASH, 0);
  encoded.set(keccak_256(toBytes(domain.name)), 32);
  encoded.set(keccak_256(toBytes(domain.version)), 64);
  writeUint(encoded, 96, BigInt(domain.chainId));
  writeAddress(encoded, 128, domain.verifyingContract);
  const prefix = new Uint8Array(66);
  prefix.set([0x19, 0x01], 0);
  prefix.set(keccak_256(encoded), 2);
  return (struct: Uint8Array): Uint8Array => {
    const message = prefix.slice();
    message.set(keccak_256(struct), 34);
    return keccak_256(message);
  };
}

export function toHexDigest(digest: Uint8Array): Hex {
  return `0x${Buffer.from(digest).toString("hex")}`;
}
