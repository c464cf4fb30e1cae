// The settlement worker's own failure: another process holds the operator's settlement lock. Everything else a round
// can hit (RPC down, a paused vault, a database error) surfaces as the underlying error and is retried with backoff.
import type { Address } from "viem";
import type { SettlementLockHolder } from "../ledger/types.ts";

export class SettlementLockedError extends Error {
  readonly code = "settlement_locked";
  readonly operator: Address;
  readonly holder: SettlementLockHolder | null;

  constructor(operator: Address, holder: SettlementLockHolder | null) {
    const who = holder ? `${holder.owner} (last heartbeat ${new Date(holder.heartbeatAt).toISOString()})` : "another process";
    super(`the settlement lock for operator ${operator} is held by ${who}: only one settler may send with this key at a time`);
    this.name = "SettlementLockedError";
    this.operator = operator;
    this.holder = holder;
  }
}
