// PostgreSQL for ledger tests: the machine's server (trust auth), one schema per test run so parallel runs never meet.
import { randomBytes } from "node:crypto";
import pg from "pg";

export const POSTGRES_URL = process.env.MODELSHARE_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test";

export function uniqueSchema(label: string): string {
  return `ledger_${label}_${process.pid}_${randomBytes(4).toString("hex")}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client(POSTGRES_URL);
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
