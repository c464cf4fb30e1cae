// The client's lane bookkeeping on its own: which lane a call gets, what happens to calls beyond the lane count, leases
// of calls whose outcome never came, and the JSON-file store that keeps lane states across restarts.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { LanePool } from "../../sdk/x402/lane-pool.ts";
import { JsonFileLaneStore, MemoryLaneStore, type LaneScope } from "../../sdk/x402/lane-store.ts";

const scope: LaneScope = {
  network: "eip155:31337",
  vault: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  payer: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
  operator: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  modelId: "1",
};
const state = (lane: number, calls: number) => ({ lane, cumulativeAmount: String(calls * 2000), cumulativeCalls: String(calls), expiry: "0", signature: `0x${"11".repeat(65)}` as const });

describe("LanePool", () => {
  it("gives each call in flight the lowest free lane, and a freed lane to the next call", async () => {
    const pool = new LanePool();
    const a = await pool.acquire(4, 60_000);
    const b = await pool.acquire(4, 60_000);
    assert.deepEqual([a.lane, b.lane], [0, 1]);
    pool.release(a);
    assert.equal((await pool.acquire(4, 60_000)).lane, 0);
    assert.equal(pool.inFlight, 2);
  });

  it("queues calls beyond the lane count and serves them in order as lanes free up", async () => {
    const pool = new LanePool();
    const held = [await pool.acquire(2, 60_000), await pool.acquire(2, 60_000)];
    const served: number[] = [];
    const waiting = [1, 2, 3].map((n) => pool.acquire(2, 60_000).then((grant) => (served.push(n), grant)));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(served, []);
    pool.release(held[1]!);
    const first = await waiting[0]!;
    assert.equal(first.lane, 1);
    pool.release(held[0]!);
    pool.release(first);
    const rest = await Promise.all(waiting.slice(1));
    assert.deepEqual(served, [1, 2, 3]);
    assert.deepEqual(rest.map((g) => g.lane).sort(), [0, 1]);
  });

  it("frees a lane whose lease ran out, and ignores the late release of the call that held it", async () => {
    let now = 1_000_000;
    const pool = new LanePool([], () => now);
    const stale = await pool.acquire(1, 5_000);
    assert.equal(pool.holds(stale), true);
    now += 5_001;
    assert.equal(pool.holds(stale), false);
    const fresh = await pool.acquire(1, 5_000);
    assert.equal(fresh.lane, 0);
    pool.release(stale);
    assert.equal(pool.holds(fresh), true, "a late outcome of the old call must not free the new one's lane");
  });

  it("keeps calls off a lane another client is using, for as long as asked", async () => {
    let now = 0;
    const pool = new LanePool([], () => now);
    pool.avoid(0, 1_000);
    assert.equal((await pool.acquire(4, 60_000)).lane, 1);
    now = 1_001;
    assert.equal((await pool.acquire(4, 60_000)).lane, 0);
  });

  it("starts from the states it is given", () => {
    const pool = new LanePool([state(3, 7), state(0, 2)]);
    assert.deepEqual(pool.states().map((s) => [s.lane, s.cumulativeCalls]), [
      [0, "2"],
      [3, "7"],
    ]);
    assert.equal(pool.state(1), undefined);
  });
});

describe("lane stores", () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "modelshare-lane-store-"));
  });

  after(async () => rm(dir, { recursive: true, force: true }));

  it("keeps one state per lane in memory, per tab", () => {
    const store = new MemoryLaneStore();
    store.save(scope, state(0, 1));
    store.save(scope, state(0, 2));
    store.save({ ...scope, modelId: "2" }, state(5, 1));
    assert.deepEqual(store.load(scope), [state(0, 2)]);
    assert.deepEqual(store.load({ ...scope, payer: "0x0000000000000000000000000000000000000001" }), []);
  });

  it("writes lane states to a JSON file that a new store reads back, case-insensitively per tab", async () => {
    const file = path.join(dir, "nested", "lanes.json");
    const store = new JsonFileLaneStore(file);
    await Promise.all([store.save(scope, state(0, 1)), store.save(scope, state(1, 1)), store.save(scope, state(0, 2))]);
    await store.flush();
    const reopened = new JsonFileLaneStore(file);
    assert.deepEqual(reopened.load({ ...scope, payer: scope.payer.toLowerCase() as `0x${string}` }), [state(0, 2), state(1, 1)]);
    const json = JSON.parse(await readFile(file, "utf8"));
    assert.equal(json.version, 1);
    assert.equal(Object.keys(json.tabs).length, 1);
  });

  it("refuses a file that is not a lane store instead of overwriting it", async () => {
    const file = path.join(dir, "other.json");
    await writeFile(file, JSON.stringify({ hello: "world" }));
    assert.throws(() => new JsonFileLaneStore(file), new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} is not a Modelshare lane store`));
    await writeFile(file, "{ not json");
    assert.throws(() => new JsonFileLaneStore(file), /is not a Modelshare lane store/);
    assert.equal(await readFile(file, "utf8"), "{ not json");
  });

  it("keeps states in memory when the file cannot be written, and says so on flush", async () => {
    const blocker = path.join(dir, "blocker");
    await mkdir(blocker);
    const store = new JsonFileLaneStore(path.join(blocker, "lanes.json"));
    // The directory turns into a file after the store opened it.
    await rm(blocker, { recursive: true });
    await writeFile(blocker, "a file where a directory should be");
    assert.throws(() => new JsonFileLaneStore(path.join(blocker, "lanes.json")), /^Error: cannot read the lane store .*ENOTDIR/);
    await store.save(scope, state(0, 1));
    assert.deepEqual(store.load(scope), [state(0, 1)]);
    await assert.rejects(store.flush(), /^Error: cannot write the lane store .*blocker\/lanes\.json: /);
  });
});
