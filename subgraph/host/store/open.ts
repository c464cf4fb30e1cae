// Opens the store a database URL names: `sqlite:<file>` (the embedded default) or `postgres://…`.
import path from "node:path";
import type { SubgraphSchema } from "../schema.ts";
import { openPostgresStore, type PostgresStore } from "./postgres.ts";
import { openSqliteStore, type SqliteStore } from "./sqlite.ts";

export const DEFAULT_DATABASE = "sqlite:.modelshare/subgraph.sqlite";

export type HostStore = SqliteStore | PostgresStore;

export interface OpenStoreOptions {
  /** `sqlite:<file>` (relative to `cwd`) or `postgres://user@host:port/database`. */
  url: string;
  schema: SubgraphSchema;
  /** PostgreSQL schema for the subgraph's tables (default "subgraph"). */
  pgSchema?: string;
  cwd?: string;
}

export async function openStore(options: OpenStoreOptions): Promise<HostStore> {
  const { url, schema } = options;
  if (url.startsWith("sqlite:")) {
    const file = url.slice("sqlite:".length);
    if (file === "") throw new Error("sqlite: needs a file, e.g. sqlite:.modelshare/subgraph.sqlite");
    return openSqliteStore({ file: file === ":memory:" ? file : path.resolve(options.cwd ?? process.cwd(), file), schema });
  }
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    return openPostgresStore({ connectionString: url, schema, ...(options.pgSchema ? { pgSchema: options.pgSchema } : {}) });
  }
  throw new Error(`unsupported database ${JSON.stringify(url)}: use sqlite:<file> or postgres://user@host:port/database`);
}

/** The URL with any password hidden, for logs. */
export function describeDatabase(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}
