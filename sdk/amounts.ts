// Stablecoin amounts are typed by people as decimals ("0.002") and handled on-chain as base units (2000n).
import { formatUnits, parseUnits } from "viem";

const DECIMAL = /^(0|[1-9]\d*)(\.\d+)?$/;

/** Parses a non-negative decimal string into base units; rejects more fractional digits than the token has. */
export function parseAmount(text: string, decimals: number, what = "amount"): bigint {
  const value = text.trim();
  if (!DECIMAL.test(value)) throw new Error(`${what} must be a non-negative decimal number like 0.002, got "${text}"`);
  const fraction = value.split(".")[1] ?? "";
  if (fraction.length > decimals) {
    throw new Error(`${what} "${text}" has ${fraction.length} decimals; the stablecoin has only ${decimals}`);
  }
  return parseUnits(value, decimals);
}

export function formatAmount(units: bigint, decimals: number): string {
  return formatUnits(units, decimals);
}
