// The store conformance suite on the PostgreSQL store, against the machine's PostgreSQL (a fresh schema per store).
import { storeConformance } from "./store-conformance.ts";
import { postgresKind } from "./store-fixtures.ts";

storeConformance(postgresKind());
