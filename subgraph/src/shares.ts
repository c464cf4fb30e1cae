// A model's share token: balances and the royalty accumulator, mirrored exactly as ModelShares computes them.
import { Address, BigInt } from "@graphprotocol/graph-ts";
import { RevenueDistributed, RoyaltiesClaimed, Transfer } from "../generated/templates/ModelShares/ModelShares";
import { Claim, Model, ShareToken } from "../generated/schema";
import { account, logId, protocol, shareBalance } from "./entities";

const SCALE = BigInt.fromI32(10).pow(36);

export function handleShareTransfer(event: Transfer): void {
  const token = ShareToken.load(event.address)!;
  const value = event.params.value;
  // A transfer moves no royalties: each side records rps * value so that what it earned stays put.
  const delta = token.revenuePerShare.times(value);
  if (event.params.from == Address.zero()) {
    token.totalSupply = token.totalSupply.plus(value);
    token.save();
  } else {
    const from = shareBalance(event.address, event.params.from, token.model);
    from.balance = from.balance.minus(value);
    from.correction = from.correction.plus(delta);
    from.save();
  }
  const to = shareBalance(event.address, event.params.to, token.model);
  to.balance = to.balance.plus(value);
  if (event.params.from != Address.zero()) to.correction = to.correction.minus(delta);
  to.save();
}

export function handleRevenueDistributed(event: RevenueDistributed): void {
  const token = ShareToken.load(event.address)!;
  token.revenuePerShare = event.params.revenuePerShare;
  token.totalRevenue = token.totalRevenue.plus(event.params.amount);
  token.save();
  const m = Model.load(token.model)!;
  m.holderRevenue = m.holderRevenue.plus(event.params.amount);
  m.save();
}

export function handleRoyaltiesClaimed(event: RoyaltiesClaimed): void {
  const token = ShareToken.load(event.address)!;
  const amount = event.params.amount;
  const b = shareBalance(event.address, event.params.holder, token.model);
  b.correction = b.correction.minus(amount.times(SCALE));
  b.claimed = b.claimed.plus(amount);
  b.save();
  const a = account(event.params.holder);
  a.claimed = a.claimed.plus(amount);
  a.save();
  const c = new Claim(logId(event.transaction.hash, event.logIndex));
  c.account = event.params.holder;
  c.model = token.model;
  c.amount = amount;
  c.timestamp = event.block.timestamp;
  c.transaction = event.transaction.hash;
  c.save();
  const p = protocol();
  p.claimed = p.claimed.plus(amount);
  p.save();
}

