// createLedger(url): the two URL forms, and a clear LedgerError for everything that is not a usable ledger — a bad
// URL, a database that cannot be reached, a file or schema holding something else, a ledger from a newer version —
// without touching what is there.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { createLedger, DEFAULT_LEDGER_FILE, LedgerError, parseLedgerUrl, type LedgerErrorCode } from "../../gateway/ledger/index.ts";
import { POSTGRES_URL, dropSchema, uniqueSchema } from "./ledger-helpers.ts";

function fails(code: LedgerErrorCode, pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof LedgerError, `expected a LedgerError, got ${error}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return true;
  };
}

async function deadPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe("ledger URLs", () => {
  it("reads sqlite: paths and postgres:// URLs with an optional schema", () => {
    assert.deepEqual(parseLedgerUrl("sqlite:data/ledger.db"), { kind: "sqlite", file: "data/ledger.db" });
    assert.deepEqual(parseLedgerUrl("sqlite:///var/lib/ledger.db"), { kind: "sqlite", file: "/var/lib/ledger.db" });
    assert.deepEqual(parseLedgerUrl("sqlite:"), { kind: "sqlite", file: DEFAULT_LEDGER_FILE });
    assert.deepEqual(parseLedgerUrl("postgres://u:pw@db:5432/x?schema=replica_1&sslmode=disable"), {
      kind: "postgres",
      connectionString: "postgres://u:pw@db:5432/x?sslmode=disable",
      schema: "replica_1",
    });
    assert.equal(parseLedgerUrl("postgresql://db/x").kind, "postgres");
  });

  it("refuses anything else, naming the accepted forms and never printing a password", () => {
    for (const url of ["", "ledger.sqlite", "mysql://db/x", "file:ledger.db", "http://127.0.0.1:5432"]) {
      assert.throws(() => parseLedgerUrl(url), fails("bad_url", /use sqlite:<path>.*or postgres:\/\//));
    }
    assert.throws(() => parseLedgerUrl("postgres://u:secret@db/x?schema=a;drop"), fails("bad_url", /schema must be a plain identifier/));
    assert.throws(() => parseLedgerUrl("postgres:///x"), fails("bad_url", /names no host/));
    assert.throws(() => parseLedgerUrl("mysql://u:secret@db/x"), (e: Error) => !e.message.includes("secret"));
  });
});

describe("opening a SQLite ledger", () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(path.join(tmpdir(), "modelshare-ledger-url-"))));
  after(() => rm(dir, { recursive: true, force: true }));

  it("creates the file and its directory, in WAL mode", async () => {
    const file = path.join(dir, "a", "b", "ledger.sqlite");
    const ledger = await createLedger(`sqlite:${file}`);
    assert.equal(ledger.kind, "sqlite");
    await ledger.close();
    const db = new DatabaseSync(file);
    assert.deepEqual({ ...db.prepare("PRAGMA journal_mode").get() }, { journal_mode: "wal" });
    assert.deepEqual(
      db.prepare("SELECT key, value FROM ledger_meta ORDER BY key").all().map((r) => ({ ...r })),
      [{ key: "format", value: "modelshare-ledger" }, { key: "schema_version", value: "1" }],
    );
    db.close();
  });

  it("refuses a file that is not a database, and leaves it as it was", async () => {
    const file = path.join(dir, "notes.txt");
    const text = "these are not the vouchers you are looking for\n".repeat(100);
    await writeFile(file, text);
    await assert.rejects(createLedger(`sqlite:${file}`), fails("not_a_ledger", /is not a SQLite database/));
    assert.equal(await readFile(file, "utf8"), text);
  });

  it("refuses another application's SQLite database without adding tables to it", async () => {
    const file = path.join(dir, "other.sqlite");
    const db = new DatabaseSync(file);
    db.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");
    db.close();
    await assert.rejects(createLedger(`sqlite:${file}`), fails("not_a_ledger", /not a Modelshare ledger/));
    const check = new DatabaseSync(file);
    assert.deepEqual(check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name), ["customers"]);
    check.close();
  });

  it("refuses a ledger written by a newer version", async () => {
    const file = path.join(dir, "newer.sqlite");
    await (await createLedger(`sqlite:${file}`)).close();
    const db = new DatabaseSync(file);
    db.exec("UPDATE ledger_meta SET value = '99' WHERE key = 'schema_version'");
    db.close();
    await assert.rejects(createLedger(`sqlite:${file}`), fails("schema_too_new", /schema version 99, newer than this Modelshare supports \(1\)/));
  });

  it("reports a path it cannot create as unreachable", async () => {
    const blocker = path.join(dir, "a-file");
    await writeFile(blocker, "x");
    await assert.rejects(createLedger(`sqlite:${path.join(blocker, "ledger.sqlite")}`), fails("unreachable", /cannot open the ledger/));
  });
});

describe("opening a PostgreSQL ledger", () => {
  const schemas = [uniqueSchema("url_a"), uniqueSchema("url_b"), uniqueSchema("url_c"), uniqueSchema("url_d")];
  after(() => Promise.all(schemas.map(dropSchema)));

  it("creates its schema once even when replicas open it at the same time", async () => {
    const url = `${POSTGRES_URL}?schema=${schemas[0]}`;
    const ledgers = await Promise.all([createLedger(url), createLedger(url), createLedger(url)]);
    assert.deepEqual(ledgers.map((l) => l.kind), ["postgres", "postgres", "postgres"]);
    await Promise.all(ledgers.map((l) => l.close()));
  });

  it("reports a server that does not answer, or a database that does not exist, as unreachable", async () => {
    const port = await deadPort();
    await assert.rejects(createLedger(`postgres://postgres@127.0.0.1:${port}/test`), fails("unreachable", new RegExp(`cannot reach the PostgreSQL ledger postgres://127.0.0.1:${port}/test.*ECONNREFUSED`)));
    await assert.rejects(createLedger("postgres://postgres@127.0.0.1:5432/modelshare_no_such_database"), fails("unreachable", /does not exist/));
  });

  it("refuses a schema holding another application's tables of the same name, and one from a newer version", async () => {
    const admin = new pg.Client(POSTGRES_URL);
    await admin.connect();
    await admin.query(`CREATE SCHEMA "${schemas[1]}"; CREATE TABLE "${schemas[1]}".lanes (id int)`);
    await admin.end();
    await assert.rejects(createLedger(`${POSTGRES_URL}?schema=${schemas[1]}`), fails("not_a_ledger", /has table\(s\) lanes but no ledger_meta/));

    await (await createLedger(`${POSTGRES_URL}?schema=${schemas[2]}`)).close();
    const again = new pg.Client(POSTGRES_URL);
    await again.connect();
    await again.query(`UPDATE "${schemas[2]}".ledger_meta SET value = '7' WHERE key = 'schema_version'`);
    await again.end();
    await assert.rejects(createLedger(`${POSTGRES_URL}?schema=${schemas[2]}`), fails("schema_too_new", /schema version 7/));
  });

  it("upgrades a version 1 ledger, keeping its lanes, to one that caps each payer", async () => {
    const url = `${POSTGRES_URL}?schema=${schemas[3]}`;
    const payer = "0x1111111111111111111111111111111111111111";
    const operator = "0x2222222222222222222222222222222222222222";
    const voucher = { payer, operator, modelId: 1n, expiry: 0n, signature: "0x01", signer: payer, inputSha256: `0x${"00".repeat(32)}`, acceptedAt: 1 } as const;
    let ledger = await createLedger(url);
    assert.equal(await ledger.accept({ ...voucher, lane: 0, expectedCumulative: 0n, cumulativeAmount: 3_000n, cumulativeCalls: 3n }), "accepted");
    await ledger.close();
    // What version 1 was: no accept_vouchers.
    const admin = new pg.Client(POSTGRES_URL);
    await admin.connect();
    await admin.query(`DROP FUNCTION "${schemas[3]}".accept_vouchers; UPDATE "${schemas[3]}".ledger_meta SET value = '1' WHERE key = 'schema_version'`);
    await admin.end();
    ledger = await createLedger(url);
    try {
      const next = { ...voucher, lane: 1, expectedCumulative: 0n, cumulativeAmount: 1_000n, cumulativeCalls: 1n };
      assert.equal(await ledger.accept({ ...next, maxUnsettled: 3_999n }), "over_cap", "the lane kept from version 1 counts");
      assert.equal(await ledger.accept({ ...next, maxUnsettled: 4_000n }), "accepted");
    } finally {
      await ledger.close();
    }
  });
});
