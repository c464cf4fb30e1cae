// What the local stack prints once the sample traffic is settled: every holder's position in every model, read from
// the subgraph alone (the same query a holder's app would make), with amounts in the stablecoin.
import { formatUnits, type Address } from "viem";
import { holderPortfolio } from "../subgraph.ts";
import type { DevAccount, DevModel } from "./stack.ts";

export interface HolderRow {
  holder: string;
  address: Address;
  modelId: bigint;
  model: string;
  /** Shares held (18 decimals). */
  shares: bigint;
  earned: bigint;
  claimed: bigint;
  claimable: bigint;
  /** Paid calls the model served. */
  paidCalls: bigint;
}

export async function holdersTable(graphqlEndpoint: string, holders: DevAccount[], models: DevModel[]): Promise<HolderRow[]> {
  const rows: HolderRow[] = [];
  for (const account of holders) {
    const portfolio = await holderPortfolio(graphqlEndpoint, account.address);
    for (const h of portfolio.holdings) {
      rows.push({
        holder: account.label,
        address: account.address,
        modelId: h.modelId,
        model: models.find((m) => m.modelId === h.modelId)?.name ?? `#${h.modelId}`,
        shares: h.balance,
        earned: h.earned,
        claimed: h.claimed,
        claimable: h.claimable,
        paidCalls: h.paidCalls,
      });
    }
  }
  return rows.sort((a, b) => (a.modelId === b.modelId ? a.holder.localeCompare(b.holder) : a.modelId < b.modelId ? -1 : 1));
}

/** The table as text: amounts in the stablecoin's units, shares whole. */
export function formatHoldersTable(rows: HolderRow[], decimals: number, symbol = "USDC"): string {
  const header = ["holder", "model", "shares", `earned (${symbol})`, "claimed", "claimable", "paid calls"];
  const body = rows.map((r) => [
    r.holder,
    `#${r.modelId}`,
    formatUnits(r.shares, 18),
    formatUnits(r.earned, decimals),
    formatUnits(r.claimed, decimals),
    formatUnits(r.claimable, decimals),
    r.paidCalls.toString(),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}
