// The PostgreSQL ledger's schema (same tables and columns as SQLite's, with NUMERIC amounts), created or migrated at
// open under a transaction-scoped advisory lock, so replicas starting together do not race to create it.
import type { PoolClient } from "pg";
import { LedgerError } from "./errors.ts";
import { LEDGER_FORMAT } from "./sqlite-schema.ts";

// Version 2 adds accept_vouchers, which every replica must use for the per-payer cap to hold: a replica too old to
// know it refuses a version 2 ledger (schema_too_new) instead of accepting vouchers around the cap.
export const POSTGRES_SCHEMA_VERSION = 2;

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
  2: `
    -- Records a group-commit batch of vouchers in one round trip; returns per voucher 0 (accepted), 1 (the lane moved:
    -- stale) or 2 (the payer's unsettled total with the operator would pass the voucher's cap). Accepts of one
    -- (operator, payer) are serialized by a transaction-scoped advisory lock, and each statement below reads a fresh
    -- snapshot (a VOLATILE function under READ COMMITTED), so the total it sums includes every accept of that payer
    -- committed by any replica before the lock was granted.
    CREATE FUNCTION accept_vouchers(p_operator text[], p_payer text[], p_model_id numeric[], p_lane bigint[],
      p_cumulative_amount numeric[], p_cumulative_calls numeric[], p_expiry numeric[], p_signature text[], p_signer text[],
      p_input_sha256 text[], p_accepted_at bigint[], p_expected numeric[], p_cap numeric[])
    RETURNS smallint[] LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      results smallint[] := '{}';
      k bigint;
      total numeric;
      current_amount numeric;
      settled numeric;
      written integer;
    BEGIN
      -- Locks taken in one order, so two batches locking overlapping payers never wait on each other in a cycle.
      FOR k IN SELECT DISTINCT hashtextextended('modelshare-accept:' || o || ':' || p, 0) FROM unnest(p_operator, p_payer) AS u(o, p) ORDER BY 1 LOOP
        PERFORM pg_advisory_xact_lock(k);
      END LOOP;
      -- In call order: a batch's accepts of one lane apply in sequence, and of one payer count against its cap in turn.
      FOR i IN 1 .. coalesce(array_length(p_payer, 1), 0) LOOP
        SELECT coalesce(sum(greatest(l.cumulative_amount - l.settled_amount, 0)), 0),
               max(l.cumulative_amount) FILTER (WHERE l.model_id = p_model_id[i] AND l.lane = p_lane[i]),
               coalesce(max(l.settled_amount) FILTER (WHERE l.model_id = p_model_id[i] AND l.lane = p_lane[i]), 0)
          INTO total, current_amount, settled
          FROM lanes l WHERE l.operator = p_operator[i] AND l.payer = p_payer[i];
        IF coalesce(current_amount, 0) <> p_expected[i] THEN
          results := results || 1::smallint;
        ELSIF p_cap[i] IS NOT NULL
          AND total - greatest(p_expected[i] - settled, 0) + greatest(p_cumulative_amount[i] - settled, 0) > p_cap[i] THEN
          results := results || 2::smallint;
        ELSE
          IF p_expected[i] = 0 THEN
            INSERT INTO lanes (operator, payer, model_id, lane, cumulative_amount, cumulative_calls, expiry, signature, signer,
              input_sha256, accepted_at, unsettled_since)
            VALUES (p_operator[i], p_payer[i], p_model_id[i], p_lane[i], p_cumulative_amount[i], p_cumulative_calls[i], p_expiry[i],
              p_signature[i], p_signer[i], p_input_sha256[i], p_accepted_at[i], p_accepted_at[i])
            ON CONFLICT DO NOTHING;
          ELSE
            UPDATE lanes SET cumulative_amount = p_cumulative_amount[i], cumulative_calls = p_cumulative_calls[i],
              expiry = p_expiry[i], signature = p_signature[i], signer = p_signer[i], input_sha256 = p_input_sha256[i],
              accepted_at = p_accepted_at[i], unsettled_since = COALESCE(unsettled_since, p_accepted_at[i]),
              rejected = NULL, rejected_at = NULL
            WHERE operator = p_operator[i] AND payer = p_payer[i] AND model_id = p_model_id[i] AND lane = p_lane[i]
              AND cumulative_amount = p_expected[i];
          END IF;
          GET DIAGNOSTICS written = ROW_COUNT;
          results := results || (CASE WHEN written = 1 THEN 0 ELSE 1 END)::smallint;
        END IF;
      END LOOP;
      RETURN results;
    END
    $$;
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
