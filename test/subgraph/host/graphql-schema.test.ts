// The generated query API has graph-node's shape: field names, arguments and their defaults, filter inputs,
// orderBy enums, scalars and their wire forms.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  GraphQLEnumType,
  GraphQLInputObjectType,
  GraphQLObjectType,
  Kind,
  parseConstValue,
  printType,
  type GraphQLField,
} from "graphql";
import { buildApiSchema } from "../../../subgraph/host/graphql/api-schema.ts";
import { camelCase, pluralField, singularField } from "../../../subgraph/host/graphql/names.ts";
import { BigDecimalScalar, BigIntScalar, BytesScalar, Int8Scalar, TimestampScalar } from "../../../subgraph/host/graphql/scalars.ts";
import { loadSubgraphSchema } from "../../../subgraph/host/schema.ts";

const SCHEMA_FILE = fileURLToPath(new URL("../../../subgraph/schema.graphql", import.meta.url));

describe("generated GraphQL API", () => {
  it("names query fields as graph-node does", () => {
    const cases: [string, string, string][] = [
      ["Model", "model", "models"],
      ["ModelVersion", "modelVersion", "modelVersions"],
      ["ShareBalance", "shareBalance", "shareBalances"],
      ["ModelDay", "modelDay", "modelDays"],
      ["LineageEdge", "lineageEdge", "lineageEdges"],
      ["Category", "category", "categories"],
      ["Status", "status", "statuses"],
      ["Box", "box", "boxes"],
      ["Wolf", "wolf", "wolves"],
      ["Knife", "knife", "knives"],
      ["Person", "person", "people"],
      ["Day", "day", "days"],
      ["NFTToken", "nftToken", "nftTokens"],
      ["Sheep", "sheep", "sheep_collection"],
      ["Series", "series", "series_collection"],
    ];
    for (const [type, singular, plural] of cases) {
      assert.equal(singularField(type), singular, type);
      assert.equal(pluralField(type), plural, type);
    }
    assert.equal(camelCase("share_balance"), "shareBalance");
  });

  it("gives every entity a singular and a plural field with graph-node's arguments, and _meta", async () => {
    const api = buildApiSchema(await loadSubgraphSchema(SCHEMA_FILE));
    const query = api.schema.getQueryType()!;
    const fields = query.getFields();
    assert.deepEqual(Object.keys(fields).slice(0, 4), ["protocol", "protocols", "model", "models"]);
    assert.ok(fields._meta);
    const argsOf = (f: GraphQLField<unknown, unknown>) => f.args.map((a) => `${a.name}: ${String(a.type)}${a.default ? ` = ${JSON.stringify(a.default.value)}` : ""}`);
    assert.deepEqual(argsOf(fields.shareBalance!), ["id: ID!", "block: Block_height", 'subgraphError: _SubgraphErrorPolicy_! = "deny"']);
    assert.deepEqual(argsOf(fields.shareBalances!), [
      "skip: Int = 0",
      "first: Int = 100",
      "orderBy: ShareBalance_orderBy",
      "orderDirection: OrderDirection",
      "where: ShareBalance_filter",
      "block: Block_height",
      'subgraphError: _SubgraphErrorPolicy_! = "deny"',
    ]);
    assert.equal(String(fields.shareBalances!.type), "[ShareBalance!]!");
    assert.equal(String(fields.shareBalance!.type), "ShareBalance");
    // List fields on entities are collections with their own arguments.
    const model = api.schema.getType("Model") as GraphQLObjectType;
    assert.deepEqual(argsOf(model.getFields().days!), ["skip: Int = 0", "first: Int = 100", "orderBy: ModelDay_orderBy", "orderDirection: OrderDirection", "where: ModelDay_filter"]);
    assert.equal(String(model.getFields().shareToken!.type), "ShareToken!");
    assert.equal(model.getFields().id!.description, "Model id, in decimal");
    assert.equal(printType(api.schema.getType("Block_height")!).replace(/\s+/g, " ").replace(/""".*?"""/g, "").replace(/ +/g, " ").trim(), "input Block_height { hash: Bytes number: Int number_gte: Int }");
    assert.equal(printType(api.schema.getType("_Meta_")!).replace(/"""[^]*?"""/g, "").replace(/\s+/g, " ").trim(), "type _Meta_ { block: _Block_! deployment: String! hasIndexingErrors: Boolean! }");
  });

  it("builds filters with the suffixes each field type allows", async () => {
    const api = buildApiSchema(await loadSubgraphSchema(SCHEMA_FILE));
    const filter = (type: string) => Object.keys((api.schema.getType(`${type}_filter`) as GraphQLInputObjectType).getFields());
    const balance = filter("ShareBalance");
    const fieldOps = (name: string) => balance.filter((f) => f === name || f.startsWith(`${name}_`));
    assert.deepEqual(fieldOps("id"), ["id", "id_not", "id_gt", "id_lt", "id_gte", "id_lte", "id_in", "id_not_in", "id_contains", "id_not_contains"]);
    assert.deepEqual(fieldOps("balance"), ["balance", "balance_not", "balance_gt", "balance_lt", "balance_gte", "balance_lte", "balance_in", "balance_not_in"]);
    // A reference filters by the target's id as a String, with every string suffix, plus a child filter.
    assert.equal(fieldOps("token").length, 21);
    assert.ok(fieldOps("token").includes("token_not_ends_with_nocase"));
    assert.ok(balance.includes("token_"));
    assert.deepEqual(balance.slice(-3), ["_change_block", "and", "or"]);
    const model = filter("Model");
    assert.deepEqual(model.filter((f) => f.startsWith("versions")), ["versions_"], "derived fields only filter through their child");
    assert.deepEqual(model.filter((f) => f.startsWith("paused")), ["paused", "paused_not", "paused_in", "paused_not_in"]);
    const input = api.schema.getType("ShareBalance_filter") as GraphQLInputObjectType;
    assert.equal(String(input.getFields().token_in!.type), "[String!]");
    assert.equal(String(input.getFields().token_!.type), "ShareToken_filter");
    assert.equal(String(input.getFields().and!.type), "[ShareBalance_filter]");
    assert.equal(String(input.getFields()._change_block!.type), "BlockChangedFilter");
  });

  it("orders by every field and by the scalar fields of single references", async () => {
    const api = buildApiSchema(await loadSubgraphSchema(SCHEMA_FILE));
    const values = (api.schema.getType("ShareBalance_orderBy") as GraphQLEnumType).getValues().map((v) => v.name);
    assert.deepEqual(values.slice(0, 6), ["id", "token", "token__id", "token__totalSupply", "token__revenuePerShare", "token__totalRevenue"]);
    assert.ok(values.includes("model__paidCalls"));
    assert.ok(!values.includes("model__shareToken"), "no reference fields of the child");
    assert.ok(!values.includes("token__holders"), "no list fields of the child");
    const model = (api.schema.getType("Model_orderBy") as GraphQLEnumType).getValues().map((v) => v.name);
    assert.ok(model.includes("versions") && model.includes("shareToken__totalSupply"));
  });

  it("reads and writes the scalars in graph-node's wire forms, refusing malformed values", () => {
    const literal = (text: string) => parseConstValue(text);
    assert.equal(BigIntScalar.coerceOutputValue(-(2n ** 200n)), (-(2n ** 200n)).toString());
    assert.equal(BigIntScalar.coerceInputValue("123"), 123n);
    assert.equal(BigIntScalar.coerceInputValue(-5), -5n);
    assert.equal(BigIntScalar.coerceInputLiteral!(literal("42")), 42n);
    assert.equal(BigIntScalar.coerceInputLiteral!(literal('"-7"')), -7n);
    assert.throws(() => BigIntScalar.coerceInputValue("1.5"), /BigInt cannot represent "1\.5"/);
    assert.throws(() => BigIntScalar.coerceInputValue(1.5), /BigInt cannot represent 1\.5/);
    assert.equal(BigDecimalScalar.coerceInputValue("1.50"), "1.5");
    assert.equal(BigDecimalScalar.coerceInputValue("1e3"), "1000");
    assert.equal(BigDecimalScalar.coerceInputLiteral!(literal("0.25")), "0.25");
    assert.throws(() => BigDecimalScalar.coerceInputValue("abc"), /BigDecimal cannot represent "abc"/);
    assert.equal(BytesScalar.coerceOutputValue(new Uint8Array([0, 171])), "0x00ab");
    assert.deepEqual(BytesScalar.coerceInputValue("0x00AB"), new Uint8Array([0, 171]));
    assert.throws(() => BytesScalar.coerceInputValue("0x1"), /Bytes cannot represent "0x1"/);
    assert.throws(() => BytesScalar.coerceInputValue("0xzz"), /Bytes cannot represent "0xzz"/);
    assert.throws(() => BytesScalar.coerceInputLiteral!({ kind: Kind.INT, value: "1" }), /Bytes takes a hex string/);
    assert.equal(Int8Scalar.coerceOutputValue(9007199254740993n), "9007199254740993");
    assert.equal(Int8Scalar.coerceInputValue("-9223372036854775808"), -(2n ** 63n));
    assert.throws(() => Int8Scalar.coerceInputValue("9223372036854775808"), /does not fit in 64 bits/);
    assert.equal(TimestampScalar.coerceOutputValue(1_700_000_000_000_000n), "1700000000000000");
  });
});
