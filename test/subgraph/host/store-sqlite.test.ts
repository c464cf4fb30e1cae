// The store conformance suite on the embedded SQLite store.
import { storeConformance } from "./store-conformance.ts";
import { sqliteKind } from "./store-fixtures.ts";

storeConformance(sqliteKind());
