// SQLite keeps BigInt and BigDecimal as text whose byte order is numeric order: checked on seeded random values of
// every sign and magnitude, against exact rational comparison, with exact round trips.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bigIntFromSortable, decodeSortable, encodeSortable, sortableBigInt, sortableDecimal } from "../../../subgraph/host/store/sql/sortable.ts";
import { formatDecimal, parseDecimal } from "../../../subgraph/host/store/values.ts";

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Exact comparison of two decimal strings, through BigInt at a common scale. */
function compare(a: string, b: string): number {
  const [x, y] = [parseDecimal(a)!, parseDecimal(b)!];
  const scale = Math.max(-x.exp, -y.exp, 0);
  const scaled = (d: typeof x) => (d.sign === 0 ? 0n : BigInt((d.sign < 0 ? "-" : "") + d.digits) * 10n ** BigInt(d.exp + scale));
  const [p, q] = [scaled(x), scaled(y)];
  return p < q ? -1 : p > q ? 1 : 0;
}

const bytewise = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe("sortable decimal encoding (SQLite BigInt/BigDecimal columns)", () => {
  it("orders random BigInts of every sign and size exactly, and round-trips them", () => {
    const next = random(7);
    const values: bigint[] = [0n, 1n, -1n, 10n, -10n, 2n ** 255n, -(2n ** 255n), 999n, 1000n, -999n, -1000n];
    for (let i = 0; i < 2000; i++) {
      const digits = 1 + Math.floor(next() * 80);
      let text = String(1 + Math.floor(next() * 9));
      for (let d = 1; d < digits; d++) text += Math.floor(next() * 10);
      values.push(BigInt(text) * (next() < 0.5 ? -1n : 1n));
    }
    for (const v of values) assert.equal(bigIntFromSortable(sortableBigInt(v)), v);
    const byEncoding = [...values].sort((a, b) => bytewise(sortableBigInt(a), sortableBigInt(b)));
    const numeric = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    assert.deepEqual(byEncoding, numeric);
  });

  it("orders random BigDecimals (including prefixes like 1.5 / 1.51 and negative ones) exactly, and round-trips them", () => {
    const next = random(11);
    const values = ["0", "1.5", "1.51", "-1.5", "-1.51", "0.001", "-0.001", "100", "1e2", "12.5", "-12.5", "0.1", "0.01", "-0.01"];
    for (let i = 0; i < 2000; i++) {
      let digits = "";
      const n = 1 + Math.floor(next() * 30);
      for (let d = 0; d < n; d++) digits += Math.floor(next() * 10);
      const exp = Math.floor(next() * 60) - 30;
      values.push(`${next() < 0.5 ? "-" : ""}${digits}e${exp}`);
    }
    for (const v of values) assert.equal(compare(formatDecimal(decodeSortable(sortableDecimal(v))), v), 0, v);
    const byEncoding = [...values].sort((a, b) => bytewise(sortableDecimal(a), sortableDecimal(b)));
    for (let i = 1; i < byEncoding.length; i++) {
      assert.ok(compare(byEncoding[i - 1]!, byEncoding[i]!) <= 0, `${byEncoding[i - 1]} sorts before ${byEncoding[i]}`);
    }
    // Equal values encode identically, whatever their notation.
    assert.equal(sortableDecimal("1.50"), sortableDecimal("15e-1"));
    assert.equal(sortableDecimal("-0"), sortableDecimal("0.000"));
  });

  it("refuses what it cannot encode", () => {
    assert.throws(() => sortableDecimal("abc"), /not a decimal/);
    assert.throws(() => encodeSortable({ sign: 1, digits: "1", exp: 600_000 }), /out of range/);
    assert.throws(() => decodeSortable("x"), /corrupt sortable decimal/);
  });
});
