// graph-ts BigInt values cross the host boundary as signed two's-complement little-endian bytes (a Uint8Array).
// graph-node writes the minimal encoding (zero is one 0x00 byte) and accepts any length on the way in.
import { DeterministicError } from "./errors.ts";

/** graph-node's limit on a BigInt: 131,072 decimal digits, in bits, counting the sign bit. */
export const MAX_BIGINT_BITS = 435_412;

const TWO_POW_48 = 2 ** 48;

/** Reads signed little-endian bytes; any length, including empty (zero) and non-minimal encodings. */
export function bigintFromSignedLE(bytes: Uint8Array): bigint {
  const length = bytes.length;
  if (length === 0) return 0n;
  const negative = (bytes[length - 1]! & 0x80) !== 0;
  if (length <= 6) {
    let value = 0;
    for (let i = length - 1; i >= 0; i--) value = value * 256 + bytes[i]!;
    return BigInt(negative ? value - 2 ** (8 * length) : value);
  }
  const value = BigInt(`0x${Buffer.from(bytes).reverse().toString("hex")}`);
  return negative ? value - (1n << BigInt(8 * length)) : value;
}

/** Writes the minimal signed little-endian encoding, as num-bigint's `to_signed_bytes_le` does. */
export function bigintToSignedLE(value: bigint): Uint8Array {
  if (value > -TWO_POW_48 && value < TWO_POW_48) return smallToSignedLE(Number(value));
  const negative = value < 0n;
  // A negative number's bytes are the complement of |value| - 1's bytes.
  const magnitude = negative ? -value - 1n : value;
  let hex = magnitude.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  const bigEndian = Buffer.from(hex, "hex");
  const needsSignByte = (bigEndian[0]! & 0x80) !== 0;
  const out = new Uint8Array(bigEndian.length + (needsSignByte ? 1 : 0));
  for (let i = 0, j = bigEndian.length - 1; j >= 0; i++, j--) out[i] = bigEndian[j]!;
  if (negative) for (let i = 0; i < out.length; i++) out[i] = ~out[i]! & 0xff;
  return out;
}

function smallToSignedLE(value: number): Uint8Array {
  if (value === 0) return new Uint8Array([0]);
  const negative = value < 0;
  let rest = negative ? -value - 1 : value;
  const bytes: number[] = [];
  while (rest > 0) {
    bytes.push(rest % 256);
    rest = Math.floor(rest / 256);
  }
  if (bytes.length === 0 || bytes[bytes.length - 1]! & 0x80) bytes.push(0);
  const out = new Uint8Array(bytes);
  if (negative) for (let i = 0; i < out.length; i++) out[i] = ~out[i]! & 0xff;
  return out;
}

/** Number of bits of |value| (num-bigint's `bits()`); 0 for zero. */
export function bitLength(value: bigint): number {
  if (value < 0n) value = -value;
  if (value === 0n) return 0;
  const hex = value.toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0]!, 16)));
}

// Below 2^400000 in magnitude nothing needs counting; built once, since the bound itself is a 50 KB number.
const SURELY_SMALL = 1n << 400_000n;
const SURELY_SMALL_NEGATIVE = -SURELY_SMALL;

/** graph-node refuses BigInts above `MAX_BIGINT_BITS` (the sign bit included). */
export function checkBigIntSize(value: bigint): bigint {
  if (value < SURELY_SMALL && value > SURELY_SMALL_NEGATIVE) return value;
  const bits = bitLength(value) + 1;
  if (bits > MAX_BIGINT_BITS) throw new DeterministicError(`BigInt is too big, total bits ${bits} (max ${MAX_BIGINT_BITS})`);
  return value;
}

/**
 * Parses a decimal integer the way num-bigint does for graph-node's `BigInt::from_str`: an optional sign, then
 * digits, with `_` separators allowed after the first digit. Returns null for anything else.
 */
export function parseDecimalBigInt(text: string): bigint | null {
  if (!/^[+-]?[0-9][0-9_]*$/.test(text)) return null;
  const negative = text.startsWith("-");
  const digits = text.replace(/^[+-]/, "").replaceAll("_", "");
  const magnitude = BigInt(digits);
  return negative ? -magnitude : magnitude;
}
