// graph-node's query conventions, checked on entities written through a store (graphql-queries-sqlite.test.ts and
// graphql-queries-postgres.test.ts run it on both stores): every filter suffix, ordering with ties and nulls,
// pagination and its limits, child filters, and/or, nested lists, scalar output forms, `block:` time travel and
// `_meta`.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ChildrenQuery, EntityQuery, EntityReader } from "../../../subgraph/host/store/query.ts";
import { O1, O2, ids, querier, writeThings, type Querier } from "./graphql-fixtures.ts";
import { TEST_SCHEMA, big, entity, list, ptr, str, thing, type Store, type StoreKind } from "./store-fixtures.ts";

export function queryConventions(kind: StoreKind): void {
  describe(`GraphQL conventions on the ${kind.name} store`, () => {
    let store: Store;
    let q: Querier;
    const where = async (filter: string, extra = "") => ids(await q.data(`{ things(where: ${filter}${extra}) { id } }`));
    const ordered = async (args: string, field = "things") => ids(await q.data(`{ ${field}(${args}) { id } }`), field);

    before(async () => {
      store = await kind.open(kind.location(), TEST_SCHEMA);
      await writeThings(store);
      q = querier(store.reader);
    });
    after(async () => {
      await store.close();
      await kind.cleanup();
    });

    it("filters String fields with every suffix, byte-wise and literal (no LIKE wildcards)", async () => {
      const cases: [string, string[]][] = [
        [`{ name: "beta" }`, ["t2"]],
        [`{ name_not: "beta" }`, ["t1", "t3", "t4"]],
        [`{ name_gt: "Gamma_%" }`, ["t2", "t3"]],
        [`{ name_lt: "alphabet" }`, ["t1", "t4"]],
        [`{ name_gte: "alphabet" }`, ["t2", "t3"]],
        [`{ name_lte: "Alpha" }`, ["t1"]],
        [`{ name_in: ["beta", "Alpha", "zzz"] }`, ["t1", "t2"]],
        [`{ name_not_in: ["beta"] }`, ["t1", "t3", "t4"]],
        [`{ name_contains: "lph" }`, ["t1", "t3"]],
        [`{ name_contains_nocase: "LPH" }`, ["t1", "t3"]],
        [`{ name_not_contains: "lph" }`, ["t2", "t4"]],
        [`{ name_not_contains_nocase: "ALPHA" }`, ["t2", "t4"]],
        [`{ name_starts_with: "alpha" }`, ["t3"]],
        [`{ name_starts_with_nocase: "ALPHA" }`, ["t1", "t3"]],
        [`{ name_not_starts_with: "alpha" }`, ["t1", "t2", "t4"]],
        [`{ name_not_starts_with_nocase: "alpha" }`, ["t2", "t4"]],
        [`{ name_ends_with: "a" }`, ["t1", "t2"]],
        [`{ name_ends_with_nocase: "ALPHA" }`, ["t1"]],
        [`{ name_not_ends_with: "a" }`, ["t3", "t4"]],
        [`{ name_not_ends_with_nocase: "BET" }`, ["t1", "t2", "t4"]],
        [`{ name_contains: "a_" }`, ["t4"]],
        [`{ name_contains: "%" }`, ["t4"]],
        [`{ name_starts_with: "_" }`, []],
        [`{ id: "t2" }`, ["t2"]],
        [`{ id_in: ["t1", "t4"] }`, ["t1", "t4"]],
        [`{ id_gt: "t2" }`, ["t3", "t4"]],
        [`{ note: null }`, ["t3"]],
        [`{ note_not: null }`, ["t1", "t2", "t4"]],
      ];
      for (const [filter, expected] of cases) assert.deepEqual(await where(filter), expected, filter);
    });

    it("filters Int, BigInt, BigDecimal, Int8, Timestamp, Boolean, Bytes and enum fields numerically and exactly", async () => {
      const cases: [string, string[]][] = [
        [`{ count: 2 }`, ["t2", "t3"]],
        [`{ count_not: 2 }`, ["t1", "t4"]],
        [`{ count_gt: 1 }`, ["t2", "t3", "t4"]],
        [`{ count_lt: 2 }`, ["t1"]],
        [`{ count_gte: 2 }`, ["t2", "t3", "t4"]],
        [`{ count_lte: 2 }`, ["t1", "t2", "t3"]],
        [`{ count_in: [1, 3] }`, ["t1", "t4"]],
        [`{ count_not_in: [1, 3] }`, ["t2", "t3"]],
        [`{ count_in: [] }`, []],
        [`{ count_not_in: [] }`, []],
        [`{ big_gt: "0" }`, ["t1", "t3"]],
        [`{ big_lt: "0" }`, ["t2"]],
        [`{ big: "0" }`, ["t4"]],
        [`{ big_gt: "-10" }`, ["t1", "t2", "t3", "t4"]],
        [`{ big_gte: "10" }`, ["t1", "t3"]],
        [`{ big_lte: "-5" }`, ["t2"]],
        [`{ big_in: ["-5", "1000000000000000000000000000000"] }`, ["t2", "t3"]],
        [`{ big_not_in: ["-5", "10"] }`, ["t3", "t4"]],
        [`{ big_gt: "999999999999999999999999999999" }`, ["t3"]],
        [`{ dec_gt: "0.0011" }`, ["t1", "t3"]],
        [`{ dec_lt: "0" }`, ["t2"]],
        [`{ dec: "1.50" }`, ["t1"]],
        [`{ dec_gte: "0.001" }`, ["t1", "t3", "t4"]],
        [`{ dec_lte: "1e-3" }`, ["t2", "t4"]],
        [`{ dec_in: ["100", "-0.25"] }`, ["t2", "t3"]],
        [`{ dec_not: "100" }`, ["t1", "t2", "t4"]],
        [`{ small_lt: "0" }`, ["t2"]],
        [`{ small: 5 }`, ["t1"]],
        [`{ small_in: [5, "-3"] }`, ["t1", "t2"]],
        [`{ at_gt: "1500" }`, ["t2"]],
        [`{ at: "1000" }`, ["t1"]],
        [`{ at_lte: "2000" }`, ["t1", "t2"]],
        [`{ flag: true }`, ["t1", "t4"]],
        [`{ flag_not: true }`, ["t2"]],
        [`{ flag_in: [false] }`, ["t2"]],
        [`{ flag_not_in: [true] }`, ["t2"]],
        [`{ data: "0x0102" }`, ["t1"]],
        [`{ data_not: "0x0102" }`, ["t2"]],
        [`{ data_gt: "0x0102" }`, ["t2"]],
        [`{ data_lt: "0x0200" }`, ["t1"]],
        [`{ data_gte: "0x0102" }`, ["t1", "t2"]],
        [`{ data_lte: "0x0203" }`, ["t1", "t2"]],
        [`{ data_in: ["0x0203"] }`, ["t2"]],
        [`{ data_not_in: ["0x0203"] }`, ["t1"]],
        [`{ data_contains: "0x02" }`, ["t1", "t2"]],
        [`{ data_not_contains: "0x01" }`, ["t2"]],
        [`{ color: RED }`, ["t1"]],
        [`{ color_not: RED }`, ["t2"]],
        [`{ color_in: [RED, GREEN] }`, ["t1", "t2"]],
        [`{ color_not_in: [RED] }`, ["t2"]],
      ];
      for (const [filter, expected] of cases) assert.deepEqual(await where(filter), expected, filter);
    });

    it("filters lists: equality, _not, _contains (all), _contains_nocase (any), _not_contains (none)", async () => {
      const cases: [string, string[]][] = [
        [`{ tags: ["a", "b"] }`, ["t1"]],
        [`{ tags_not: ["a", "b"] }`, ["t2", "t4"]],
        [`{ tags: null }`, ["t3"]],
        [`{ tags_not: null }`, ["t1", "t2", "t4"]],
        [`{ tags_contains: ["b"] }`, ["t1", "t2"]],
        [`{ tags_contains: ["a", "b"] }`, ["t1"]],
        [`{ tags_contains_nocase: ["a"] }`, ["t1", "t4"]],
        [`{ tags_contains_nocase: ["x", "B"] }`, ["t1", "t2"]],
        [`{ tags_not_contains: ["a"] }`, ["t2", "t4"]],
        [`{ tags_not_contains_nocase: ["a"] }`, ["t2"]],
        [`{ amounts_contains: ["2"] }`, ["t1"]],
        [`{ amounts: [] }`, ["t2"]],
        [`{ amounts_not_contains: ["1"] }`, ["t2"]],
      ];
      for (const [filter, expected] of cases) assert.deepEqual(await where(filter), expected, filter);
      assert.deepEqual(ids(await q.data(`{ groups(where: { things_contains: ["t2"] }) { id } }`), "groups"), ["g1"]);
      assert.deepEqual(ids(await q.data(`{ groups(where: { things_not_contains: ["t3"] }) { id } }`), "groups"), ["g1"]);
      assert.deepEqual(ids(await q.data(`{ groups(where: { things_contains_nocase: ["T3"] }) { id } }`), "groups"), ["g2"]);
    });

    it("filters references by id (hex for Bytes ids) and through child filters on references, lists and @derivedFrom", async () => {
      const upper = O1.replace(/a1$/, "A1");
      const cases: [string, string[]][] = [
        [`{ owner: "${O1}" }`, ["t1", "t4"]],
        [`{ owner: "${upper}" }`, ["t1", "t4"]],
        [`{ owner_not: "${O1}" }`, ["t2"]],
        [`{ owner_in: ["${O2}"] }`, ["t2"]],
        [`{ owner_not_in: ["${O2}"] }`, ["t1", "t4"]],
        [`{ owner: null }`, ["t3"]],
        [`{ owner_contains: "a2" }`, ["t2"]],
        [`{ owner_ends_with: "0xa1" }`, ["t1", "t4"]],
        [`{ owner_starts_with_nocase: "0x0000" }`, ["t1", "t2", "t4"]],
        [`{ owner_: { label: "second" } }`, ["t2"]],
        [`{ owner_: { label_starts_with: "f" } }`, ["t1", "t4"]],
        [`{ parts_: { size_gt: "6" } }`, ["t1"]],
        [`{ groups_: { id: "g2" } }`, ["t3"]],
        [`{ groups_: { things_contains: ["t1"] } }`, ["t1", "t2"]],
      ];
      for (const [filter, expected] of cases) assert.deepEqual(await where(filter), expected, filter);
      assert.deepEqual(ids(await q.data(`{ groups(where: { things_: { count: 2 } }) { id } }`), "groups"), ["g1", "g2"]);
      assert.deepEqual(ids(await q.data(`{ groups(where: { things_: { name: "alphabet" } }) { id } }`), "groups"), ["g2"]);
      assert.deepEqual(ids(await q.data(`{ owners(where: { things_: { count_gt: 2 } }) { id } }`), "owners"), [O1]);
      assert.match(await q.error(`{ things(where: { owner: "0xzz" }) { id } }`), /Failed to decode `Bytes` value: `0xzz`/);
    });

    it("combines filters with and/or, refuses `or` beside column filters, and filters by _change_block", async () => {
      assert.deepEqual(await where(`{ or: [{ count: 1 }, { count: 3 }] }`), ["t1", "t4"]);
      assert.deepEqual(await where(`{ and: [{ count_gt: 1 }, { name_starts_with: "a" }] }`), ["t3"]);
      assert.deepEqual(await where(`{ and: [{ or: [{ name: "beta" }, { name: "Alpha" }] }, { flag: true }] }`), ["t1"]);
      assert.deepEqual(await where(`{ and: [{ count_gt: 1 }], or: [{ name: "beta" }, { name: "alphabet" }] }`), ["t2", "t3"]);
      assert.deepEqual(await where(`{ _change_block: { number_gte: 2 } }`), ["t2", "t4"]);
      assert.deepEqual(await where(`{ _change_block: { number_gte: 4 } }`), []);
      assert.deepEqual(await where(`{ _change_block: { number_gte: 2 }, or: [{ count: 3 }] }`), ["t4"]);
      const mixed = await q.error(`{ things(where: { name: "x", or: [{ count: 1 }] }) { id } }`);
      assert.match(mixed, /^Cannot mix column filters with 'or' operator at the same level\. Found column filter\(s\) 'name' alongside 'or' operator\./);
      assert.match(await q.error(`{ things(where: { count_gt: null }) { id } }`), /Filter not supported by value `null`: `count_gt`/);
      // GraphQL validation catches filters that do not exist.
      assert.match(await q.error(`{ things(where: { colour: RED }) { id } }`), /"Thing_filter" not to include unknown field "colour"/);
    });

    it("orders by fields and parent__child fields, nulls as PostgreSQL places them, the id breaking ties in the same direction", async () => {
      const cases: [string, string[]][] = [
        [``, ["t1", "t2", "t3", "t4"]],
        [`orderDirection: desc`, ["t4", "t3", "t2", "t1"]],
        [`orderBy: count`, ["t1", "t2", "t3", "t4"]],
        [`orderBy: count, orderDirection: desc`, ["t4", "t3", "t2", "t1"]],
        [`orderBy: name`, ["t1", "t4", "t3", "t2"]],
        [`orderBy: big`, ["t2", "t4", "t1", "t3"]],
        [`orderBy: big, orderDirection: desc`, ["t3", "t1", "t4", "t2"]],
        [`orderBy: dec`, ["t2", "t4", "t1", "t3"]],
        [`orderBy: flag`, ["t2", "t1", "t4", "t3"]],
        [`orderBy: flag, orderDirection: desc`, ["t3", "t4", "t1", "t2"]],
        [`orderBy: note`, ["t2", "t1", "t4", "t3"]],
        [`orderBy: owner__label`, ["t1", "t4", "t2", "t3"]],
        [`orderBy: owner__label, orderDirection: desc`, ["t3", "t2", "t4", "t1"]],
        [`orderBy: owner, orderDirection: desc`, ["t3", "t2", "t4", "t1"]],
      ];
      for (const [args, expected] of cases) assert.deepEqual(await ordered(args || "first: 10"), expected, args);
      assert.deepEqual(await ordered(`orderBy: thing__size`, "parts").catch(() => "error"), "error");
      assert.deepEqual(ids(await q.data(`{ parts(orderBy: thing__name) { id } }`), "parts"), ["1", "2", "3"]);
      assert.deepEqual(ids(await q.data(`{ parts(orderBy: thing__name, orderDirection: desc) { id } }`), "parts"), ["3", "2", "1"]);
      assert.match(await q.error(`{ things(orderBy: parts) { id } }`), /Ordering by `parts` is not supported for type `Thing`/);
      assert.match(await q.error(`{ things(orderBy: tags) { id } }`), /Ordering by `tags` is not supported for type `Thing`/);
    });

    it("paginates with skip and first, within graph-node's limits", async () => {
      assert.deepEqual(await ordered(`first: 2`), ["t1", "t2"]);
      assert.deepEqual(await ordered(`skip: 1, first: 2, orderBy: count`), ["t2", "t3"]);
      assert.deepEqual(await ordered(`skip: 10`), []);
      assert.deepEqual(await ordered(`first: 0`), []);
      assert.deepEqual(await ordered(`first: 1000`), ["t1", "t2", "t3", "t4"]);
      const cases: [string, string][] = [
        [`first: 1001`, "The `first` argument must be between 0 and 1000, but is 1001"],
        [`first: -1`, "The `first` argument must be between 0 and 1000, but is -1"],
        [`skip: 5001`, "The `skip` argument must be between 0 and 5000, but is 5001"],
        [`skip: -1`, "The `skip` argument must be between 0 and 5000, but is -1"],
      ];
      for (const [args, message] of cases) {
        const result = await q(`{ things(${args}) { id } }`);
        assert.deepEqual(result, { errors: [{ message, locations: [{ line: 1, column: 3 }], path: ["things"] }] }, args);
      }
      assert.equal(
        await q.error(`{ things { parts(first: 2000) { id } } }`),
        "The `first` argument must be between 0 and 1000, but is 2000",
      );
    });

    it("resolves nested lists (@derivedFrom and reference lists) with their own skip, first, orderBy and where", async () => {
      const data = await q.data(`{
        things {
          id
          byDefault: parts { id }
          bySize: parts(orderBy: size, orderDirection: desc) { id size }
          first: parts(first: 1) { id }
          skipped: parts(skip: 1) { id }
          small: parts(where: { size_lt: "6" }) { id }
          groups { id }
        }
        groups { id things(orderBy: count, orderDirection: desc) { id } big: things(first: 1, where: { count_gt: 1 }) { id } }
        owners { id things(orderBy: name) { id } }
      }`);
      const things = data.things as Record<string, { id: string }[] | string>[];
      const pick = (key: string) => Object.fromEntries(things.map((t) => [t.id as string, (t[key] as { id: string }[]).map((e) => e.id)]));
      assert.deepEqual(pick("byDefault"), { t1: ["1", "2"], t2: ["3"], t3: [], t4: [] });
      assert.deepEqual(pick("bySize"), { t1: ["2", "1"], t2: ["3"], t3: [], t4: [] });
      assert.deepEqual((things[0]!.bySize as unknown as { size: string }[]).map((p) => p.size), ["7", "5"]);
      assert.deepEqual(pick("first"), { t1: ["1"], t2: ["3"], t3: [], t4: [] });
      assert.deepEqual(pick("skipped"), { t1: ["2"], t2: [], t3: [], t4: [] });
      assert.deepEqual(pick("small"), { t1: ["1"], t2: ["3"], t3: [], t4: [] });
      assert.deepEqual(pick("groups"), { t1: ["g1"], t2: ["g1"], t3: ["g2"], t4: [] });
      assert.deepEqual(data.groups, [
        { id: "g1", things: [{ id: "t2" }, { id: "t1" }], big: [{ id: "t2" }] },
        { id: "g2", things: [{ id: "t3" }], big: [{ id: "t3" }] },
      ]);
      assert.deepEqual(data.owners, [
        { id: O1, things: [{ id: "t1" }, { id: "t4" }] },
        { id: O2, things: [{ id: "t2" }] },
      ]);
    });

    it("batches nested fields: one store query per field and level, whatever the number of parents", async () => {
      const calls: string[] = [];
      const reader = store.reader;
      const counting: EntityReader = {
        schema: reader.schema,
        head: () => reader.head(),
        blockByNumber: (n) => reader.blockByNumber(n),
        blockByHash: (h) => reader.blockByHash(h),
        failure: () => reader.failure(),
        find: (query: EntityQuery) => (calls.push(`find ${query.type}`), reader.find(query)),
        findByIds: (type, keys, block) => (calls.push(`byIds ${type} x${keys.length}`), reader.findByIds(type, keys, block)),
        findChildren: (query: ChildrenQuery) => (calls.push(`children ${query.parentType}.${query.field} x${query.parentKeys.length}`), reader.findChildren(query)),
      };
      const counted = querier(counting);
      await counted.data(`{ things { owner { id things { id parts { id thing { id } } } } parts { id } } }`);
      // Level by level: 4 things, their 2 owners, the owners' things' parts (already loaded with the first level's
      // parts: same field, block and arguments), and the 2 things those parts point at.
      assert.deepEqual(calls.sort(), ["byIds Owner x2", "byIds Thing x2", "children Owner.things x2", "children Thing.parts x4", "find Thing"]);
    });

    it("answers singular fields and writes every scalar in graph-node's JSON form", async () => {
      const data = await q.data(`{
        thing(id: "t1") { id name note count big dec flag data at small color tags amounts owner { id label } }
        upper: owner(id: "${O1.toUpperCase().replace("0X", "0x")}") { id }
        part(id: "2") { id size thing { id } }
        missingPart: part(id: "x") { id }
        missing: thing(id: "nope") { id }
      }`);
      assert.deepEqual(data, {
        thing: {
          id: "t1",
          name: "Alpha",
          note: "hello world",
          count: 1,
          big: "10",
          dec: "1.5",
          flag: true,
          data: "0x0102",
          at: "1000",
          small: "5",
          color: "RED",
          tags: ["a", "b"],
          amounts: ["1", "2"],
          owner: { id: O1, label: "first" },
        },
        upper: { id: O1 },
        part: { id: "2", size: "7", thing: { id: "t1" } },
        missingPart: null,
        missing: null,
      });
      const t3 = await q.data(`{ thing(id: "t3") { big dec note flag tags owner { id } } }`);
      assert.deepEqual(t3.thing, { big: "1000000000000000000000000000000", dec: "100", note: null, flag: null, tags: null, owner: null });
    });

    it("travels in time with block: { number | hash | number_gte }, nested fields at the same block", async () => {
      const note = async (block: string) => ((await q.data(`{ thing(id: "t2", block: ${block}) { note } }`)).thing as { note: string } | null)?.note;
      assert.equal(await note(`{ number: 0 }`), undefined);
      assert.equal(await note(`{ number: 1 }`), "first note");
      assert.equal(await note(`{ number: 2 }`), "first note");
      assert.equal(await note(`{ number: 3 }`), "Hello");
      assert.equal(await note(`{ number_gte: 3 }`), "Hello");
      assert.equal(await note(`{ hash: "${ptr(2).hash}" }`), "first note");
      assert.deepEqual(await ordered(`block: { number: 1 }`), ["t1", "t2", "t3"]);
      assert.deepEqual(await ordered(`block: { number: 0 }`), []);
      assert.deepEqual(await ordered(`block: { hash: "${ptr(2).hash}" }`), ["t1", "t2", "t3", "t4"]);
      assert.deepEqual(await where(`{ _change_block: { number_gte: 2 } }`, `, block: { number: 2 }`), ["t4"]);
      const nested = await q.data(`{ owner(id: "${O1}", block: { number: 1 }) { things { id } } now: owner(id: "${O1}") { things { id } } }`);
      assert.deepEqual(nested, { owner: { things: [{ id: "t1" }] }, now: { things: [{ id: "t1" }, { id: "t4" }] } });

      const beyond = await q(`{ things(block: { number: 4 }) { id } }`);
      assert.deepEqual(beyond, {
        errors: [
          {
            message:
              "Failed to decode `block.number` value: `subgraph test-deployment has only indexed up to block number 3 and data for block number 4 is therefore not yet available`",
            locations: [{ line: 1, column: 3 }],
            path: ["things"],
          },
        ],
      });
      assert.match(await q.error(`{ thing(id: "t1", block: { number_gte: 4 }) { id } }`), /`block\.number_gte` value: `subgraph test-deployment has only indexed up to block number 3 and data for block number 4/);
      assert.equal(await q.error(`{ things(block: { hash: "0x${"ab".repeat(32)}" }) { id } }`), "Failed to decode `block.hash` value: `no block with that hash found`");
      assert.match(await q.error(`{ things(block: { number: -1 }) { id } }`), /block\.number/);
      // One bad block argument fails the whole query: no partial data.
      const mixed = await q(`{ ok: things { id } bad: things(block: { number: 9 }) { id } }`);
      assert.equal(mixed.data, undefined);
    });

    it("reports _meta: the block (at the head or as asked), the deployment and indexing errors", async () => {
      const meta = `block { number hash timestamp parentHash } deployment hasIndexingErrors`;
      assert.deepEqual(await q.data(`{ _meta { ${meta} } }`), {
        _meta: {
          block: { number: 3, hash: ptr(3).hash, timestamp: ptr(3).timestamp, parentHash: ptr(3).parentHash },
          deployment: "test-deployment",
          hasIndexingErrors: false,
        },
      });
      assert.deepEqual((await q.data(`{ _meta(block: { number: 2 }) { block { number hash } } }`))._meta, {
        block: { number: 2, hash: ptr(2).hash },
      });
      assert.match(await q.error(`{ _meta(block: { number: 7 }) { block { number } } }`), /only indexed up to block number 3/);
      await store.setFailure({ message: "boom", block: 4 });
      try {
        assert.deepEqual(await q.data(`{ _meta { hasIndexingErrors } things(first: 1) { id } }`), {
          _meta: { hasIndexingErrors: true },
          things: [{ id: "t1" }],
        });
      } finally {
        await store.setFailure(null);
      }
    });

    it("reads the list fields of hundreds of parents at once, each with its own page", async () => {
      const many = await kind.open(kind.location(), TEST_SCHEMA);
      try {
        const w = many.begin(ptr(1));
        for (let i = 0; i < 600; i++) {
          const id = `m${String(i).padStart(3, "0")}`;
          w.set("Thing", id, thing(id, i));
          for (let k = 0; k < 3; k++) w.set("Part", String(i * 10 + k), entity({ thing: str(id), size: big(BigInt(k)) }));
        }
        w.set("Group", "all", entity({ things: list(...Array.from({ length: 600 }, (_, i) => str(`m${String(i).padStart(3, "0")}`))) }));
        await w.commit();
        const data = await querier(many.reader).data(`{
          things(first: 1000) { id parts(orderBy: size, orderDirection: desc, first: 2) { id } }
          group(id: "all") { things(first: 1000, skip: 590, orderBy: count) { id } }
        }`);
        const things = data.things as { id: string; parts: { id: string }[] }[];
        assert.equal(things.length, 600);
        things.forEach((t, i) => assert.deepEqual(t.parts.map((p) => p.id), [String(i * 10 + 2), String(i * 10 + 1)], t.id));
        assert.deepEqual(ids(data.group as Record<string, unknown>), Array.from({ length: 10 }, (_, i) => `m${590 + i}`));
      } finally {
        await many.close();
      }
    });

    it("answers before the first block with empty results, and _meta with a clear error", async () => {
      const empty = await kind.open(kind.location(), TEST_SCHEMA);
      try {
        const fresh = querier(empty.reader);
        assert.deepEqual(await fresh.data(`{ things { id } thing(id: "t1") { id } }`), { things: [], thing: null });
        assert.equal(await fresh.error(`{ _meta { deployment } }`), "subgraph test-deployment has not indexed any block yet");
        assert.match(await fresh.error(`{ things(block: { number: 0 }) { id } }`), /has not indexed any block yet and data for block number 0/);
      } finally {
        await empty.close();
      }
    });
  });
}
