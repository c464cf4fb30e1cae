// Plain counters the worker keeps (cheap, no dependency), and a one-call way to publish them, plus the ledger's
// unsettled total, on a prom-client registry.
import { Counter, Gauge, type Registry } from "prom-client";
import type { Address } from "viem";
import type { Ledger } from "../ledger/types.ts";

export class SettlementMetrics {
  rounds = 0;
  failedRounds = 0;
  batches = 0;
  vouchers = 0;
  charged = 0n;
  shortfall = 0n;
  /** Rejected vouchers by IVault.RejectReason name (a partial charge counts as EmptyEscrow). */
  readonly rejections = new Map<string, number>();
  /** Unix ms of the last round that finished without error. */
  lastSuccessAt: number | null = null;
  lastError: string | null = null;
  /** Transactions sent and not yet mined, as of the last round. */
  pending = 0;

  reject(reason: string): void {
    this.rejections.set(reason, (this.rejections.get(reason) ?? 0) + 1);
  }
}

/**
 * Registers the settlement metrics on `registry`. Totals are counters; the unsettled amount is read from the ledger at
 * scrape time (in base units; Prometheus values are doubles, exact up to 2^53).
 */
export function registerSettlementMetrics(registry: Registry, source: { metrics: SettlementMetrics; ledger: Ledger; operator: Address }, prefix = "modelshare_settlement_"): void {
  const { metrics, ledger, operator } = source;
  const registers = [registry];
  const total = (name: string, help: string, read: () => number | bigint) =>
    new Counter({
      name: prefix + name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(Number(read()));
      },
    });
  total("rounds_total", "Settlement rounds run", () => metrics.rounds);
  total("failed_rounds_total", "Settlement rounds that failed (RPC or database errors; retried with backoff)", () => metrics.failedRounds);
  total("batches_total", "settle transactions mined", () => metrics.batches);
  total("vouchers_total", "Vouchers in mined settle transactions", () => metrics.vouchers);
  total("charged_total", "Stablecoin base units moved from payers' escrows by settlement", () => metrics.charged);
  total("shortfall_total", "Base units vouchers asked for that escrows could not cover", () => metrics.shortfall);
  new Counter({
    name: prefix + "rejections_total",
    help: "Vouchers the vault rejected, by reason",
    labelNames: ["reason"],
    registers,
    collect() {
      this.reset();
      for (const [reason, count] of metrics.rejections) this.inc({ reason }, count);
    },
  });
  new Gauge({
    name: prefix + "last_success_timestamp_seconds",
    help: "When the last settlement round succeeded (Unix seconds; 0 before the first)",
    registers,
    collect() {
      this.set((metrics.lastSuccessAt ?? 0) / 1000);
    },
  });
  new Gauge({
    name: prefix + "pending_transactions",
    help: "settle transactions sent and not yet mined",
    registers,
    collect() {
      this.set(metrics.pending);
    },
  });
  new Gauge({
    name: prefix + "unsettled_amount",
    help: "Base units payers owe this operator beyond what is settled on-chain",
    registers,
    async collect() {
      this.set(Number((await ledger.unsettledTotal(operator)).amount));
    },
  });
  new Gauge({
    name: prefix + "unsettled_lanes",
    help: "Voucher lanes with an unsettled amount",
    registers,
    async collect() {
      this.set((await ledger.unsettledTotal(operator)).lanes);
    },
  });
}
