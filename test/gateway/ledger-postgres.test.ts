// The ledger conformance suite on the machine's PostgreSQL (a schema per run, dropped at the end), plus what only
// PostgreSQL has: the settlement lock is a session advisory lock, released when its connection dies.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import pg from "pg";
import { PostgresLedger } from "../../gateway/ledger/postgres.ts";
import { ledgerConformance, randomAddress } from "./ledger-conformance.ts";
import { POSTGRES_URL, dropSchema, uniqueSchema } from "./ledger-helpers.ts";

const schema = uniqueSchema("conformance");

ledgerConformance("PostgreSQL", {
  open: () => PostgresLedger.open({ connectionString: POSTGRES_URL, schema }),
  reopen: () => PostgresLedger.open({ connectionString: POSTGRES_URL, schema }),
  commits: (ledger) => (ledger as PostgresLedger).commits,
  cleanup: () => dropSchema(schema),
});

describe("PostgreSQL settlement lock", () => {
  const lockSchema = uniqueSchema("lock");
  after(() => dropSchema(lockSchema));

  it("is free again as soon as the connection holding it dies", async () => {
    const gateway = await PostgresLedger.open({ connectionString: POSTGRES_URL, schema: lockSchema });
    const cli = await PostgresLedger.open({ connectionString: POSTGRES_URL, schema: lockSchema });
    const operator = randomAddress();
    const held = await gateway.acquireSettlementLock(operator, "gateway", 60_000);
    assert.ok(held);
    assert.equal(await cli.acquireSettlementLock(operator, "cli", 60_000), null);
    assert.equal((await cli.settlementLockHolder(operator))?.owner, "gateway");

    // Kill the holder's backend as a crash would.
    const admin = new pg.Client(POSTGRES_URL);
    await admin.connect();
    const { rowCount } = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'INSERT INTO settlement_locks%' AND pid <> pg_backend_pid()",
    );
    await admin.end();
    assert.equal(rowCount, 1);
    assert.equal(await held.heartbeat(), false);
    const taken = await cli.acquireSettlementLock(operator, "cli", 60_000);
    assert.ok(taken);
    assert.equal((await gateway.settlementLockHolder(operator))?.owner, "cli");
    await taken.release();
    await held.release();
    await gateway.close();
    await cli.close();
  });
});
