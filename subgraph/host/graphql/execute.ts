// One GraphQL request against the store, answered the way graph-node answers: `{ data }`, or `{ errors: [{ message }] }`
// — a query error (a block not indexed yet, `first` out of range, a bad filter) fails the whole query without data.
import { GraphQLError, execute, parse, validate, type DocumentNode } from "graphql";
import { QueryError, type EntityReader } from "../store/query.ts";
import type { SubgraphApi } from "./api-schema.ts";
import { RequestContext } from "./context.ts";

export interface GraphqlRequest {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

export interface GraphqlError {
  message: string;
  locations?: { line: number; column: number }[];
  path?: (string | number)[];
}

export interface GraphqlResponse {
  data?: Record<string, unknown> | null;
  errors?: GraphqlError[];
}

export interface ExecuteOptions {
  api: SubgraphApi;
  reader: EntityReader;
  /** Reported by `_meta { deployment }` and in block errors. */
  deployment: string;
}

export async function executeGraphql(options: ExecuteOptions, request: GraphqlRequest): Promise<GraphqlResponse> {
  const document = prepare(options.api, request.query);
  if (!("kind" in document)) return { errors: document };

  const result = await execute({
    schema: options.api.schema,
    document,
    variableValues: request.variables ?? undefined,
    operationName: request.operationName ?? undefined,
    contextValue: new RequestContext(options.reader, options.deployment),
  });
  if (!result.errors || result.errors.length === 0) return { data: result.data as Record<string, unknown> };
  const fatal = result.errors.filter((e) => e.originalError instanceof QueryError);
  if (fatal.length > 0) return { errors: dedupe(fatal.map(format)) };
  return { data: (result.data as Record<string, unknown> | null | undefined) ?? null, errors: result.errors.map(format) };
}

// Apps send the same few query texts over and over: parse and validate each once (validation dominates a small
// query's cost). Bounded, least recently used first out.
const DOCUMENTS_PER_API = 500;
const documents = new WeakMap<SubgraphApi, Map<string, DocumentNode | GraphqlError[]>>();

function prepare(api: SubgraphApi, query: string): DocumentNode | GraphqlError[] {
  let cache = documents.get(api);
  if (!cache) documents.set(api, (cache = new Map()));
  const cached = cache.get(query);
  if (cached) {
    cache.delete(query);
    cache.set(query, cached);
    return cached;
  }
  let prepared: DocumentNode | GraphqlError[];
  try {
    const document = parse(query);
    const invalid = validate(api.schema, document);
    prepared = invalid.length > 0 ? invalid.map(format) : document;
  } catch (error) {
    prepared = [format(error as GraphQLError)];
  }
  cache.set(query, prepared);
  if (cache.size > DOCUMENTS_PER_API) cache.delete(cache.keys().next().value!);
  return prepared;
}

function format(error: GraphQLError): GraphqlError {
  const out: GraphqlError = { message: error.message };
  if (error.locations) out.locations = error.locations.map(({ line, column }) => ({ line, column }));
  if (error.path) out.path = [...error.path];
  return out;
}

/** One message per distinct problem: a bad `block:` repeated by every field that uses it is reported once. */
function dedupe(errors: GraphqlError[]): GraphqlError[] {
  const seen = new Set<string>();
  return errors.filter((e) => !seen.has(e.message) && seen.add(e.message));
}
