// The PostgreSQL ledger's schema (same tables and columns as SQLite's, with NUMERIC amounts), created or migrated at
// open under a transaction-scoped advisory lock, so replicas starting together do not race to create it.
import type { PoolClient } from "pg";
import { LedgerError } from "./errors.ts";
import { LEDGER_FORMAT } from "./sqlite-schema.ts";

export const POSTGRES_SCHEMA_VERSION = 1;

const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE ledger_meta (key text PRIMARY KEY, value text NOT NULL);
    CREATE TABLE lanes (
      operator text NOT NULL,
      payer text NOT NULL,
      model_id numeric(78, 0) NOT NULL,
      lane bigint NOT NULL,
      cumulative_amount numeric(78, 0) NOT NULL,
      cumulative_calls numeric(20, 0) NOT NULL,
      expiry numeric(20, 0) NOT NULL,
      signature text NOT NULL,
      signer text NOT NULL,
      input_sha256 text NOT NULL,
      settled_amount numeric(78, 0) NOT NULL DEFAULT 0,
      settled_calls numeric(20, 0) NOT NULL DEFAULT 0,
      accepted_at bigint NOT NULL,
      unsettled_since bigint,
      rejected text,
      rejected_at bigint,
      PRIMARY KEY (operator, payer, model_id, lane)
    );
    CREATE INDEX lanes_unsettled ON lanes (operator, unsettled_since) WHERE unsettled_since IS NOT NULL;
    CREATE TABLE exact_authorizations (
      from_address text NOT NULL,
      nonce text NOT NULL,
      to_address text NOT NULL,
      value numeric(78, 0) NOT NULL,
      model_id numeric(78, 0) NOT NULL,
      accepted_at bigint NOT NULL,
      PRIMARY KEY (from_address, nonce)
    );
    CREATE TABLE submissions (
      hash text PRIMARY KEY,
      from_address text,
      nonce bigint NOT NULL,
      raw text NOT NULL,
      lanes text NOT NULL,
      status text NOT NULL CHECK (status IN ('sent', 'mined', 'failed')),
      sent_at bigint NOT NULL,
      updated_at bigint NOT NULL
    );
    CREATE UNIQUE INDEX submissions_in_flight ON submissions (from_address, nonce) WHERE status = 'sent';
    -- Who holds each operator's settlement lock (the lock itself is an advisory lock; this row is for messages).
    CREATE TABLE settlement_locks (
      operator text PRIMARY KEY,
      owner text NOT NULL,
      heartbeat_at bigint NOT NULL,
      ttl_ms bigint NOT NULL
    );
  `,
};

const OUR_TABLES = ["lanes", "exact_authorizations", "submissions", "settlement_locks"];

/** Creates `schema` and the tables in it, or migrates them; refuses a schema holding something else. */
export async function migrate(client: PoolClient, schema: string, where: string): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`modelshare-ledger-migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quote(schema)}`);
    await client.query(`SET LOCAL search_path TO ${quote(schema)}`);
    const version = await currentVersion(client, schema, where);
    if (version > POSTGRES_SCHEMA_VERSION) {
      throw new LedgerError(
        "schema_too_new",
        `the ledger ${where} has schema version ${version}, newer than this Modelshare supports (${POSTGRES_SCHEMA_VERSION}): upgrade Modelshare`,
      );
    }
    for (let v = version + 1; v <= POSTGRES_SCHEMA_VERSION; v++) await client.query(MIGRATIONS[v]!);
    if (version === 0) await client.query("INSERT INTO ledger_meta (key, value) VALUES ('format', $1)", [LEDGER_FORMAT]);
    if (version < POSTGRES_SCHEMA_VERSION) {
      await client.query(
        "INSERT INTO ledger_meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [String(POSTGRES_SCHEMA_VERSION)],
      );
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

async function currentVersion(client: PoolClient, schema: string, where: string): Promise<number> {
  const { rows } = await client.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
    [schema],
  );
  const tables = new Set(rows.map((r) => r.table_name));
  if (!tables.has("ledger_meta")) {
    const clash = OUR_TABLES.filter((t) => tables.has(t));
    if (clash.length > 0) {
      throw new LedgerError("not_a_ledger", `${where} is not a Modelshare ledger: schema "${schema}" has table(s) ${clash.join(", ")} but no ledger_meta`);
    }
    return 0;
  }
  const meta = new Map(
    (await client.query<{ key: string; value: string }>("SELECT key, value FROM ledger_meta")).rows.map((r) => [r.key, r.value]),
  );
  const version = Number(meta.get("schema_version"));
  if (meta.get("format") !== LEDGER_FORMAT || !Number.isInteger(version) || version < 1) {
    throw new LedgerError("not_a_ledger", `${where} is not a Modelshare ledger: the ledger_meta of schema "${schema}" says otherwise`);
  }
  return version;
}

/** A schema name, checked (it goes into SQL text, not a parameter). */
export function schemaName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) {
    throw new LedgerError("bad_url", `schema must be a plain identifier (letters, digits, _), got "${name}"`);
  }
  return name;
}

export function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
