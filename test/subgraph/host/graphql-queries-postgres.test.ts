// graph-node's query conventions on the PostgreSQL store.
import { queryConventions } from "./graphql-conventions.ts";
import { postgresKind } from "./store-fixtures.ts";

queryConventions(postgresKind());
