// Loaders that create an entity with zeroed totals on first sight, shared by the three mappings.
import { Address, BigInt, Bytes } from "@graphprotocol/graph-ts";
import { Account, Model, ModelDay, Payer, Protocol, ShareBalance } from "../generated/schema";

export const ZERO = BigInt.zero();
const SECONDS_PER_DAY = 86400;

export function protocol(): Protocol {
  let p = Protocol.load("protocol");
  if (p == null) {
    p = new Protocol("protocol");
    p.models = 0;
    p.grossRevenue = ZERO;
    p.protocolFees = ZERO;
    p.operatorFees = ZERO;
    p.royalties = ZERO;
    p.holderRevenue = ZERO;
    p.paidCalls = ZERO;
    p.claimed = ZERO;
  }
  return p;
}

export function modelId(id: BigInt): string {
  return id.toString();
}

/** Events name models by id; a model always exists by the time anything refers to it. */
export function model(id: BigInt): Model {
  return Model.load(modelId(id))!;
}

export function account(address: Address): Account {
  let a = Account.load(address);
  if (a == null) {
    a = new Account(address);
    a.claimed = ZERO;
    a.feesAccrued = ZERO;
    a.feesClaimed = ZERO;
    a.save();
  }
  return a;
}

export function payer(address: Address): Payer {
  let p = Payer.load(address);
  if (p == null) {
    p = new Payer(address);
    p.deposited = ZERO;
    p.withdrawn = ZERO;
    p.spent = ZERO;
    p.escrow = ZERO;
    p.pendingWithdrawal = ZERO;
  }
  return p;
}

export function shareBalance(token: Address, holder: Address, modelKey: string): ShareBalance {
  const id = token.concat(holder);
  let b = ShareBalance.load(id);
  if (b == null) {
    account(holder);
    b = new ShareBalance(id);
    b.token = token;
    b.model = modelKey;
    b.account = holder;
    b.balance = ZERO;
    b.correction = ZERO;
    b.claimed = ZERO;
  }
  return b;
}

export function modelDay(modelKey: string, timestamp: BigInt): ModelDay {
  const day = timestamp.toI32() / SECONDS_PER_DAY;
  const id = modelKey + "-" + day.toString();
  let d = ModelDay.load(id);
  if (d == null) {
    d = new ModelDay(id);
    d.model = modelKey;
    d.day = day;
    d.paidCalls = ZERO;
    d.grossRevenue = ZERO;
  }
  return d;
}

/** A unique id for an immutable entity made from one log. */
export function logId(txHash: Bytes, logIndex: BigInt): Bytes {
  return txHash.concatI32(logIndex.toI32());
}
