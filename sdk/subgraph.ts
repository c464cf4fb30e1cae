// Typed queries against the Modelshare subgraph (the embedded host or graph-node, same API). The holder query
// answers, in one GraphQL request: which models an account holds shares of, what each earned it, what it claimed,
// what is claimable now, how many paid calls the model served, and the model's recent daily usage.
//
// claimable = (revenuePerShare × balance + correction) / 1e36 — the share token's accumulator, which the subgraph
// mirrors exactly — and earned = claimed + claimable.
import { getAddress, isAddress, type Address, type Hex } from "viem";
import { z } from "zod";

/** The scale of ModelShares' revenue-per-share accumulator. */
export const REVENUE_SCALE = 10n ** 36n;

export class SubgraphError extends Error {
  override name = "SubgraphError";
}

export interface QueryOptions {
  /** A fetch to use instead of the global one (tests, proxies). */
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

/** Runs one GraphQL query; resolves with `data`, rejects with the endpoint's error messages. */
export async function querySubgraph<T>(
  endpoint: string,
  query: string,
  variables: Record<string, unknown> = {},
  options: QueryOptions = {},
): Promise<T> {
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query, variables }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    throw new SubgraphError(`cannot reach the subgraph at ${endpoint}: ${(error as Error).message}`, { cause: error });
  }
  let body: { data?: T | null; errors?: { message: string }[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new SubgraphError(`the subgraph at ${endpoint} answered ${response.status} without a JSON body`);
  }
  if (body.errors?.length) throw new SubgraphError(`the subgraph refused the query: ${body.errors.map((e) => e.message).join("; ")}`);
  if (!response.ok || !body.data) throw new SubgraphError(`the subgraph at ${endpoint} answered ${response.status} without data`);
  return body.data;
}

/** What a holder has earned from its shares, as the share token computes it. */
export function claimableOf(revenuePerShare: bigint, balance: bigint, correction: bigint): bigint {
  const accrued = revenuePerShare * balance + correction;
  // Never negative on-chain (the accumulator only grows); clamp rather than report a negative claim.
  return accrued > 0n ? accrued / REVENUE_SCALE : 0n;
}

export const HOLDER_QUERY = /* GraphQL */ `
  query HolderPortfolio($account: ID!, $days: Int!) {
    _meta {
      block {
        number
        hash
        timestamp
      }
    }
    account(id: $account) {
      claimed
      feesAccrued
      feesClaimed
      shares(first: 1000, orderBy: model__modelId) {
        balance
        correction
        claimed
        token {
          id
          totalSupply
          revenuePerShare
        }
        model {
          modelId
          pricePerCall
          paidCalls
          grossRevenue
          holderRevenue
          days(first: $days, orderBy: day, orderDirection: desc) {
            day
            paidCalls
            grossRevenue
          }
        }
      }
    }
  }
`;

const bigint = z.string().regex(/^-?\d+$/).transform((s) => BigInt(s));

const holderResponse = z.object({
  _meta: z.object({ block: z.object({ number: z.number(), hash: z.string().nullable(), timestamp: z.number().nullable() }) }),
  account: z
    .object({
      claimed: bigint,
      feesAccrued: bigint,
      feesClaimed: bigint,
      shares: z.array(
        z.object({
          balance: bigint,
          correction: bigint,
          claimed: bigint,
          token: z.object({ id: z.string(), totalSupply: bigint, revenuePerShare: bigint }),
          model: z.object({
            modelId: bigint,
            pricePerCall: bigint,
            paidCalls: bigint,
            grossRevenue: bigint,
            holderRevenue: bigint,
            days: z.array(z.object({ day: z.number(), paidCalls: bigint, grossRevenue: bigint })),
          }),
        }),
      ),
    })
    .nullable(),
});

export interface DailyUsage {
  /** Days since the Unix epoch (UTC). */
  day: number;
  /** The day as YYYY-MM-DD (UTC). */
  date: string;
  paidCalls: bigint;
  grossRevenue: bigint;
}

export interface HoldingEarnings {
  modelId: bigint;
  shareToken: Address;
  /** Shares held now (0 for a model whose shares were all sold, kept while it has earnings). */
  balance: bigint;
  totalSupply: bigint;
  /** Everything these shares earned the holder: claimed + claimable. */
  earned: bigint;
  claimed: bigint;
  claimable: bigint;
  /** Paid calls the model served (vouchers and x402 payments), which produced the revenue. */
  paidCalls: bigint;
  pricePerCall: bigint;
  grossRevenue: bigint;
  holderRevenue: bigint;
  /** The model's most recent days of usage, newest first. */
  daily: DailyUsage[];
}

export interface HolderPortfolio {
  account: Address;
  /** The block the answer is consistent with. */
  block: { number: number; hash: Hex | null; timestamp: number | null };
  holdings: HoldingEarnings[];
  totals: { earned: bigint; claimed: bigint; claimable: bigint };
  /** Operator and treasury fees accrued to the account (not royalties). */
  fees: { accrued: bigint; claimed: bigint };
}

/**
 * Every model `account` holds (or held and still has royalties from), with what it earned, claimed and can claim, the
 * model's paid calls and its last `days` days of usage (default 30).
 */
export async function holderPortfolio(
  endpoint: string,
  account: string,
  options: QueryOptions & { days?: number } = {},
): Promise<HolderPortfolio> {
  if (!isAddress(account, { strict: false })) throw new SubgraphError(`not an address: ${account}`);
  const days = options.days ?? 30;
  if (!Number.isInteger(days) || days < 0 || days > 1000) throw new SubgraphError("days must be an integer between 0 and 1000");
  const raw = await querySubgraph<unknown>(endpoint, HOLDER_QUERY, { account: account.toLowerCase(), days }, options);
  const parsed = holderResponse.safeParse(raw);
  if (!parsed.success) throw new SubgraphError(`unexpected answer from the subgraph: ${parsed.error.issues[0]?.message ?? "bad shape"}`);
  const data = parsed.data;
  const holdings: HoldingEarnings[] = [];
  for (const share of data.account?.shares ?? []) {
    const claimable = claimableOf(share.token.revenuePerShare, share.balance, share.correction);
    if (share.balance === 0n && claimable === 0n && share.claimed === 0n) continue;
    holdings.push({
      modelId: share.model.modelId,
      shareToken: getAddress(share.token.id),
      balance: share.balance,
      totalSupply: share.token.totalSupply,
      earned: share.claimed + claimable,
      claimed: share.claimed,
      claimable,
      paidCalls: share.model.paidCalls,
      pricePerCall: share.model.pricePerCall,
      grossRevenue: share.model.grossRevenue,
      holderRevenue: share.model.holderRevenue,
      daily: share.model.days.map((d) => ({
        day: d.day,
        date: new Date(d.day * 86_400_000).toISOString().slice(0, 10),
        paidCalls: d.paidCalls,
        grossRevenue: d.grossRevenue,
      })),
    });
  }
  const sum = (pick: (h: HoldingEarnings) => bigint) => holdings.reduce((total, h) => total + pick(h), 0n);
  return {
    account: getAddress(account),
    block: { number: data._meta.block.number, hash: (data._meta.block.hash as Hex | null) ?? null, timestamp: data._meta.block.timestamp },
    holdings,
    totals: { earned: sum((h) => h.earned), claimed: sum((h) => h.claimed), claimable: sum((h) => h.claimable) },
    fees: { accrued: data.account?.feesAccrued ?? 0n, claimed: data.account?.feesClaimed ?? 0n },
  };
}
