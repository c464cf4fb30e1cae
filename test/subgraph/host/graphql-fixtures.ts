// Entities written through a store for the GraphQL tests, and a way to run queries against it in process.
import assert from "node:assert/strict";
import { buildApiSchema } from "../../../subgraph/host/graphql/api-schema.ts";
import { executeGraphql, type GraphqlResponse } from "../../../subgraph/host/graphql/execute.ts";
import type { SubgraphSchema } from "../../../subgraph/host/schema.ts";
import type { EntityReader } from "../../../subgraph/host/store/query.ts";
import { TEST_SCHEMA, big, bool, bytes, dec, entity, int8, list, ptr, str, thing, ts, type Store } from "./store-fixtures.ts";

export const O1 = "0x00000000000000000000000000000000000000a1";
export const O2 = "0x00000000000000000000000000000000000000a2";

/**
 * Four things, two owners, three parts, two groups:
 *   block 1: t1, t2, t3, owners, parts, groups   block 2: t4   block 3: t2's note becomes "Hello"
 */
export async function writeThings(store: Store): Promise<void> {
  const w1 = store.begin(ptr(1));
  w1.set("Owner", O1, entity({ label: str("first") }));
  w1.set("Owner", O2, entity({ label: str("second") }));
  w1.set(
    "Thing",
    "t1",
    thing("Alpha", 1, {
      note: str("hello world"),
      big: big(10n),
      dec: dec("1.5"),
      flag: bool(true),
      data: bytes("0x0102"),
      at: ts(1000n),
      small: int8(5n),
      color: str("RED"),
      tags: list(str("a"), str("b")),
      amounts: list(big(1n), big(2n)),
      owner: bytes(O1),
    }),
  );
  w1.set(
    "Thing",
    "t2",
    thing("beta", 2, {
      note: str("first note"),
      big: big(-5n),
      dec: dec("-0.25"),
      flag: bool(false),
      data: bytes("0x0203"),
      at: ts(2000n),
      small: int8(-3n),
      color: str("GREEN"),
      tags: list(str("b")),
      amounts: list(),
      owner: bytes(O2),
    }),
  );
  w1.set("Thing", "t3", thing("alphabet", 2, { big: big(10n ** 30n), dec: dec("100") }));
  w1.set("Part", "1", entity({ thing: str("t1"), size: big(5n) }));
  w1.set("Part", "2", entity({ thing: str("t1"), size: big(7n) }));
  w1.set("Part", "3", entity({ thing: str("t2"), size: big(1n) }));
  w1.set("Group", "g1", entity({ things: list(str("t1"), str("t2")) }));
  w1.set("Group", "g2", entity({ things: list(str("t3")) }));
  await w1.commit();
  const w2 = store.begin(ptr(2));
  w2.set("Thing", "t4", thing("Gamma_%", 3, { note: str("x"), big: big(0n), dec: dec("0.001"), flag: bool(true), tags: list(str("A")), owner: bytes(O1) }));
  await w2.commit();
  const w3 = store.begin(ptr(3));
  w3.set("Thing", "t2", entity({ note: str("Hello") }));
  await w3.commit();
}

export interface Querier {
  (query: string, variables?: Record<string, unknown>): Promise<GraphqlResponse>;
  /** The data of a query that must succeed. */
  data(query: string, variables?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** The one error message of a query that must fail. */
  error(query: string, variables?: Record<string, unknown>): Promise<string>;
}

export function querier(reader: EntityReader, schema: SubgraphSchema = TEST_SCHEMA, deployment = "test-deployment"): Querier {
  const api = buildApiSchema(schema);
  // Through JSON, as a client sees it (graphql-js builds its results on null-prototype objects).
  const run = async (query: string, variables?: Record<string, unknown>) =>
    JSON.parse(JSON.stringify(await executeGraphql({ api, reader, deployment }, { query, variables: variables ?? null }))) as GraphqlResponse;
  return Object.assign(run, {
    async data(query: string, variables?: Record<string, unknown>) {
      const result = await run(query, variables);
      assert.equal(result.errors, undefined, `unexpected errors: ${JSON.stringify(result.errors)}`);
      return result.data!;
    },
    async error(query: string, variables?: Record<string, unknown>) {
      const result = await run(query, variables);
      assert.ok(result.errors && result.errors.length > 0, `expected an error, got ${JSON.stringify(result.data)}`);
      return result.errors.map((e) => e.message).join("\n");
    },
  });
}

/** The ids of a plural field in a result. */
export function ids(data: Record<string, unknown>, field = "things"): string[] {
  return (data[field] as { id: string }[]).map((e) => e.id);
}
