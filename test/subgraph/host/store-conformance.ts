// The behaviour every entity store must have, run against SQLite and PostgreSQL (store-sqlite.test.ts,
// store-postgres.test.ts): graph-node's write rules, reads inside a block, versions with block ranges, reverts, data
// sources, failures and restarts.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { parseSubgraphSchema } from "../../../subgraph/host/schema.ts";
import { DeterministicError, type Entity } from "../../../subgraph/host/store/types.ts";
import {
  NULL,
  TEST_SCHEMA,
  big,
  bool,
  bytes,
  dec,
  entity,
  int,
  int8,
  list,
  plain,
  ptr,
  str,
  thing,
  ts,
  type Store,
  type StoreKind,
} from "./store-fixtures.ts";

const OWNER = "0x00000000000000000000000000000000000000aa";

export function storeConformance(kind: StoreKind): void {
  describe(`${kind.name} entity store`, () => {
    after(() => kind.cleanup());

    async function fresh(options?: { keepBlocks?: number }): Promise<{ store: Store; location: string }> {
      const location = kind.location();
      return { store: await kind.open(location, TEST_SCHEMA, options), location };
    }

    it("keeps every value kind exactly, before and after commit and across a restart", async () => {
      const { store, location } = await fresh();
      const full = thing("alpha", -7, {
        note: str("héllo \u{1F600}"),
        big: big(-(10n ** 40n) - 1n),
        dec: dec("-12.50"),
        flag: bool(true),
        data: bytes("0x00ff10"),
        at: ts(1_700_000_000_123_456n),
        small: int8(-(2n ** 63n)),
        color: str("GREEN"),
        tags: list(str("b"), str("a")),
        amounts: list(big(3n), big(-(2n ** 200n))),
        owner: bytes(OWNER),
      });
      const expected = { id: "t1", ...plain(full), dec: "-12.5" };
      const w = store.begin(ptr(1));
      w.set("Owner", OWNER, entity({}));
      w.set("Thing", "t1", full);
      assert.deepEqual(plain(w.get("Thing", "t1")), expected);
      await w.commit();
      assert.deepEqual(plain(store.begin(ptr(2)).get("Thing", "t1")), expected);
      await store.close();
      const reopened = await kind.open(location, TEST_SCHEMA);
      const w2 = reopened.begin(ptr(2));
      assert.deepEqual(plain(w2.get("Thing", "t1")), expected);
      assert.deepEqual(plain(w2.get("Owner", OWNER.toUpperCase().replace("0X", "0x"))), { id: OWNER });
      assert.equal(w2.get("Thing", "missing"), null);
      w2.abort();
      await reopened.close();
    });

    it("merges a set into the current entity, and a Null removes a field", async () => {
      const { store } = await fresh();
      const w1 = store.begin(ptr(1));
      w1.set("Thing", "t", thing("a", 1, { note: str("n"), flag: bool(false) }));
      await w1.commit();
      const w2 = store.begin(ptr(2));
      w2.set("Thing", "t", entity({ count: int(2), note: NULL }));
      assert.deepEqual(plain(w2.get("Thing", "t")), { id: "t", name: "a", count: 2, flag: false });
      // A second write in the same block merges into the first.
      w2.set("Thing", "t", entity({ big: big(5n) }));
      assert.deepEqual(plain(w2.get("Thing", "t")), { id: "t", name: "a", count: 2, flag: false, big: 5n });
      await w2.commit();
      assert.deepEqual(plain(store.begin(ptr(3)).get("Thing", "t")), { id: "t", name: "a", count: 2, flag: false, big: 5n });
      await store.close();
    });

    it("rejects every write that breaks the schema with a DeterministicError naming type, id and field, losing nothing", async () => {
      const { store } = await fresh();
      const w1 = store.begin(ptr(1));
      w1.set("Thing", "t", thing("kept", 1));
      await w1.commit();
      const w = store.begin(ptr(2));
      w.set("Thing", "t", entity({ count: int(2) }));
      const cases: [string, () => void, RegExp][] = [
        ["unknown type", () => w.set("Nope", "x", entity({})), /Entity type Nope is not defined/],
        ["unknown field", () => w.set("Thing", "t", entity({ colour: str("x") })), /Thing\[t\].*unknown field `colour`/],
        ["derived field", () => w.set("Thing", "t", entity({ parts: list() })), /Thing\[t\].*`parts` is derived/],
        ["wrong kind", () => w.set("Thing", "t", entity({ count: big(1n) })), /Thing\[t\].*BigInt 1 for field `count` must have type Int!/],
        ["Int out of range", () => w.set("Thing", "t", entity({ count: int(2 ** 31) })), /Thing\[t\].*`count` is not a 32-bit integer/],
        ["bad enum", () => w.set("Thing", "t", entity({ color: str("BLUE") })), /Thing\[t\].*`color` is not a value of enum Color \(RED, GREEN\)/],
        ["null list element", () => w.set("Thing", "t", entity({ tags: list(str("a"), NULL) })), /Thing\[t\].*`tags` must have type \[String!\]: it contains null/],
        ["list element kind", () => w.set("Thing", "t", entity({ tags: list(int(1)) })), /Thing\[t\].*`tags` must have type \[String!\]/],
        ["not a list", () => w.set("Thing", "t", entity({ tags: str("a") })), /Thing\[t\].*`tags` must have type \[String!\]/],
        ["bad decimal", () => w.set("Thing", "t", entity({ dec: dec("1.2.3") })), /Thing\[t\].*`dec` is not a decimal number/],
        ["missing non-null", () => w.set("Thing", "new", entity({ name: str("x") })), /Thing\[new\]: missing value for non-nullable field `count` \(Int!\)/],
        ["Null on a required field", () => w.set("Thing", "t", entity({ name: NULL })), /Thing\[t\]: missing value for non-nullable field `name`/],
        ["reference of the wrong id kind", () => w.set("Thing", "t", entity({ owner: str(OWNER) })), /Thing\[t\].*`owner` must have type Owner/],
        ["Bytes id that is not hex", () => w.set("Owner", "0xzz", entity({})), /Owner\[0xzz\]: the id must be 0x-prefixed hex/],
        ["Int8 id that is not a number", () => w.set("Part", "x1", entity({})), /Part\[x1\]: the id must be a 64-bit integer/],
        ["id of the wrong kind", () => w.set("Owner", OWNER, entity({ id: str(OWNER) })), /Owner\[0x0+aa\]: the id must have type Bytes!/],
        ["id mismatch", () => w.set("Thing", "t", entity({ id: str("u") })), /Thing\[t\].*id String "u" differs from the id it is saved under \(t\)/],
        ["get of an unknown type", () => w.get("Nope", "x"), /Entity type Nope is not defined/],
        ["loadRelated of a field that is not derived", () => w.loadRelated("Thing", "t", "name"), /Thing\.name is not a @derivedFrom field/],
      ];
      for (const [name, action, message] of cases) {
        assert.throws(action, (error: unknown) => {
          assert.ok(error instanceof DeterministicError, `${name}: ${String(error)}`);
          assert.match((error as Error).message, message, name);
          return true;
        });
      }
      // Nothing was lost: the block's earlier write is intact and commits.
      assert.deepEqual(plain(w.get("Thing", "t")), { id: "t", name: "kept", count: 2 });
      assert.equal(w.get("Thing", "new"), null);
      await w.commit();
      assert.deepEqual(plain(store.begin(ptr(3)).get("Thing", "t")), { id: "t", name: "kept", count: 2 });
      await store.close();
    });

    it("lets an immutable entity be written twice in its block, never changed or removed later", async () => {
      const { store } = await fresh();
      const w1 = store.begin(ptr(1));
      w1.set("Thing", "t", thing("a", 1));
      w1.set("Part", "7", entity({ thing: str("t"), size: big(1n) }));
      w1.set("Part", "7", entity({ size: big(2n) }));
      assert.deepEqual(plain(w1.get("Part", "7")), { id: 7n, thing: "t", size: 2n });
      await w1.commit();
      const w2 = store.begin(ptr(2));
      assert.throws(() => w2.set("Part", "7", entity({ size: big(3n) })), /Part\[7\]: Part is immutable; it was created before block 2/);
      assert.throws(() => w2.remove("Part", "7"), /Part\[7\]: Part is immutable and cannot be removed/);
      w2.set("Part", "8", entity({ thing: str("t"), size: big(8n) }));
      await w2.commit();
      const w3 = store.begin(ptr(3));
      assert.deepEqual(plain(w3.get("Part", "7")), { id: 7n, thing: "t", size: 2n });
      assert.deepEqual(plain(w3.get("Part", "8")), { id: 8n, thing: "t", size: 8n });
      await store.close();
    });

    it("answers get with the block's writes and getInBlock with nothing else", async () => {
      const { store } = await fresh();
      const w1 = store.begin(ptr(1));
      w1.set("Thing", "old", thing("old", 1));
      await w1.commit();
      const w2 = store.begin(ptr(2));
      assert.deepEqual(plain(w2.get("Thing", "old")), { id: "old", name: "old", count: 1 });
      assert.equal(w2.getInBlock("Thing", "old"), null);
      w2.set("Thing", "old", entity({ count: int(5) }));
      assert.deepEqual(plain(w2.getInBlock("Thing", "old")), { id: "old", name: "old", count: 5 });
      w2.remove("Thing", "old");
      assert.equal(w2.get("Thing", "old"), null);
      assert.equal(w2.getInBlock("Thing", "old"), null);
      await w2.commit();
      assert.equal(store.begin(ptr(3)).get("Thing", "old"), null);
      await store.close();
    });

    it("resolves loadRelated through single and list references, including uncommitted writes", async () => {
      const { store } = await fresh();
      const w1 = store.begin(ptr(1));
      w1.set("Owner", OWNER, entity({}));
      w1.set("Thing", "a", thing("a", 1, { owner: bytes(OWNER) }));
      w1.set("Thing", "b", thing("b", 2, { owner: bytes(OWNER) }));
      w1.set("Thing", "c", thing("c", 3));
      w1.set("Part", "1", entity({ thing: str("a"), size: big(1n) }));
      w1.set("Group", "g", entity({ things: list(str("a"), str("c")) }));
      await w1.commit();
      const w2 = store.begin(ptr(2));
      const ids = (es: Entity[]) => es.map((e) => plain(e)!.id);
      assert.deepEqual(ids(w2.loadRelated("Owner", OWNER, "things")), ["a", "b"]);
      assert.deepEqual(ids(w2.loadRelated("Thing", "a", "parts")), [1n]);
      assert.deepEqual(ids(w2.loadRelated("Thing", "c", "groups")), ["g"]);
      assert.deepEqual(ids(w2.loadRelated("Thing", "b", "groups")), []);
      // This block moves b away, brings c in, removes nothing yet.
      w2.set("Thing", "b", entity({ owner: NULL }));
      w2.set("Thing", "c", entity({ owner: bytes(OWNER) }));
      w2.set("Group", "h", entity({ things: list(str("b")) }));
      assert.deepEqual(ids(w2.loadRelated("Owner", OWNER, "things")), ["a", "c"]);
      assert.deepEqual(ids(w2.loadRelated("Thing", "b", "groups")), ["h"]);
      await w2.commit();
      const w3 = store.begin(ptr(3));
      w3.remove("Thing", "a");
      assert.deepEqual(ids(w3.loadRelated("Owner", OWNER, "things")), ["c"]);
      w3.abort();
      assert.deepEqual(ids(store.begin(ptr(3)).loadRelated("Owner", OWNER, "things")), ["a", "c"]);
      await store.close();
    });

    it("keeps every version with its block range: queries at earlier blocks see earlier versions", async () => {
      const { store } = await fresh();
      for (const [block, count] of [[1, 10], [3, 30], [5, 50]] as const) {
        const w = store.begin(ptr(block));
        w.set("Thing", "t", thing("t", count));
        await w.commit();
      }
      const w6 = store.begin(ptr(6));
      w6.remove("Thing", "t");
      await w6.commit();
      const at = async (block: number) =>
        (await store.reader.findByIds("Thing", ["t"], block)).get("t")?.get("count") ?? null;
      assert.deepEqual(
        await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(at)),
        [null, int(10), int(10), int(30), int(30), int(50), null, null],
      );
      await store.close();
    });

    it("reverts entity versions, data sources and blocks above a block, and indexes the new branch", async () => {
      const { store } = await fresh();
      const w1 = store.begin(ptr(1));
      w1.set("Thing", "keep", thing("keep", 1));
      w1.set("Thing", "changed", thing("changed", 1));
      w1.set("Thing", "removed", thing("removed", 1));
      await w1.commit();
      const w2 = store.begin(ptr(2));
      w2.set("Thing", "changed", entity({ count: int(2) }));
      w2.remove("Thing", "removed");
      w2.set("Thing", "created", thing("created", 2));
      w2.set("Part", "1", entity({ thing: str("keep"), size: big(1n) }));
      w2.addDataSource({ template: "ModelShares", address: "0x00000000000000000000000000000000000000bb", context: new Map() });
      await w2.commit();
      const w3 = store.begin(ptr(3));
      w3.set("Thing", "changed", entity({ count: int(3) }));
      await w3.commit();

      await store.revertTo(1);
      assert.deepEqual(await store.head(), ptr(1));
      assert.equal(await store.block(2), null);
      assert.deepEqual(await store.dataSources(), []);
      const w = store.begin(ptr(2, "f"));
      assert.deepEqual(plain(w.get("Thing", "changed")), { id: "changed", name: "changed", count: 1 });
      assert.deepEqual(plain(w.get("Thing", "removed")), { id: "removed", name: "removed", count: 1 });
      assert.equal(w.get("Thing", "created"), null);
      assert.equal(w.get("Part", "1"), null);
      // The immutable Part can be created again on the new branch.
      w.set("Part", "1", entity({ thing: str("keep"), size: big(9n) }));
      w.set("Thing", "changed", entity({ count: int(20) }));
      await w.commit();
      assert.deepEqual(await store.head(), ptr(2, "f"));
      const counts = async (block: number) =>
        [...(await store.reader.findByIds("Thing", ["keep", "changed", "removed", "created"], block)).entries()]
          .map(([k, e]) => `${k}=${(e.get("count") as { value: number }).value}`)
          .sort();
      assert.deepEqual(await counts(1), ["changed=1", "keep=1", "removed=1"]);
      assert.deepEqual(await counts(2), ["changed=20", "keep=1", "removed=1"]);
      // Reverting to the head, or above it, changes nothing.
      await store.revertTo(5);
      assert.deepEqual(await store.head(), ptr(2, "f"));
      await assert.rejects(async () => store.begin(ptr(2)), /block 2 does not come after the head \(block 2\)/);
      await store.close();
    });

    it("reverts everything when asked for a block before the first one, and refuses blocks it has forgotten", async () => {
      const { store } = await fresh({ keepBlocks: 2 });
      for (const n of [5, 6, 7, 8, 9, 10]) {
        const w = store.begin(ptr(n));
        if (n === 5) w.set("Thing", "t", thing("t", n));
        await w.commit();
      }
      // Empty blocks older than keepBlocks are forgotten; blocks with changes are kept.
      assert.deepEqual(await store.block(5), ptr(5));
      assert.equal(await store.block(6), null);
      assert.deepEqual(await store.block(8), ptr(8));
      await assert.rejects(store.revertTo(6), /cannot revert to block 6: the store no longer remembers it/);
      await store.revertTo(4);
      assert.equal(await store.head(), null);
      assert.equal(store.begin(ptr(1)).get("Thing", "t"), null);
      await store.close();
    });

    it("persists dynamic data sources with their context", async () => {
      const { store, location } = await fresh();
      const context = entity({ model: str("7"), price: big(2n ** 100n), raw: bytes("0x01"), list: list(int(1), NULL) });
      const w = store.begin(ptr(4));
      w.addDataSource({ template: "ModelShares", address: "0x00000000000000000000000000000000000000AB", context });
      w.addDataSource({ template: "ModelShares", address: "0x00000000000000000000000000000000000000cd", context: new Map() });
      await w.commit();
      await store.close();
      const reopened = await kind.open(location, TEST_SCHEMA);
      const sources = await reopened.dataSources();
      assert.deepEqual(
        sources.map((s) => ({ ...s, context: plain(s.context) })),
        [
          { template: "ModelShares", address: "0x00000000000000000000000000000000000000ab", context: plain(context), createdAtBlock: 4 },
          { template: "ModelShares", address: "0x00000000000000000000000000000000000000cd", context: {}, createdAtBlock: 4 },
        ],
      );
      await reopened.close();
    });

    it("records, persists and clears the indexing failure", async () => {
      const { store, location } = await fresh();
      assert.equal(await store.failure(), null);
      await store.setFailure({ message: "Vault.handleX failed at block 9: boom", block: 9, handler: "handleX" });
      await store.close();
      const reopened = await kind.open(location, TEST_SCHEMA);
      assert.deepEqual(await reopened.failure(), { message: "Vault.handleX failed at block 9: boom", block: 9, handler: "handleX" });
      await reopened.setFailure(null);
      assert.equal(await reopened.failure(), null);
      await reopened.close();
    });

    it("restarts where it stopped: head, blocks and entities survive close and reopen", async () => {
      const { store, location } = await fresh();
      for (let n = 1; n <= 3; n++) {
        const w = store.begin(ptr(n));
        w.set("Thing", "t", thing("t", n));
        await w.commit();
      }
      await store.close();
      const reopened = await kind.open(location, TEST_SCHEMA);
      assert.deepEqual(await reopened.head(), ptr(3));
      assert.deepEqual(await reopened.block(2), ptr(2));
      assert.throws(() => reopened.begin(ptr(3)), /block 3 does not come after the head/);
      assert.deepEqual(plain(reopened.begin(ptr(4)).get("Thing", "t")), { id: "t", name: "t", count: 3 });
      await reopened.close();
      await assert.rejects(
        kind.open(location, parseSubgraphSchema("type Other @entity { id: ID! }")),
        /different schema\.graphql/,
      );
    });

    it("enforces one writer at a time, in block order, used once", async () => {
      const { store } = await fresh();
      const w1 = store.begin(ptr(1));
      assert.throws(() => store.begin(ptr(2)), /block 1 is still being written/);
      await w1.commit();
      assert.throws(() => w1.set("Thing", "t", thing("t", 1)), /block 1 was already committed/);
      await assert.rejects(w1.commit(), /block 1 was already committed/);
      assert.throws(() => store.begin(ptr(1)), /block 1 does not come after the head \(block 1\)/);
      const w2 = store.begin(ptr(2));
      w2.set("Thing", "t", thing("t", 2));
      w2.abort();
      assert.throws(() => w2.get("Thing", "t"), /block 2 was already aborted/);
      const w2b = store.begin(ptr(2));
      assert.equal(w2b.get("Thing", "t"), null);
      await w2b.commit();
      await store.close();
      assert.throws(() => store.begin(ptr(3)), /the store is closed/);
    });

    it("lets the next block start before the last commit is durable, seeing its writes", async () => {
      const { store } = await fresh();
      const commits: Promise<void>[] = [];
      for (let n = 1; n <= 50; n++) {
        const w = store.begin(ptr(n));
        const previous = w.get("Thing", "counter");
        const count = previous ? (previous.get("count") as { value: number }).value + 1 : 1;
        w.set("Thing", "counter", thing("counter", count));
        w.set("Thing", `t${n}`, thing(`t${n}`, n));
        commits.push(w.commit());
      }
      await Promise.all(commits);
      assert.deepEqual(await store.head(), ptr(50));
      const w = store.begin(ptr(51));
      assert.equal((w.get("Thing", "counter")!.get("count") as { value: number }).value, 50);
      const history = await Promise.all([1, 25, 50].map((b) => store.reader.findByIds("Thing", ["counter"], b)));
      assert.deepEqual(history.map((m) => (m.get("counter")!.get("count") as { value: number }).value), [1, 25, 50]);
      await store.close();
    });
  });
}
