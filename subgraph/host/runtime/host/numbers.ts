// bigInt.* and bigDecimal.*: arbitrary-precision arithmetic with graph-node's results. JS bigint's `/` and `%`
// truncate towards zero like num-bigint's, and `>>` rounds towards negative infinity like num-bigint's shift.
import * as decimal from "../bigdecimal.ts";
import { checkBigIntSize, parseDecimalBigInt } from "../bigint.ts";
import { DeterministicError } from "../errors.ts";
import type { TriggerContext } from "../context.ts";
import type { HostFunctions } from "./types.ts";

function binary(op: (x: bigint, y: bigint) => bigint) {
  return (ctx: TriggerContext, x: number, y: number): number => {
    const m = ctx.marshal;
    return m.writeBigInt(op(m.bigInt(x), m.bigInt(y)));
  };
}

function decimalBinary(op: (x: decimal.BigDecimalValue, y: decimal.BigDecimalValue) => decimal.BigDecimalValue) {
  return (ctx: TriggerContext, x: number, y: number): number => {
    const m = ctx.marshal;
    return m.writeBigDecimal(op(m.bigDecimal(x), m.bigDecimal(y)));
  };
}

export const numberFunctions: HostFunctions = {
  "bigInt.plus": binary((x, y) => x + y),
  "bigInt.minus": binary((x, y) => x - y),
  "bigInt.times": binary((x, y) => x * y),
  "bigInt.dividedBy": binary((x, y) => {
    if (y === 0n) throw new DeterministicError(`attempted to divide BigInt \`${x}\` by zero`);
    return x / y;
  }),
  "bigInt.mod": binary((x, y) => {
    if (y === 0n) throw new DeterministicError(`attempted to calculate the remainder of \`${x}\` with a divisor of zero`);
    return x % y;
  }),
  "bigInt.bitOr": binary((x, y) => x | y),
  "bigInt.bitAnd": binary((x, y) => x & y),

  "bigInt.pow"(ctx, x, exponent) {
    const m = ctx.marshal;
    return m.writeBigInt(checkBigIntSize(m.bigInt(x) ** BigInt(exponent & 0xff)));
  },
  "bigInt.leftShift"(ctx, x, bits) {
    const m = ctx.marshal;
    return m.writeBigInt(m.bigInt(x) << BigInt(bits & 0xff));
  },
  "bigInt.rightShift"(ctx, x, bits) {
    const m = ctx.marshal;
    return m.writeBigInt(m.bigInt(x) >> BigInt(bits & 0xff));
  },
  "bigInt.fromString"(ctx, s) {
    const text = ctx.marshal.string(s);
    const value = parseDecimalBigInt(text);
    if (value === null) throw new DeterministicError(`string is not a BigInt: \`${text}\``);
    return ctx.marshal.writeBigInt(checkBigIntSize(value));
  },
  "bigInt.dividedByDecimal"(ctx, x, y) {
    const m = ctx.marshal;
    const divisor = m.bigDecimal(y);
    return m.writeBigDecimal(decimal.dividedBy(decimal.fromBigInt(m.bigInt(x)), divisor));
  },

  "bigDecimal.plus": decimalBinary(decimal.plus),
  "bigDecimal.minus": decimalBinary(decimal.minus),
  "bigDecimal.times": decimalBinary(decimal.times),
  "bigDecimal.dividedBy": decimalBinary(decimal.dividedBy),
  "bigDecimal.equals"(ctx, x, y) {
    const m = ctx.marshal;
    return decimal.equals(m.bigDecimal(x), m.bigDecimal(y)) ? 1 : 0;
  },
  "bigDecimal.toString"(ctx, x) {
    const m = ctx.marshal;
    return m.writeString(decimal.toString(m.bigDecimal(x)));
  },
  "bigDecimal.fromString"(ctx, s) {
    const text = ctx.marshal.string(s);
    const value = decimal.fromString(text);
    if (value === null) throw new DeterministicError(`string is not a BigDecimal: '${text}'`);
    return ctx.marshal.writeBigDecimal(value);
  },
};
