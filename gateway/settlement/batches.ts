// Turning ledger lanes into `settle` calldata. The vault splits revenue once per run of consecutive vouchers for the
// same model and operator, so batches are sorted by model and operator: fewer runs, less gas.
import { encodeAbiParameters, keccak256, type Hex } from "viem";
import type { LaneKey, LaneRecord } from "../ledger/types.ts";
import type { SignedVoucher } from "../../sdk/vouchers.ts";

/** Cuts `lanes` into batches of at most `maxBatch`, each sorted by model, operator, payer and lane. */
export function buildBatches(lanes: readonly LaneRecord[], maxBatch: number): LaneRecord[][] {
  const sorted = [...lanes].sort(compareLanes);
  const batches: LaneRecord[][] = [];
  for (let i = 0; i < sorted.length; i += maxBatch) batches.push(sorted.slice(i, i + maxBatch));
  return batches;
}

function compareLanes(a: LaneRecord, b: LaneRecord): number {
  if (a.modelId !== b.modelId) return a.modelId < b.modelId ? -1 : 1;
  const operator = a.operator.toLowerCase().localeCompare(b.operator.toLowerCase());
  if (operator !== 0) return operator;
  const payer = a.payer.toLowerCase().localeCompare(b.payer.toLowerCase());
  return payer !== 0 ? payer : a.lane - b.lane;
}

/** The `SignedVoucher` struct `settle` takes, from the voucher the ledger holds for a lane. */
export function signedVoucher(lane: LaneRecord): SignedVoucher {
  return {
    voucher: {
      payer: lane.payer,
      operator: lane.operator,
      modelId: lane.modelId,
      lane: lane.lane,
      cumulativeAmount: lane.cumulativeAmount,
      cumulativeCalls: lane.cumulativeCalls,
      expiry: lane.expiry,
    },
    signature: lane.signature,
  };
}

const TAB_KEY_TYPES = [{ type: "address" }, { type: "address" }, { type: "uint256" }, { type: "uint32" }] as const;

/** The vault's `tabKey(payer, operator, modelId, lane)`: how VoucherRejected names a lane. */
export function tabKey(lane: LaneKey): Hex {
  return keccak256(encodeAbiParameters(TAB_KEY_TYPES, [lane.payer, lane.operator, lane.modelId, lane.lane]));
}
