// Opens a ledger from a URL: `sqlite:<path>` (the embedded default) or `postgres://…` (several replicas).
import path from "node:path";
import { LedgerError } from "./errors.ts";
import { PostgresLedger } from "./postgres.ts";
import { schemaName } from "./postgres-schema.ts";
import { SqliteLedger } from "./sqlite.ts";
import type { Ledger } from "./types.ts";

export { LedgerError, type LedgerErrorCode } from "./errors.ts";
export { PostgresLedger } from "./postgres.ts";
export { SqliteLedger } from "./sqlite.ts";
export type * from "./types.ts";

export const DEFAULT_LEDGER_FILE = path.join(".modelshare", "ledger.sqlite");
export const DEFAULT_LEDGER_URL = `sqlite:${DEFAULT_LEDGER_FILE}`;

export type LedgerLocation =
  | { kind: "sqlite"; file: string }
  | { kind: "postgres"; connectionString: string; schema: string | undefined };

/**
 * `sqlite:<path>` (relative to the working directory; `sqlite:` alone is the default file; `sqlite:///abs/path` is
 * accepted too) or `postgres://user@host:port/database[?schema=name]` (`postgresql://` too; the schema defaults to
 * "modelshare"). Anything else is a `bad_url` LedgerError.
 */
export function parseLedgerUrl(url: string): LedgerLocation {
  const text = url.trim();
  if (/^sqlite:/i.test(text)) {
    let file = text.slice("sqlite:".length);
    if (file.startsWith("//")) file = file.slice(2);
    return { kind: "sqlite", file: file === "" ? DEFAULT_LEDGER_FILE : file };
  }
  if (/^postgres(ql)?:\/\//i.test(text)) {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      throw new LedgerError("bad_url", `the ledger URL ${redact(text)} is not a valid postgres:// URL`);
    }
    if (!parsed.hostname && !parsed.searchParams.get("host")) throw new LedgerError("bad_url", `the ledger URL ${redact(text)} names no host`);
    const schema = parsed.searchParams.get("schema");
    parsed.searchParams.delete("schema");
    return { kind: "postgres", connectionString: parsed.toString(), schema: schema === null ? undefined : schemaName(schema) };
  }
  throw new LedgerError(
    "bad_url",
    `unsupported ledger URL ${redact(text) || '""'}: use sqlite:<path> (e.g. ${DEFAULT_LEDGER_URL}) or postgres://user@host:5432/database`,
  );
}

export interface CreateLedgerOptions {
  /** SQLite: wait this long for another process's write lock. */
  busyTimeoutMs?: number;
  /** PostgreSQL: pool size. */
  maxConnections?: number;
  /** PostgreSQL: give up connecting after this long. */
  connectTimeoutMs?: number;
}

/** Opens (creating or migrating) the ledger at `url`. */
export async function createLedger(url: string = DEFAULT_LEDGER_URL, options: CreateLedgerOptions = {}): Promise<Ledger> {
  const location = parseLedgerUrl(url);
  if (location.kind === "sqlite") return new SqliteLedger(location.file, { busyTimeoutMs: options.busyTimeoutMs });
  return PostgresLedger.open({
    connectionString: location.connectionString,
    schema: location.schema,
    maxConnections: options.maxConnections,
    connectTimeoutMs: options.connectTimeoutMs,
  });
}

/** A URL safe to print: no password. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}
