// The schema model the store and the GraphQL API are built from: the project's real schema.graphql, and clear
// errors for what the host cannot handle or graph-node forbids.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SchemaError, loadSubgraphSchema, parseSubgraphSchema } from "../../../subgraph/host/schema.ts";

const SCHEMA_FILE = fileURLToPath(new URL("../../../subgraph/schema.graphql", import.meta.url));

describe("subgraph schema model", () => {
  it("reads the project's schema.graphql: types, id kinds, immutability, references and derived fields", async () => {
    const schema = await loadSubgraphSchema(SCHEMA_FILE);
    for (const name of ["Protocol", "Model", "ModelVersion", "ShareToken", "Account", "ShareBalance", "ModelDay", "Claim"]) {
      assert.ok(schema.entities.has(name), name);
    }
    const model = schema.entities.get("Model")!;
    assert.equal(model.idKind, "String");
    assert.equal(model.immutable, false);
    assert.equal(model.field.get("id")!.description, "Model id, in decimal");
    assert.deepEqual(
      { ...model.field.get("shareToken")!, description: undefined },
      {
        name: "shareToken",
        description: undefined,
        graphqlType: "ShareToken!",
        base: "entity",
        typeName: "ShareToken",
        list: false,
        nullable: false,
        elementNullable: false,
        kind: "Bytes",
      },
    );
    const versions = model.field.get("versions")!;
    assert.equal(versions.derivedFrom, "model");
    assert.equal(versions.list, true);
    assert.ok(!model.stored.includes(versions), "derived fields are not stored");
    assert.equal(model.field.get("operatorFeeBps")!.kind, "Int");
    assert.equal(model.field.get("paused")!.kind, "Boolean");
    assert.equal(schema.entities.get("ModelVersion")!.immutable, true);
    assert.equal(schema.entities.get("ShareBalance")!.idKind, "Bytes");
    assert.equal(schema.entities.get("ShareBalance")!.field.get("account")!.kind, "Bytes");
    assert.match(schema.fingerprint, /^[0-9a-f]{64}$/);
  });

  it("reads enums, every scalar, lists, nullability and Int8 ids", () => {
    const schema = parseSubgraphSchema(`
      enum Side { BUY SELL }
      type T @entity(immutable: true) {
        id: Int8!
        a: Int8
        b: Timestamp!
        c: BigDecimal
        d: [Bytes]!
        side: Side!
        sides: [Side!]
      }
    `);
    const t = schema.entities.get("T")!;
    assert.equal(t.idKind, "Int8");
    assert.equal(t.immutable, true);
    assert.deepEqual(schema.enums.get("Side"), ["BUY", "SELL"]);
    assert.deepEqual(
      t.fields.map((f) => [f.name, f.kind, f.nullable, f.list, f.elementNullable, f.base]),
      [
        ["id", "Int8", false, false, false, "scalar"],
        ["a", "Int8", true, false, false, "scalar"],
        ["b", "Timestamp", false, false, false, "scalar"],
        ["c", "BigDecimal", true, false, false, "scalar"],
        ["d", "Bytes", false, true, true, "scalar"],
        ["side", "String", false, false, false, "enum"],
        ["sides", "String", true, true, false, "enum"],
      ],
    );
    assert.deepEqual(t.field.get("side")!.enumValues, ["BUY", "SELL"]);
  });

  it("refuses what it cannot handle, with a message naming the type and field", async () => {
    const cases: [string, RegExp][] = [
      ["type A @entity { id: ID! ", /does not parse/],
      ["interface N { id: ID! } type A @entity { id: ID! }", /interface N: interfaces are not supported/],
      ["type A @entity { id: ID! } type B @entity { id: ID! } union U = A | B", /union U/],
      ["scalar Money type A @entity { id: ID! }", /scalar Money: custom scalars are not supported/],
      ["type A { id: ID! }", /type A has no @entity directive/],
      ["type A @entity { name: String }", /type A has no id field/],
      ["type A @entity { id: ID }", /A\.id must be a non-null ID, String, Bytes or Int8 \(it is ID\)/],
      ["type A @entity { id: [ID!]! }", /A\.id must be a non-null ID, String, Bytes or Int8 \(it is \[ID!\]!\)/],
      ["type A @entity { id: BigInt! }", /A\.id must be ID!, String!, Bytes! or Int8! \(it is BigInt!\)/],
      ["type A @entity { id: ID! x: Float }", /A\.x: Float is not supported in subgraphs; use BigDecimal/],
      ["type A @entity { id: ID! x: Nope }", /A\.x: unknown type Nope/],
      ["type A @entity { id: ID! x: [[Int!]!] }", /A\.x: lists of lists are not supported/],
      ["type A @entity { id: ID! block_from: Int }", /A\.block_from: the field name "block_from" is reserved/],
      ["type A @entity { id: ID! x: Int @derivedFrom(field: \"y\") }", /A\.x: @derivedFrom is only allowed on fields that reference entities/],
      ["type A @entity { id: ID! bs: [B!]! @derivedFrom(field: \"nope\") } type B @entity { id: ID! }", /A\.bs: @derivedFrom\(field: "nope"\) names no field of B/],
      [
        "type A @entity { id: ID! bs: [B!]! @derivedFrom(field: \"n\") } type B @entity { id: ID! n: Int }",
        /A\.bs: @derivedFrom\(field: "n"\) must name a field of B that references A \(it is Int\)/,
      ],
      ["type A @entity(timeseries: true) { id: Int8! }", /type A: @entity\(timeseries:\) is not supported/],
      ["type A @entity(immutable: \"yes\") { id: ID! }", /type A: @entity\(immutable:\) takes true or false/],
      ["type A @entity @other { id: ID! }", /type A: the @other directive is not supported/],
      ["type A @entity { id: ID! x: Int @index }", /A\.x: the @index directive is not supported/],
      ["type _Schema_ @fulltext(name: \"s\") type A @entity { id: ID! }", /fulltext search/],
      ["type A @entity { id: ID! x: Int x: Int }", /A\.x is defined twice/],
      ["type A @entity { id: ID! } type A @entity { id: ID! }", /type A is defined twice/],
    ];
    for (const [source, message] of cases) {
      assert.throws(() => parseSubgraphSchema(source), (error: unknown) => {
        assert.ok(error instanceof SchemaError, `${source}: ${String(error)}`);
        assert.match((error as Error).message, message, source);
        return true;
      });
    }
    await assert.rejects(loadSubgraphSchema(path.join(path.dirname(SCHEMA_FILE), "missing.graphql")), /cannot read the subgraph schema .*missing\.graphql/);
  });
});
