// BigDecimal arithmetic with graph-node's exact results. graph-node wraps the Rust crate `bigdecimal` pinned at
// 0.1.2 (later versions round differently and would change proofs of indexing) and normalises every result to 34
// significant digits with trailing zeros stripped. The helpers below follow that crate's algorithms, including its
// quirks (negative values are truncated, not rounded, when digits are cut), so the same mapping gives the same
// numbers here as on graph-node.
import { DeterministicError } from "./errors.ts";

/** value = digits × 10^exp, as graph-ts stores it. */
export interface BigDecimalValue {
  digits: bigint;
  exp: bigint;
}

export const MAX_SIGNIFICANT_DIGITS = 34n;
export const MIN_EXP = -6143n;
export const MAX_EXP = 6144n;
/** Digits kept by the crate's division before graph-node normalises. */
const DIVISION_PRECISION = 100;
// The crate's own (slightly low) value of log2(10), which decides its digit-count estimates.
const LOG2_10 = 3.3219280949;

const TEN = 10n;
const powCache: bigint[] = [1n];
function pow10(n: number): bigint {
  if (n < 256) {
    for (let i = powCache.length; i <= n; i++) powCache[i] = powCache[i - 1]! * TEN;
    return powCache[n]!;
  }
  return TEN ** BigInt(n);
}

function bits(value: bigint): number {
  if (value < 0n) value = -value;
  if (value === 0n) return 0;
  const hex = value.toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0]!, 16)));
}

/** The crate's `count_decimal_digits`: an estimate from the bit length, corrected upwards for non-negative values. */
function countDecimalDigits(value: bigint): number {
  if (value === 0n) return 1;
  let digits = Math.floor(bits(value) / LOG2_10);
  let limit = pow10(digits);
  while (value >= limit) {
    limit *= TEN;
    digits += 1;
  }
  return digits;
}

/** The crate's `get_rounding_term`: 1 when the leading digit of a positive remainder is 5 or more. */
function roundingTerm(remainder: bigint): bigint {
  if (remainder === 0n) return 0n;
  let limit = pow10(Math.floor(bits(remainder) / LOG2_10));
  for (;;) {
    if (remainder < limit) return 1n;
    limit *= 5n;
    if (remainder < limit) return 0n;
    limit *= 2n;
  }
}

/** Internal form of the crate: value = int × 10^-scale. */
interface Scaled {
  int: bigint;
  scale: bigint;
}

function withPrecision({ int, scale }: Scaled, precision: bigint): Scaled {
  const digits = BigInt(countDecimalDigits(int));
  if (digits > precision) {
    const diff = digits - precision;
    const p = pow10(Number(diff));
    let q = int / p;
    const r = int % p;
    if (p < TEN * r) q += roundingTerm(r);
    return { int: q, scale: scale - diff };
  }
  if (digits < precision) {
    const diff = precision - digits;
    return { int: int * pow10(Number(diff)), scale: scale + diff };
  }
  return { int, scale };
}

/** graph-node's `BigDecimal::normalized`: 34 significant digits, trailing zeros stripped, zero as 0 × 10^0. */
function normalize(value: Scaled): BigDecimalValue {
  if (value.int === 0n) return { digits: 0n, exp: 0n };
  let { int, scale } = withPrecision(value, MAX_SIGNIFICANT_DIGITS);
  while (int % TEN === 0n) {
    int /= TEN;
    scale -= 1n;
  }
  return { digits: int, exp: -scale };
}

function scaled(value: BigDecimalValue): Scaled {
  return { int: value.digits, scale: -value.exp };
}

/** graph-node's `BigDecimal::new(digits, exp)`, which every value from a mapping goes through. */
export function bigDecimal(digits: bigint, exp: bigint): BigDecimalValue {
  return normalize({ int: digits, scale: -exp });
}

/** Rejects exponents graph-node refuses on values coming from a mapping (IEEE-754 decimal128's range). */
export function checkExponent(value: BigDecimalValue): BigDecimalValue {
  if (value.exp < MIN_EXP || value.exp > MAX_EXP) {
    throw new DeterministicError(`big decimal exponent \`${value.exp}\` is outside the \`${MIN_EXP}\` to \`${MAX_EXP}\` range`);
  }
  return value;
}

function align(a: Scaled, b: Scaled): [bigint, bigint, bigint] {
  if (a.scale === b.scale) return [a.int, b.int, a.scale];
  if (a.scale < b.scale) return [a.int * pow10(Number(b.scale - a.scale)), b.int, b.scale];
  return [a.int, b.int * pow10(Number(a.scale - b.scale)), a.scale];
}

export function plus(a: BigDecimalValue, b: BigDecimalValue): BigDecimalValue {
  const [x, y, scale] = align(scaled(a), scaled(b));
  return normalize({ int: x + y, scale });
}

export function minus(a: BigDecimalValue, b: BigDecimalValue): BigDecimalValue {
  const [x, y, scale] = align(scaled(a), scaled(b));
  return normalize({ int: x - y, scale });
}

export function times(a: BigDecimalValue, b: BigDecimalValue): BigDecimalValue {
  return normalize({ int: a.digits * b.digits, scale: -(a.exp + b.exp) });
}

export function equals(a: BigDecimalValue, b: BigDecimalValue): boolean {
  const [x, y] = align(scaled(a), scaled(b));
  return x === y;
}

export function isZero(a: BigDecimalValue): boolean {
  return a.digits === 0n;
}

/** The crate's `impl_division`: long division to 100 digits, the last one rounded on the next digit. */
function divide(num: bigint, den: bigint, scale: bigint): Scaled {
  if (num === 0n) return { int: 0n, scale: 0n };
  if (num < 0n && den < 0n) return divide(-num, -den, scale);
  if (num < 0n) return negate(divide(-num, den, scale));
  if (den < 0n) return negate(divide(num, -den, scale));
  while (num < den) {
    scale += 1n;
    num *= TEN;
  }
  let quotient = num / den;
  let remainder = num % den;
  if (remainder === 0n) return { int: quotient, scale };
  let precision = countDecimalDigits(quotient);
  remainder *= TEN;
  while (remainder !== 0n && precision < DIVISION_PRECISION) {
    quotient = quotient * TEN + remainder / den;
    remainder = (remainder % den) * TEN;
    precision += 1;
    scale += 1n;
  }
  if (remainder !== 0n) quotient += roundingTerm(remainder / den);
  return { int: quotient, scale };
}

function negate(value: Scaled): Scaled {
  return { int: -value.int, scale: value.scale };
}

export function dividedBy(a: BigDecimalValue, b: BigDecimalValue): BigDecimalValue {
  if (isZero(b)) throw new DeterministicError(`attempted to divide BigDecimal \`${toString(a)}\` by zero`);
  if (isZero(a) || (b.digits === 1n && b.exp === 0n)) return normalize(scaled(a));
  const scale = -a.exp + b.exp;
  if (a.digits === b.digits) return normalize({ int: 1n, scale });
  return normalize(divide(a.digits, b.digits, scale));
}

/** The crate's `Display`: plain positional notation, never an exponent. */
export function toString(value: BigDecimalValue): string {
  const { int, scale } = scaled(value);
  const digits = (int < 0n ? -int : int).toString();
  let text: string;
  if (scale >= BigInt(digits.length)) {
    text = `0.${"0".repeat(Number(scale) - digits.length)}${digits}`;
  } else if (scale <= 0n) {
    text = digits + "0".repeat(Number(-scale));
  } else {
    const point = digits.length - Number(scale);
    text = `${digits.slice(0, point)}.${digits.slice(point)}`;
  }
  return int < 0n ? `-${text}` : text;
}

/**
 * The crate's `from_str`: `[sign]digits[.digits][(e|E)[sign]digits]`, where either side of the point may be empty
 * but not both. Returns null when the text is not a decimal.
 */
export function fromString(text: string): BigDecimalValue | null {
  const e = text.search(/[eE]/);
  let base = text;
  let exponent = 0n;
  if (e >= 0) {
    base = text.slice(0, e);
    let expText = text.slice(e + 1);
    if (expText.startsWith("+")) expText = expText.slice(1);
    if (!/^-?[0-9]+$/.test(expText)) return null;
    exponent = BigInt(expText);
    if (exponent > 2n ** 63n - 1n || exponent < -(2n ** 63n)) return null;
  }
  if (base === "") return null;
  const point = base.indexOf(".");
  const digits = point < 0 ? base : base.slice(0, point) + base.slice(point + 1);
  const fraction = point < 0 ? 0 : base.length - point - 1;
  if (!/^[+-]?[0-9][0-9_]*$/.test(digits)) return null;
  const negative = digits.startsWith("-");
  const magnitude = BigInt(digits.replace(/^[+-]/, "").replaceAll("_", ""));
  return normalize({ int: negative ? -magnitude : magnitude, scale: BigInt(fraction) - exponent });
}

/** `bigInt.dividedByDecimal`: the integer as a decimal, divided. */
export function fromBigInt(value: bigint): BigDecimalValue {
  return normalize({ int: value, scale: 0n });
}
