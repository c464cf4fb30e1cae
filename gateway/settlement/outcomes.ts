// What a mined `settle` did to each voucher of its batch, read from the receipt's VoucherSettled / VoucherRejected
// events (never inferred from the batch: the vault decides, the worker records).
import { parseEventLogs, type Address, type Log } from "viem";
import { vaultAbi } from "../../sdk/contracts.ts";
import type { LaneKey, Submission } from "../ledger/types.ts";
import { tabKey } from "./batches.ts";

/** IVault.RejectReason, by enum index. */
export const REJECT_REASONS = ["None", "Stale", "Expired", "BadSignature", "SessionExpired", "SessionCapExceeded", "EmptyEscrow"] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type VoucherOutcome =
  | {
      kind: "settled";
      lane: LaneKey & { cumulativeAmount: bigint };
      /** The tab's new on-chain high-water mark. */
      settledAmount: bigint;
      settledCalls: bigint;
      charged: bigint;
      /** What the escrow could not cover (still owed, settleable after a deposit). */
      shortfall: bigint;
    }
  | { kind: "rejected"; lane: LaneKey & { cumulativeAmount: bigint }; reason: RejectReason };

/** One outcome per voucher of `submission` that the receipt mentions, in log order. */
export function readOutcomes(logs: readonly Log[], vault: Address, submission: Pick<Submission, "lanes">): VoucherOutcome[] {
  const byTab = new Map(submission.lanes.map((lane) => [tabKey(lane), lane]));
  const ours = logs.filter((log) => log.address.toLowerCase() === vault.toLowerCase());
  const events = parseEventLogs({ abi: vaultAbi, logs: ours as Log[], eventName: ["VoucherSettled", "VoucherRejected"] });
  const outcomes: VoucherOutcome[] = [];
  for (const event of events) {
    const lane = byTab.get(event.args.tabKey);
    if (!lane) continue;
    if (event.eventName === "VoucherSettled") {
      const { settledAmount, settledCalls, charged, shortfall } = event.args;
      outcomes.push({ kind: "settled", lane, settledAmount, settledCalls, charged, shortfall });
    } else {
      outcomes.push({ kind: "rejected", lane, reason: REJECT_REASONS[event.args.reason] ?? "None" });
    }
  }
  return outcomes;
}
