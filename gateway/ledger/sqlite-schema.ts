// The SQLite ledger's schema, one migration per version. Amounts are exact decimal TEXT (uint256 does not fit an
// INTEGER); equality on them is text equality, which is exact because every amount is written by bigint.toString().
// The rare arithmetic (candidate selection) goes through a SQL function registered in JS.
import type { DatabaseSync } from "node:sqlite";
import { LedgerError } from "./errors.ts";

export const LEDGER_FORMAT = "modelshare-ledger";
export const SQLITE_SCHEMA_VERSION = 1;

const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
    CREATE TABLE lanes (
      operator TEXT NOT NULL,
      payer TEXT NOT NULL,
      model_id TEXT NOT NULL,
      lane INTEGER NOT NULL,
      cumulative_amount TEXT NOT NULL,
      cumulative_calls TEXT NOT NULL,
      expiry TEXT NOT NULL,
      signature TEXT NOT NULL,
      signer TEXT NOT NULL,
      input_sha256 TEXT NOT NULL,
      settled_amount TEXT NOT NULL DEFAULT '0',
      settled_calls TEXT NOT NULL DEFAULT '0',
      accepted_at INTEGER NOT NULL,
      unsettled_since INTEGER,
      rejected TEXT,
      rejected_at INTEGER,
      PRIMARY KEY (operator, payer, model_id, lane)
    ) STRICT, WITHOUT ROWID;
    -- The worker's scan: only lanes with something unsettled, oldest first.
    CREATE INDEX lanes_unsettled ON lanes (operator, unsettled_since) WHERE unsettled_since IS NOT NULL;
    CREATE TABLE exact_authorizations (
      from_address TEXT NOT NULL,
      nonce TEXT NOT NULL,
      to_address TEXT NOT NULL,
      value TEXT NOT NULL,
      model_id TEXT NOT NULL,
      accepted_at INTEGER NOT NULL,
      PRIMARY KEY (from_address, nonce)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE submissions (
      hash TEXT PRIMARY KEY,
      from_address TEXT,
      nonce INTEGER NOT NULL,
      raw TEXT NOT NULL,
      lanes TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('sent', 'mined', 'failed')),
      sent_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT;
    -- At most one transaction in flight per sender and nonce: the rule that keeps a nonce from being used twice.
    CREATE UNIQUE INDEX submissions_in_flight ON submissions (from_address, nonce) WHERE status = 'sent';
    CREATE TABLE settlement_locks (
      operator TEXT PRIMARY KEY,
      owner TEXT NOT NULL,
      heartbeat_at INTEGER NOT NULL,
      ttl_ms INTEGER NOT NULL
    ) STRICT;
  `,
};

/** Creates the schema in an empty database or migrates an older one; refuses anything that is not a ledger. */
export function migrate(db: DatabaseSync, file: string): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    const version = currentVersion(db, file);
    if (version > SQLITE_SCHEMA_VERSION) {
      throw new LedgerError(
        "schema_too_new",
        `the ledger ${file} has schema version ${version}, newer than this Modelshare supports (${SQLITE_SCHEMA_VERSION}): upgrade Modelshare`,
      );
    }
    for (let v = version + 1; v <= SQLITE_SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    if (version === 0) db.prepare("INSERT INTO ledger_meta (key, value) VALUES ('format', ?)").run(LEDGER_FORMAT);
    if (version < SQLITE_SCHEMA_VERSION) {
      db.prepare("INSERT INTO ledger_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(
        String(SQLITE_SCHEMA_VERSION),
      );
    }
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

/** 0 for an empty database; the recorded version for a ledger; an error for anything else. */
function currentVersion(db: DatabaseSync, file: string): number {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
  if (tables.length === 0) return 0;
  if (!tables.some((t) => t.name === "ledger_meta")) {
    throw new LedgerError("not_a_ledger", `${file} is a SQLite database but not a Modelshare ledger (it has no ledger_meta table)`);
  }
  const meta = new Map(
    (db.prepare("SELECT key, value FROM ledger_meta").all() as { key: string; value: string }[]).map((r) => [r.key, r.value]),
  );
  const version = Number(meta.get("schema_version"));
  if (meta.get("format") !== LEDGER_FORMAT || !Number.isInteger(version) || version < 1) {
    throw new LedgerError("not_a_ledger", `${file} is a SQLite database but not a Modelshare ledger (its ledger_meta says otherwise)`);
  }
  return version;
}
