// Vault: escrow, voucher settlements, x402 payments, the split and fees.
import {
  Deposited,
  ExactPaymentSettled,
  FeesAccrued,
  FeesClaimed,
  RevenueSplit,
  RoyaltyPaid,
  VoucherSettled,
  WithdrawalCancelled,
  WithdrawalRequested,
  Withdrawn,
} from "../generated/Vault/Vault";
import { Payment, Settlement, Tab } from "../generated/schema";
import { BigInt } from "@graphprotocol/graph-ts";
import { ZERO, account, logId, model, modelDay, modelId, payer, protocol } from "./entities";

export function handleDeposited(event: Deposited): void {
  const p = payer(event.params.payer);
  p.deposited = p.deposited.plus(event.params.amount);
  p.escrow = p.escrow.plus(event.params.amount);
  p.save();
}

export function handleWithdrawalRequested(event: WithdrawalRequested): void {
  const p = payer(event.params.payer);
  p.pendingWithdrawal = event.params.amount;
  p.save();
}

export function handleWithdrawalCancelled(event: WithdrawalCancelled): void {
  const p = payer(event.params.payer);
  p.pendingWithdrawal = ZERO;
  p.save();
}

export function handleWithdrawn(event: Withdrawn): void {
  const p = payer(event.params.payer);
  p.withdrawn = p.withdrawn.plus(event.params.amount);
  p.escrow = p.escrow.minus(event.params.amount);
  p.pendingWithdrawal = ZERO;
  p.save();
}

/** Paid calls of a tab are the growth of its settled call count (calls advance only on a full charge). */
export function handleVoucherSettled(event: VoucherSettled): void {
  const key = modelId(event.params.modelId);
  let tab = Tab.load(event.params.tabKey);
  if (tab == null) {
    tab = new Tab(event.params.tabKey);
    tab.payer = event.params.payer;
    tab.operator = account(event.params.operator).id;
    tab.model = key;
    tab.lane = event.params.lane.toI32();
    tab.settledAmount = ZERO;
    tab.settledCalls = ZERO;
  }
  const calls = event.params.settledCalls.minus(tab.settledCalls);
  tab.settledAmount = event.params.settledAmount;
  tab.settledCalls = event.params.settledCalls;
  tab.save();

  const p = payer(event.params.payer);
  p.spent = p.spent.plus(event.params.charged);
  p.escrow = p.escrow.minus(event.params.charged);
  p.save();

  const s = new Settlement(logId(event.transaction.hash, event.logIndex));
  s.tab = tab.id;
  s.model = key;
  s.charged = event.params.charged;
  s.shortfall = event.params.shortfall;
  s.calls = calls;
  s.settledAmount = event.params.settledAmount;
  s.timestamp = event.block.timestamp;
  s.transaction = event.transaction.hash;
  s.save();

  countCalls(event.params.modelId, calls, event.block.timestamp);
}

export function handleExactPaymentSettled(event: ExactPaymentSettled): void {
  const payment = new Payment(logId(event.transaction.hash, event.logIndex));
  payment.model = modelId(event.params.modelId);
  payment.payer = event.params.payer;
  payment.operator = event.params.operator;
  payment.amount = event.params.amount;
  payment.nonce = event.params.nonce;
  payment.timestamp = event.block.timestamp;
  payment.transaction = event.transaction.hash;
  payment.save();
  countCalls(event.params.modelId, BigInt.fromI32(1), event.block.timestamp);
}

function countCalls(id: BigInt, calls: BigInt, timestamp: BigInt): void {
  if (calls.isZero()) return;
  const m = model(id);
  m.paidCalls = m.paidCalls.plus(calls);
  m.save();
  const day = modelDay(m.id, timestamp);
  day.paidCalls = day.paidCalls.plus(calls);
  day.save();
  const p = protocol();
  p.paidCalls = p.paidCalls.plus(calls);
  p.save();
}

export function handleRevenueSplit(event: RevenueSplit): void {
  const m = model(event.params.modelId);
  m.grossRevenue = m.grossRevenue.plus(event.params.gross);
  m.save();
  const day = modelDay(m.id, event.block.timestamp);
  day.grossRevenue = day.grossRevenue.plus(event.params.gross);
  day.save();
  const p = protocol();
  p.grossRevenue = p.grossRevenue.plus(event.params.gross);
  p.protocolFees = p.protocolFees.plus(event.params.protocolFee);
  p.operatorFees = p.operatorFees.plus(event.params.operatorFee);
  p.royalties = p.royalties.plus(event.params.upstream);
  p.holderRevenue = p.holderRevenue.plus(event.params.holders);
  p.save();
}

export function handleRoyaltyPaid(event: RoyaltyPaid): void {
  const from = model(event.params.fromModelId);
  from.royaltiesPaid = from.royaltiesPaid.plus(event.params.amount);
  from.save();
  const to = model(event.params.toModelId);
  to.royaltiesReceived = to.royaltiesReceived.plus(event.params.amount);
  to.save();
}

export function handleFeesAccrued(event: FeesAccrued): void {
  const a = account(event.params.account);
  a.feesAccrued = a.feesAccrued.plus(event.params.amount);
  a.save();
}

export function handleFeesClaimed(event: FeesClaimed): void {
  const a = account(event.params.account);
  a.feesClaimed = a.feesClaimed.plus(event.params.amount);
  a.save();
}
