// The holder question, answered by one GraphQL query against the project's real schema over HTTP: which models an
// account holds, what each earned it, what it claimed, what it can claim, the model's paid calls and daily usage —
// through the SDK's typed holderPortfolio.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { claimableOf, holderPortfolio, querySubgraph, REVENUE_SCALE, SubgraphError } from "../../../sdk/subgraph.ts";
import { loadSubgraphSchema, type SubgraphSchema } from "../../../subgraph/host/schema.ts";
import { createGraphqlServer, type GraphqlServer } from "../../../subgraph/host/server.ts";
import type { Entity } from "../../../subgraph/host/store/types.ts";
import { big, bool, bytes, entity, int, ptr, sqliteKind, str, type Store } from "./store-fixtures.ts";

const SCHEMA_FILE = fileURLToPath(new URL("../../../subgraph/schema.graphql", import.meta.url));
const HOLDER = "0x1111111111111111111111111111111111111111";
const OTHER = "0x2222222222222222222222222222222222222222";
const TOKEN = { 1: "0x00000000000000000000000000000000000000c1", 2: "0x00000000000000000000000000000000000000c2", 3: "0x00000000000000000000000000000000000000c3" };
const DAY = 19_700;

function model(id: number, calls: bigint, gross: bigint): Entity {
  return entity({
    modelId: big(BigInt(id)),
    owner: bytes(OTHER),
    shareToken: bytes(TOKEN[id as 1 | 2 | 3]),
    pricePerCall: big(2000n),
    operatorFeeBps: int(500),
    paused: bool(false),
    latestVersion: int(1),
    createdAt: big(1_700_000_000n),
    grossRevenue: big(gross),
    holderRevenue: big((gross * 9n) / 10n),
    royaltiesReceived: big(0n),
    royaltiesPaid: big(0n),
    paidCalls: big(calls),
  });
}

function balance(token: string, account: string, model: string, shares: bigint, correction: bigint, claimed: bigint): [string, Entity] {
  return [
    token + account.slice(2),
    entity({ token: bytes(token), model: str(model), account: bytes(account), balance: big(shares), correction: big(correction), claimed: big(claimed) }),
  ];
}

describe("holder query (SDK holderPortfolio over the GraphQL server, real schema)", () => {
  const kind = sqliteKind();
  let schema: SubgraphSchema;
  let store: Store;
  let server: GraphqlServer;

  before(async () => {
    schema = await loadSubgraphSchema(SCHEMA_FILE);
    store = await kind.open(kind.location(), schema);
    const w = store.begin(ptr(10));
    for (const id of [1, 2, 3] as const) {
      w.set("Model", String(id), model(id, BigInt(id * 100), BigInt(id * 200_000)));
      w.set("ShareToken", TOKEN[id], entity({ model: str(String(id)), totalSupply: big(1_000_000n), revenuePerShare: big(0n), totalRevenue: big(0n) }));
    }
    for (const account of [HOLDER, OTHER]) {
      w.set("Account", account, entity({ claimed: big(1000n), feesAccrued: big(account === HOLDER ? 77n : 0n), feesClaimed: big(0n) }));
    }
    // Model 1: 600,000 shares at 5e33 per share, 1,000 claimed. Model 2: every share sold, 7.5 units left unclaimed.
    // Model 3: a balance that never earned anything (left out). OTHER holds the rest of model 1.
    w.set("ShareToken", TOKEN[1], entity({ revenuePerShare: big(5n * 10n ** 33n), totalRevenue: big(5000n) }));
    w.set("ShareToken", TOKEN[2], entity({ revenuePerShare: big(10n ** 36n) }));
    for (const [id, e] of [
      balance(TOKEN[1], HOLDER, "1", 600_000n, -(10n ** 39n), 1000n),
      balance(TOKEN[1], OTHER, "1", 400_000n, 0n, 0n),
      balance(TOKEN[2], HOLDER, "2", 0n, 75n * 10n ** 35n, 0n),
      balance(TOKEN[3], HOLDER, "3", 0n, 0n, 0n),
    ]) {
      w.set("ShareBalance", id, e);
    }
    for (const [day, calls] of [[DAY, 5n], [DAY + 1, 3n], [DAY + 2, 10n]] as const) {
      w.set("ModelDay", `1-${day}`, entity({ model: str("1"), day: int(day), paidCalls: big(calls), grossRevenue: big(calls * 2000n) }));
    }
    await w.commit();
    server = await createGraphqlServer({ store, schema, name: "modelshare" });
  });
  after(async () => {
    await server.close();
    await store.close();
    await kind.cleanup();
  });

  it("answers which models the account holds, earned, claimed, claimable, paid calls and daily usage in one query", async () => {
    let requests = 0;
    const counting: typeof fetch = (input, init) => {
      requests++;
      return fetch(input, init);
    };
    const portfolio = await holderPortfolio(server.endpoint, HOLDER.toUpperCase().replace("0X", "0x"), { days: 2, fetch: counting });
    assert.equal(requests, 1);
    assert.equal(portfolio.account, "0x1111111111111111111111111111111111111111");
    assert.deepEqual(portfolio.block, { number: 10, hash: ptr(10).hash, timestamp: ptr(10).timestamp });
    assert.deepEqual(portfolio.holdings, [
      {
        modelId: 1n,
        shareToken: "0x00000000000000000000000000000000000000C1",
        balance: 600_000n,
        totalSupply: 1_000_000n,
        earned: 3000n,
        claimed: 1000n,
        claimable: 2000n,
        paidCalls: 100n,
        pricePerCall: 2000n,
        grossRevenue: 200_000n,
        holderRevenue: 180_000n,
        daily: [
          { day: DAY + 2, date: "2023-12-11", paidCalls: 10n, grossRevenue: 20_000n },
          { day: DAY + 1, date: "2023-12-10", paidCalls: 3n, grossRevenue: 6_000n },
        ],
      },
      {
        modelId: 2n,
        shareToken: "0x00000000000000000000000000000000000000c2",
        balance: 0n,
        totalSupply: 1_000_000n,
        earned: 7n,
        claimed: 0n,
        claimable: 7n,
        paidCalls: 200n,
        pricePerCall: 2000n,
        grossRevenue: 400_000n,
        holderRevenue: 360_000n,
        daily: [],
      },
    ]);
    assert.deepEqual(portfolio.totals, { earned: 3007n, claimed: 1000n, claimable: 2007n });
    assert.deepEqual(portfolio.fees, { accrued: 77n, claimed: 0n });
  });

  it("answers an account with no shares with an empty portfolio", async () => {
    const portfolio = await holderPortfolio(server.endpoint, "0x3333333333333333333333333333333333333333");
    assert.deepEqual(portfolio.holdings, []);
    assert.deepEqual(portfolio.totals, { earned: 0n, claimed: 0n, claimable: 0n });
  });

  it("computes claimable exactly as the share token does, and fails clearly", async () => {
    assert.equal(claimableOf(3n * REVENUE_SCALE, 2n, -REVENUE_SCALE), 5n);
    assert.equal(claimableOf(REVENUE_SCALE - 1n, 1n, 0n), 0n, "rounds down");
    assert.equal(claimableOf(0n, 5n, -1n), 0n, "never negative");
    await assert.rejects(holderPortfolio(server.endpoint, "0x1234"), /not an address: 0x1234/);
    await assert.rejects(holderPortfolio(server.endpoint, HOLDER, { days: 5000 }), /days must be an integer between 0 and 1000/);
    await assert.rejects(holderPortfolio("http://127.0.0.1:9/subgraphs/name/x", HOLDER), (error: unknown) => {
      assert.ok(error instanceof SubgraphError);
      assert.match(error.message, /cannot reach the subgraph at http:\/\/127\.0\.0\.1:9/);
      return true;
    });
    await assert.rejects(querySubgraph(server.endpoint, "{ models(first: 5000) { id } }"), /the subgraph refused the query: The `first` argument must be between 0 and 1000, but is 5000/);
    await assert.rejects(querySubgraph(`${server.url}/subgraphs/name/other`, "{ models { id } }"), /the subgraph refused the query: no subgraph at/);
  });
});
