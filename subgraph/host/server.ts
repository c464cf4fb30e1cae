// The embedded host's GraphQL endpoint, at graph-node's paths: POST (or GET with `?query=`) on
// /subgraphs/name/<name> and /subgraphs/id/<deployment>; a short landing page at /; /healthz. Query errors come back
// as `{ errors: [{ message }] }` with 200, as graph-node does; malformed requests get 400, oversized bodies 413.
import http from "node:http";
import type { AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import type { Logger } from "pino";
import { buildApiSchema, DEFAULT_LIMITS, type ApiLimits, type SubgraphApi } from "./graphql/api-schema.ts";
import { executeGraphql, type GraphqlRequest } from "./graphql/execute.ts";
import { loadSubgraphSchema, type SubgraphSchema } from "./schema.ts";
import type { QueryableStore } from "./store/query.ts";

export interface GraphqlServerOptions {
  store: QueryableStore;
  /** The subgraph schema, or the schema.graphql file to read it from. */
  schema?: SubgraphSchema;
  schemaFile?: string;
  /** Served at /subgraphs/name/<name>, e.g. "modelshare". */
  name: string;
  /** Reported by `_meta { deployment }` and served at /subgraphs/id/<deployment> (default: the name). */
  deployment?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Largest request body in bytes (default 256 KiB). */
  maxBodyBytes?: number;
  limits?: Partial<ApiLimits>;
  logger?: Logger;
}

export interface GraphqlServer {
  /** http://host:port */
  readonly url: string;
  /** The GraphQL endpoint: <url>/subgraphs/name/<name> */
  readonly endpoint: string;
  readonly port: number;
  close(): Promise<void>;
}

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export async function createGraphqlServer(options: GraphqlServerOptions): Promise<GraphqlServer> {
  const subgraph = options.schema ?? (options.schemaFile ? await loadSubgraphSchema(options.schemaFile) : undefined);
  if (!subgraph) throw new Error("createGraphqlServer needs the subgraph schema (schema or schemaFile)");
  if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(options.name)) {
    throw new Error(`invalid subgraph name ${JSON.stringify(options.name)}: use letters, digits, -, _ and / between parts`);
  }
  if (options.deployment !== undefined && !/^[A-Za-z0-9_.-]+$/.test(options.deployment)) {
    throw new Error(`invalid deployment id ${JSON.stringify(options.deployment)}: use letters, digits, -, _ and .`);
  }
  const api = buildApiSchema(subgraph, { ...DEFAULT_LIMITS, ...options.limits });
  const app = graphqlApp({ ...options, deployment: options.deployment ?? options.name }, api);
  const server = http.createServer(app);
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return {
    url,
    endpoint: `${url}/subgraphs/name/${options.name}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function graphqlApp(options: GraphqlServerOptions & { deployment: string }, api: SubgraphApi) {
  const { store, name, deployment, logger } = options;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  const json = express.json({ limit: options.maxBodyBytes ?? 256 * 1024, strict: true, type: () => true });

  app.use((req, res, next) => {
    // Browser dapps query subgraphs cross-origin, as they do graph-node.
    res.set("Access-Control-Allow-Origin", "*");
    res.set("Access-Control-Allow-Headers", "Content-Type");
    res.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    if (req.method === "OPTIONS") return void res.status(204).end();
    next();
  });

  const answer = async (request: GraphqlRequest, res: Response) => {
    const result = await executeGraphql({ api, reader: store.reader, deployment }, request);
    res.status(200).json(result);
  };
  const paths = [`/subgraphs/name/${name}`, `/subgraphs/id/${deployment}`];
  app.post(paths, json, (req, res, next) => answer(parsePost(req.body), res).catch(next));
  app.get(paths, (req, res, next) => answer(parseGet(req.query), res).catch(next));
  app.all(paths, (req) => {
    throw new HttpError(405, `${req.method} is not supported here: POST a JSON body, or GET with ?query=`);
  });
  app.all(["/subgraphs/name/*rest", "/subgraphs/id/*rest"], (req) => {
    throw new HttpError(404, `no subgraph at ${req.path}; this host serves /subgraphs/name/${name}`);
  });

  app.get("/healthz", async (_req, res, next) => {
    try {
      const head = await store.reader.head();
      const failure = await store.reader.failure();
      res.json({ ok: true, subgraph: name, head: head ? { number: head.number, hash: head.hash } : null, hasIndexingErrors: failure !== null });
    } catch (error) {
      next(error);
    }
  });

  app.get("/", (_req, res) => {
    res.type("html").send(landing(name, deployment));
  });

  app.use((req: Request) => {
    throw new HttpError(404, `no route for ${req.method} ${req.path}`);
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, message } = describeError(error);
    if (status >= 500) logger?.error({ err: error, path: req.path }, "GraphQL request failed");
    if (res.headersSent) return void res.end();
    res.status(status).json({ errors: [{ message }] });
  });
  return app;
}

function parsePost(body: unknown): GraphqlRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, "the request body must be a JSON object with a `query` string");
  }
  return checkRequest(body as Record<string, unknown>);
}

function parseGet(query: Record<string, unknown>): GraphqlRequest {
  let variables: unknown = query.variables;
  if (typeof variables === "string") {
    try {
      variables = JSON.parse(variables);
    } catch {
      throw new HttpError(400, "`variables` must be a JSON object");
    }
  }
  return checkRequest({ query: query.query, variables, operationName: query.operationName });
}

function checkRequest(body: Record<string, unknown>): GraphqlRequest {
  const { query, variables, operationName } = body;
  if (typeof query !== "string" || query.trim() === "") throw new HttpError(400, "the request needs a `query` string");
  if (variables !== undefined && variables !== null && (typeof variables !== "object" || Array.isArray(variables))) {
    throw new HttpError(400, "`variables` must be a JSON object");
  }
  if (operationName !== undefined && operationName !== null && typeof operationName !== "string") {
    throw new HttpError(400, "`operationName` must be a string");
  }
  return { query, variables: (variables as Record<string, unknown> | null | undefined) ?? null, operationName: operationName ?? null };
}

function describeError(error: unknown): { status: number; message: string } {
  if (error instanceof HttpError) return { status: error.status, message: error.message };
  const e = error as { type?: string; status?: number; limit?: number; message?: string };
  if (e.type === "entity.too.large") return { status: 413, message: `the request body is larger than ${e.limit} bytes` };
  if (e.type === "entity.parse.failed") return { status: 400, message: `the request body is not valid JSON: ${e.message}` };
  if (typeof e.status === "number" && e.status >= 400 && e.status < 500) return { status: e.status, message: e.message ?? "bad request" };
  return { status: 500, message: "internal error while answering the query" };
}

function landing(name: string, deployment: string): string {
  const endpoint = `/subgraphs/name/${name}`;
  const escape = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<meta charset="utf-8">
<title>${escape(name)} subgraph</title>
<h1>${escape(name)}</h1>
<p>GraphQL endpoint: <code>${escape(endpoint)}</code> (deployment <code>${escape(deployment)}</code>), with graph-node's query conventions.</p>
<pre>curl -s -X POST -H 'content-type: application/json' \\
  -d '{"query":"{ _meta { block { number } hasIndexingErrors } }"}' \\
  http://&lt;this host&gt;${escape(endpoint)}</pre>
<p>Health: <a href="/healthz">/healthz</a></p>
`;
}
