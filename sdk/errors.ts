// Turns a failed contract call into one readable line: the contract's custom error with its arguments and what it
// means, instead of viem's multi-paragraph report.
import { BaseError, ContractFunctionRevertedError } from "viem";

const EXPLANATIONS: Record<string, string> = {
  InvalidCid: "a CID is not a CIDv1 with a sha2-256 hash",
  InvalidWeightsHash: "the weights sha256 is missing",
  PriceOutOfRange: "the price per call must be above zero",
  OperatorFeeTooHigh: "the operator fee is above the maximum",
  TooManyParents: "a model may declare at most 8 parents",
  UnknownModel: "no model has this id",
  DuplicateParent: "a parent is listed twice",
  ZeroParentBps: "every parent needs a royalty above zero",
  UpstreamTooHigh: "parent royalties add up to more than the maximum",
  TooManyAncestors: "the flattened ancestry is longer than allowed",
  NoRecipients: "the share split names no recipient",
  TooManyRecipients: "the share split names too many recipients",
  ZeroRecipient: "the share split names the zero address",
  ZeroShareAmount: "a share recipient gets zero shares",
  SupplyTooLarge: "the share supply is too large",
  NotModelOwner: "only the model's NFT owner can do this",
  InsufficientEscrow: "the escrow does not hold that much",
  NoPendingWithdrawal: "there is no withdrawal request",
  WithdrawalLocked: "the withdrawal delay has not passed yet",
  NothingToClaim: "there is nothing to claim",
  ModelPaused: "the model is paused",
  EnforcedPause: "the protocol is paused",
  ZeroAmount: "the amount must be above zero",
  OwnableUnauthorizedAccount: "only the owner can do this",
  ERC20InsufficientBalance: "the account does not hold enough tokens",
  ERC20InsufficientAllowance: "the allowance is too small",
};

/** A short message for any error thrown by a viem contract call or simulation. */
export function describeError(error: unknown): string {
  if (error instanceof BaseError) {
    const revert = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError && revert.data?.errorName) {
      const { errorName, args } = revert.data;
      const shown = (args ?? []).map((a) => (typeof a === "bigint" ? a.toString() : String(a))).join(", ");
      const why = EXPLANATIONS[errorName];
      return `${errorName}(${shown})${why ? `: ${why}` : ""}`;
    }
    return error.shortMessage;
  }
  return error instanceof Error ? error.message : String(error);
}
