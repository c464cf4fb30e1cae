// graph-node's query conventions on the SQLite store.
import { queryConventions } from "./graphql-conventions.ts";
import { sqliteKind } from "./store-fixtures.ts";

queryConventions(sqliteKind());
