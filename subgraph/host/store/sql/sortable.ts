// A text encoding of exact decimals (BigInt and BigDecimal) whose byte order is numeric order, for SQLite, which has
// no arbitrary-precision numeric type. Equal values encode identically, so `=`, `<`, `IN`, ORDER BY and indexes all
// work on the text column, and the exact value decodes back.
//
//   zero      "1"
//   positive  "2" + (adjusted exponent + 500000, 6 digits) + significant digits
//   negative  "0" + (499999 - adjusted exponent, 6 digits) + 9's complement of the digits + "~"
//
// where value = 0.d1d2…dn × 10^adjusted with d1 ≠ 0 and dn ≠ 0. The "~" (above every digit) makes a negative whose
// complemented digits are a prefix of another's sort after it, as its magnitude is smaller.
import { decimalFromBigInt, parseDecimal, type Decimal } from "../values.ts";

const BIAS = 500_000;

export function encodeSortable(d: Decimal): string {
  if (d.sign === 0) return "1";
  const adjusted = d.digits.length + d.exp;
  if (adjusted <= -BIAS || adjusted >= BIAS) throw new RangeError(`decimal exponent ${adjusted} is out of range`);
  if (d.sign > 0) return "2" + String(adjusted + BIAS).padStart(6, "0") + d.digits;
  return "0" + String(BIAS - 1 - adjusted).padStart(6, "0") + complement(d.digits) + "~";
}

export function decodeSortable(text: string): Decimal {
  const head = text[0];
  if (head === "1") return { sign: 0, digits: "", exp: 0 };
  if (head === "2") {
    const adjusted = Number(text.slice(1, 7)) - BIAS;
    const digits = text.slice(7);
    return { sign: 1, digits, exp: adjusted - digits.length };
  }
  if (head === "0" && text.endsWith("~")) {
    const adjusted = BIAS - 1 - Number(text.slice(1, 7));
    const digits = complement(text.slice(7, -1));
    return { sign: -1, digits, exp: adjusted - digits.length };
  }
  throw new Error(`corrupt sortable decimal ${JSON.stringify(text)}`);
}

export function sortableBigInt(n: bigint): string {
  return encodeSortable(decimalFromBigInt(n));
}

export function sortableDecimal(text: string): string {
  const d = parseDecimal(text);
  if (!d) throw new Error(`not a decimal: ${JSON.stringify(text)}`);
  return encodeSortable(d);
}

export function bigIntFromSortable(text: string): bigint {
  const d = decodeSortable(text);
  if (d.sign === 0) return 0n;
  return BigInt((d.sign < 0 ? "-" : "") + d.digits + "0".repeat(d.exp));
}

function complement(digits: string): string {
  let out = "";
  for (let i = 0; i < digits.length; i++) out += String.fromCharCode(105 - digits.charCodeAt(i)); // '9' + '0' - c
  return out;
}
