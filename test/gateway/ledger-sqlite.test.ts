// The ledger conformance suite on a real SQLite file (WAL, synchronous=FULL), plus what only SQLite has: the lock
// row that another owner may take over once its heartbeat is older than its ttl, or at once when the process holding
// it on this machine is gone.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { SqliteLedger } from "../../gateway/ledger/sqlite.ts";
import { ledgerConformance, randomAddress } from "./ledger-conformance.ts";

const dir = await mkdtemp(path.join(tmpdir(), "modelshare-ledger-"));
const file = path.join(dir, "nested", "ledger.sqlite");

ledgerConformance("SQLite", {
  open: async () => new SqliteLedger(file),
  reopen: async () => new SqliteLedger(file),
  commits: (ledger) => (ledger as SqliteLedger).commits,
  cleanup: () => rm(dir, { recursive: true, force: true }),
});

describe("SQLite settlement lock", () => {
  let lockDir: string;
  before(async () => (lockDir = await mkdtemp(path.join(tmpdir(), "modelshare-lock-"))));
  after(() => rm(lockDir, { recursive: true, force: true }));

  it("is shared by two connections to one file, and taken over once its holder stops heartbeating", async () => {
    const gateway = new SqliteLedger(path.join(lockDir, "ledger.sqlite"));
    const cli = new SqliteLedger(path.join(lockDir, "ledger.sqlite"));
    const operator = randomAddress();
    const held = await gateway.acquireSettlementLock(operator, "gateway", 1);
    assert.ok(held);
    // Not stale until a full ttl has passed since the heartbeat: wait for the clock, not for a duration.
    const heartbeatAt = (await cli.settlementLockHolder(operator))?.heartbeatAt ?? Date.now();
    while (Date.now() <= heartbeatAt + 1) await new Promise((r) => setImmediate(r));
    const taken = await cli.acquireSettlementLock(operator, "cli", 60_000);
    assert.ok(taken, "a stale holder is presumed dead");
    assert.equal(await held.heartbeat(), false, "the old holder learns it lost the lock");
    assert.equal((await gateway.settlementLockHolder(operator))?.owner, "cli");
    assert.equal(await gateway.acquireSettlementLock(operator, "gateway", 60_000), null);
    await cli.close();
    assert.equal(await gateway.settlementLockHolder(operator), null, "close releases the locks it holds");
    await gateway.close();
  });
  it("is taken at once from a holder whose process on this machine is gone, never from a live one", async () => {
    const ledger = new SqliteLedger(path.join(lockDir, "crashed.sqlite"));
    const operator = randomAddress();
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await once(child, "exit");
    // The lease is an hour: only the dead process can explain a takeover.
    assert.ok(await ledger.acquireSettlementLock(operator, `${hostname()}:${child.pid}:killed`, 3_600_000));
    assert.equal(await ledger.settlementLockHolder(operator), null, "a dead holder holds nothing");
    assert.ok(await ledger.acquireSettlementLock(operator, `${hostname()}:${process.pid}:restarted`, 60_000));

    const other = randomAddress();
    const alive = `${hostname()}:${process.ppid}:running`;
    assert.ok(await ledger.acquireSettlementLock(other, alive, 3_600_000));
    assert.equal(await ledger.acquireSettlementLock(other, `${hostname()}:${process.pid}:second`, 60_000), null);
    assert.equal((await ledger.settlementLockHolder(other))?.owner, alive);
    // Another machine's pid says nothing about processes here.
    const elsewhere = randomAddress();
    assert.ok(await ledger.acquireSettlementLock(elsewhere, `another-host:${child.pid}:x`, 3_600_000));
    assert.equal(await ledger.acquireSettlementLock(elsewhere, `${hostname()}:${process.pid}:third`, 60_000), null);
    await ledger.close();
  });
});
