// What a settlement round did, and its JSON form (the gateway's POST /v1/admin/settle answers with it, and
// `modelshare settle --gateway` reads it back). Amounts travel as decimal strings: exact, whatever their size.
import { getAddress, isAddress, isHex, type Address, type Hex } from "viem";
import { z } from "zod";

export interface RejectedVoucher {
  payer: Address;
  operator: Address;
  modelId: bigint;
  lane: number;
  /** IVault.RejectReason name; a partial charge is reported as "EmptyEscrow" with the shortfall as `unsettled`. */
  reason: string;
  /** What the operator is owed on this lane and did not get. */
  unsettled: bigint;
}

export interface SettlementRound {
  /** `settle` transactions mined in this round (including ones a previous round or process left in flight). */
  batches: number;
  /** Vouchers in those transactions. */
  vouchers: number;
  /** Vouchers that moved money (fully or partly). */
  settled: number;
  /** Stablecoin base units moved from escrows. */
  charged: bigint;
  /** What escrows could not cover (still owed). */
  shortfall: bigint;
  rejected: RejectedVoucher[];
  transactions: Hex[];
  /** Transactions left in flight by an earlier round or process and finished by this one. */
  recovered: number;
  /** Transactions still not mined at the end of the round (finished by the next one). */
  pending: number;
  /** Transactions whose nonce another transaction took, and ones that reverted: their vouchers are retried. */
  replaced: number;
  reverted: number;
}

export function emptyRound(): SettlementRound {
  return { batches: 0, vouchers: 0, settled: 0, charged: 0n, shortfall: 0n, rejected: [], transactions: [], recovered: 0, pending: 0, replaced: 0, reverted: 0 };
}

/** JSON-safe form: bigints as decimal strings. */
export function roundToJson(round: SettlementRound) {
  return {
    ...round,
    charged: round.charged.toString(),
    shortfall: round.shortfall.toString(),
    rejected: round.rejected.map((r) => ({ ...r, modelId: r.modelId.toString(), unsettled: r.unsettled.toString() })),
  };
}

const units = z.string().regex(/^\d+$/, "a decimal integer").transform((s) => BigInt(s));
const address = z.string().refine(isAddress, "an address").transform((a) => getAddress(a));
const count = z.number().int().nonnegative();

const roundSchema = z.object({
  batches: count,
  vouchers: count,
  settled: count,
  charged: units,
  shortfall: units,
  rejected: z.array(z.object({ payer: address, operator: address, modelId: units, lane: count, reason: z.string(), unsettled: units })),
  transactions: z.array(z.string().refine((h) => isHex(h) && h.length === 66, "a transaction hash").transform((h) => h as Hex)),
  recovered: count,
  pending: count,
  replaced: count,
  reverted: count,
});

/** Reads `roundToJson`'s output back; throws a readable error for anything else. */
export function roundFromJson(json: unknown): SettlementRound {
  const parsed = roundSchema.safeParse(json);
  if (!parsed.success) throw new Error(`not a settlement round: ${z.prettifyError(parsed.error).replace(/\n/g, " ")}`);
  return parsed.data;
}
