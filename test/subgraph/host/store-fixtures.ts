// Shared by the store and GraphQL tests: a small schema that uses every value kind, entity builders, and openers for
// a fresh SQLite file or PostgreSQL schema.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { parseSubgraphSchema, type SubgraphSchema } from "../../../subgraph/host/schema.ts";
import { openPostgresStore } from "../../../subgraph/host/store/postgres.ts";
import type { QueryableStore } from "../../../subgraph/host/store/query.ts";
import { openSqliteStore } from "../../../subgraph/host/store/sqlite.ts";
import type { BlockPtr, Entity, StoreValue } from "../../../subgraph/host/store/types.ts";
import type { VersionedStore, VersionedStoreOptions } from "../../../subgraph/host/store/versioned.ts";

export const POSTGRES_URL = process.env.MODELSHARE_TEST_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test";

export const TEST_SCHEMA = parseSubgraphSchema(/* GraphQL */ `
  enum Color {
    RED
    GREEN
  }

  type Thing @entity {
    id: ID!
    name: String!
    note: String
    count: Int!
    big: BigInt
    dec: BigDecimal
    flag: Boolean
    data: Bytes
    at: Timestamp
    small: Int8
    color: Color
    tags: [String!]
    amounts: [BigInt!]
    owner: Owner
    parts: [Part!]! @derivedFrom(field: "thing")
    groups: [Group!]! @derivedFrom(field: "things")
  }

  type Owner @entity {
    id: Bytes!
    label: String
    things: [Thing!]! @derivedFrom(field: "owner")
  }

  type Part @entity(immutable: true) {
    id: Int8!
    thing: Thing!
    size: BigInt!
  }

  type Group @entity {
    id: ID!
    things: [Thing!]!
  }
`);

export type Store = VersionedStore & QueryableStore;

export interface StoreKind {
  name: "sqlite" | "postgres";
  /** A fresh place for a store: a file path or a PostgreSQL schema name. */
  location(): string;
  open(location: string, schema: SubgraphSchema, options?: VersionedStoreOptions & { keepBlocks?: number }): Promise<Store>;
  cleanup(): Promise<void>;
}

export function sqliteKind(): StoreKind {
  const dir = mkdtempSync(path.join(tmpdir(), "modelshare-store-"));
  let n = 0;
  return {
    name: "sqlite",
    location: () => path.join(dir, `store-${n++}.sqlite`),
    open: (file, schema, options) => openSqliteStore({ file, schema, ...options }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function postgresKind(): StoreKind {
  const prefix = `t_${randomBytes(4).toString("hex")}_`;
  const schemas: string[] = [];
  return {
    name: "postgres",
    location: () => {
      const name = `${prefix}${schemas.length}`;
      schemas.push(name);
      return name;
    },
    open: (pgSchema, schema, options) => openPostgresStore({ connectionString: POSTGRES_URL, pgSchema, schema, ...options }),
    cleanup: async () => {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

// ---- values -----------------------------------------------------------------------------------------------------------

export const str = (value: string): StoreValue => ({ kind: "String", value });
export const int = (value: number): StoreValue => ({ kind: "Int", value });
export const big = (value: bigint): StoreValue => ({ kind: "BigInt", value });
export const dec = (value: string): StoreValue => ({ kind: "BigDecimal", value });
export const bool = (value: boolean): StoreValue => ({ kind: "Boolean", value });
export const bytes = (hex: string): StoreValue => ({ kind: "Bytes", value: new Uint8Array(Buffer.from(hex.replace(/^0x/, ""), "hex")) });
export const int8 = (value: bigint): StoreValue => ({ kind: "Int8", value });
export const ts = (value: bigint): StoreValue => ({ kind: "Timestamp", value });
export const list = (...value: StoreValue[]): StoreValue => ({ kind: "Array", value });
export const NULL: StoreValue = { kind: "Null" };

export function entity(fields: Record<string, StoreValue>): Entity {
  return new Map(Object.entries(fields));
}

/** A plain object of an entity, for deepEqual (Bytes as hex, bigints kept). */
export function plain(e: Entity | null | undefined): Record<string, unknown> | null {
  if (!e) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of e) out[k] = plainValue(v);
  return out;
}

function plainValue(v: StoreValue): unknown {
  switch (v.kind) {
    case "Null":
      return null;
    case "Bytes":
      return "0x" + Buffer.from(v.value).toString("hex");
    case "Array":
      return v.value.map(plainValue);
    default:
      return v.value;
  }
}

export function ptr(number: number, fork = ""): BlockPtr {
  const hash = (n: number, f: string) => "0x" + (f + n.toString(16)).padStart(64, "0");
  return { number, hash: hash(number, fork), parentHash: hash(number - 1, fork), timestamp: 1_700_000_000 + number * 12 };
}

/** A thing with only its required fields. */
export function thing(name: string, count: number, more: Record<string, StoreValue> = {}): Entity {
  return entity({ name: str(name), count: int(count), ...more });
}
