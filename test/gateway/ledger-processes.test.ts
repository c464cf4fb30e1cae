// Ledgers shared between processes and processes that die: two child processes racing for the same lane steps on one
// PostgreSQL ledger (each step is accepted exactly once), two spending one payer's escrow on one PostgreSQL or SQLite
// ledger (together never past the cap), and a SQLite ledger whose process is SIGKILLed right after accepts resolved
// (every resolved voucher is there after reopening).
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createLedger } from "../../gateway/ledger/index.ts";
import { PostgresLedger } from "../../gateway/ledger/postgres.ts";
import { SqliteLedger } from "../../gateway/ledger/sqlite.ts";
import { randomAddress } from "./ledger-conformance.ts";
import { POSTGRES_URL, dropSchema, uniqueSchema } from "./ledger-helpers.ts";

const CHILD = fileURLToPath(new URL("./ledger-child.ts", import.meta.url));

interface Child {
  process: ChildProcess;
  events: Record<string, unknown>[];
  /** Resolves with the first event `match` accepts (or rejects if the child exits first). */
  until(match: (event: Record<string, unknown>) => boolean): Promise<void>;
  exited: Promise<number | null>;
  stderr(): string;
}

function child(args: string[]): Child {
  const proc = spawn(process.execPath, [CHILD, ...args], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, MODELSHARE_TEST_CHILD: "ledger" } });
  const events: Record<string, unknown>[] = [];
  const waiters: { match: (e: Record<string, unknown>) => boolean; resolve: () => void }[] = [];
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: proc.stdout! }).on("line", (line) => {
    const event = JSON.parse(line) as Record<string, unknown>;
    events.push(event);
    for (const w of [...waiters]) if (w.match(event)) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  });
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return {
    process: proc,
    events,
    exited,
    stderr: () => stderr,
    until: (match) =>
      new Promise<void>((resolve, reject) => {
        if (events.some(match)) return resolve();
        waiters.push({ match, resolve });
        void exited.then((code) => reject(new Error(`child exited (${code}) before the awaited event:\n${stderr}`)));
      }),
  };
}

describe("a PostgreSQL ledger shared by two processes", () => {
  const schema = uniqueSchema("race");
  after(() => dropSchema(schema));

  it("accepts every step of every contested lane exactly once", async () => {
    const url = `${POSTGRES_URL}?schema=${schema}`;
    // Create the schema first so neither child spends its head start on it.
    await (await PostgresLedger.open({ connectionString: POSTGRES_URL, schema })).close();
    const operator = randomAddress();
    const payer = randomAddress();
    const lanes = 8;
    const steps = 40;
    const racers = ["a", "b"].map((name) => child(["compete", url, operator, payer, String(lanes), String(steps), name]));
    // Both are connected before either starts.
    await Promise.all(racers.map((r) => r.until((e) => e.ready === true)));
    for (const r of racers) r.process.stdin!.write("go\n");
    const codes = await Promise.all(racers.map((r) => r.exited));
    assert.deepEqual(codes, [0, 0], racers.map((r) => r.stderr()).join("\n"));

    const wins = racers.map((r) => r.events.filter((e) => e.won).map((e) => (e.won as number[]).join("/")));
    const all = wins.flat();
    assert.equal(all.length, lanes * steps, "as many accepted steps as there are steps");
    assert.equal(new Set(all).size, lanes * steps, "no step accepted twice");
    assert.ok(wins[0]!.length > 0 && wins[1]!.length > 0, `both processes won steps (${wins[0]!.length} / ${wins[1]!.length}): they really competed`);

    const ledger = await PostgresLedger.open({ connectionString: POSTGRES_URL, schema });
    const records = await ledger.lanes(operator);
    await ledger.close();
    assert.equal(records.length, lanes);
    for (const record of records) {
      assert.equal(record.cumulativeAmount, BigInt(steps) * 1000n);
      assert.equal(record.cumulativeCalls, BigInt(steps));
      // The stored signature is the one the winner of the last step wrote.
      const last = `${record.lane}/${steps - 1}`;
      const winner = wins[0]!.includes(last) ? "a" : "b";
      assert.equal(Buffer.from(record.signature.slice(2), "hex").toString().replace(/\.+$/, ""), `${winner}:${record.lane}:${steps - 1}`);
    }
  });
});

describe("a ledger shared by two processes paying for one payer", () => {
  const schema = uniqueSchema("cap");
  let dir: string;
  after(async () => {
    await dropSchema(schema);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Two processes each pay on 40 lanes of their own, concurrently, every voucher capped at 30 calls. */
  async function spendRace(url: string) {
    const operator = randomAddress();
    const payer = randomAddress();
    const covered = 30;
    const racers = ["a", "b"].map((name) => child(["spend", url, operator, payer, "40", String(covered * 1000), name]));
    await Promise.all(racers.map((r) => r.until((e) => e.ready === true)));
    for (const r of racers) r.process.stdin!.write("go\n");
    const codes = await Promise.all(racers.map((r) => r.exited));
    assert.deepEqual(codes, [0, 0], racers.map((r) => r.stderr()).join("\n"));
    const results = racers.map((r) => r.events.filter((e) => "result" in e).map((e) => e.result as string));
    const accepted = results.map((rs) => rs.filter((r) => r === "accepted").length);
    assert.equal(accepted[0]! + accepted[1]!, covered, `accepted ${accepted.join(" + ")} with a cap of ${covered} calls`);
    for (const rs of results) {
      assert.equal(rs.length, 40);
      assert.ok(rs.every((r) => r === "accepted" || r === "over_cap"), rs.join(" "));
    }
    assert.ok(accepted[0]! > 0 && accepted[1]! > 0, `both processes were accepted some (${accepted.join(" / ")}): they really competed`);
    const ledger = await createLedger(url);
    try {
      assert.equal(await ledger.unsettledOf(payer, operator), BigInt(covered) * 1000n);
      assert.equal((await ledger.lanes(operator, payer)).length, covered);
    } finally {
      await ledger.close();
    }
  }

  it("never accepts past the cap on PostgreSQL", async () => {
    await (await PostgresLedger.open({ connectionString: POSTGRES_URL, schema })).close();
    await spendRace(`${POSTGRES_URL}?schema=${schema}`);
  });

  it("never accepts past the cap on a SQLite file", async () => {
    dir = await mkdtemp(path.join(tmpdir(), "modelshare-cap-"));
    const file = path.join(dir, "ledger.sqlite");
    // Created first: two processes creating one file at once is not what this test is about.
    await new SqliteLedger(file).close();
    await spendRace(`sqlite:${file}`);
  });
});

describe("a SQLite ledger whose process is killed", () => {
  let dir: string;
  after(() => rm(dir, { recursive: true, force: true }));

  it("still holds every voucher whose accept had resolved when SIGKILL hit", async () => {
    dir = await mkdtemp(path.join(tmpdir(), "modelshare-kill-"));
    const file = path.join(dir, "ledger.sqlite");
    const operator = randomAddress();
    const payer = randomAddress();
    const writer = child(["accept", `sqlite:${file}`, operator, payer, "1000", "25"]);
    // Kill it as soon as a few hundred accepts resolved, while it is still writing.
    await writer.until(() => writer.events.filter((e) => "accepted" in e).length >= 300);
    writer.process.kill("SIGKILL");
    assert.equal(await writer.exited, null, "killed, not exited");
    const acknowledged = writer.events.filter((e) => "accepted" in e).map((e) => e.accepted as number);
    assert.ok(!writer.events.some((e) => e.done), "killed mid-run");

    const ledger = new SqliteLedger(file);
    const stored = new Map((await ledger.lanes(operator)).map((r) => [r.lane, r]));
    await ledger.close();
    for (const lane of acknowledged) {
      assert.equal(stored.get(lane)?.cumulativeAmount, 1000n + BigInt(lane), `lane ${lane} was acknowledged`);
    }
    // Whatever else is there is whole: the commit of a burst is all or nothing.
    assert.equal(stored.size % 25, 0);
  });
});
