// The GraphQL HTTP endpoint over real HTTP: graph-node's paths, POST and GET, 200 for query errors, 400/404/405/413
// for malformed requests, the landing page and /healthz.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createGraphqlServer, type GraphqlServer } from "../../../subgraph/host/server.ts";
import { writeThings } from "./graphql-fixtures.ts";
import { TEST_SCHEMA, ptr, sqliteKind, type Store } from "./store-fixtures.ts";

describe("GraphQL HTTP server", () => {
  const kind = sqliteKind();
  let store: Store;
  let server: GraphqlServer;

  before(async () => {
    store = await kind.open(kind.location(), TEST_SCHEMA);
    await writeThings(store);
    server = await createGraphqlServer({ store, schema: TEST_SCHEMA, name: "modelshare/test", deployment: "dev-1", maxBodyBytes: 4096 });
  });
  after(async () => {
    await server.close();
    await store.close();
    await kind.cleanup();
  });

  const post = (body: unknown, path = "/subgraphs/name/modelshare/test", headers: Record<string, string> = { "content-type": "application/json" }) =>
    fetch(server.url + path, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });

  it("answers POSTed queries with variables at /subgraphs/name/<name> and /subgraphs/id/<deployment>", async () => {
    assert.equal(server.endpoint, `${server.url}/subgraphs/name/modelshare/test`);
    const query = `query Things($min: Int!) { things(where: { count_gte: $min }, orderBy: count) { id count } }`;
    const response = await post({ query, variables: { min: 2 }, operationName: "Things" });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type")!, /application\/json/);
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    assert.deepEqual(await response.json(), { data: { things: [{ id: "t2", count: 2 }, { id: "t3", count: 2 }, { id: "t4", count: 3 }] } });
    const byId = await post({ query: `{ _meta { deployment block { number } } }` }, "/subgraphs/id/dev-1");
    assert.deepEqual(await byId.json(), { data: { _meta: { deployment: "dev-1", block: { number: 3 } } } });
  });

  it("answers GET with ?query= and JSON ?variables=", async () => {
    const params = new URLSearchParams({ query: `query($id: ID!) { thing(id: $id) { name } }`, variables: JSON.stringify({ id: "t1" }) });
    const response = await fetch(`${server.endpoint}?${params}`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { data: { thing: { name: "Alpha" } } });
  });

  it("returns query errors with 200 and malformed requests with 400, 404, 405 or 413", async () => {
    const cases: [Promise<Response>, number, RegExp][] = [
      [post({ query: `{ things(block: { number: 99 }) { id } }` }), 200, /only indexed up to block number 3/],
      [post({ query: `{ nope }` }), 200, /Cannot query field "nope" on type "Query"/],
      [post({ query: `{ things {` }), 200, /Syntax Error/],
      [post("{ not json"), 400, /the request body is not valid JSON/],
      [post([1, 2]), 400, /the request body must be a JSON object with a `query` string/],
      [post({ variables: {} }), 400, /the request needs a `query` string/],
      [post({ query: "{ things { id } }", variables: [1] }), 400, /`variables` must be a JSON object/],
      [post({ query: "{ things { id } }", operationName: 5 }), 400, /`operationName` must be a string/],
      [fetch(`${server.endpoint}?query=${encodeURIComponent("{ things { id } }")}&variables=nope`), 400, /`variables` must be a JSON object/],
      [fetch(server.endpoint), 400, /the request needs a `query` string/],
      [post({ query: "{ things { id } }" }, "/subgraphs/name/other"), 404, /no subgraph at \/subgraphs\/name\/other; this host serves \/subgraphs\/name\/modelshare\/test/],
      [fetch(`${server.url}/nowhere`), 404, /no route for GET \/nowhere/],
      [fetch(server.endpoint, { method: "PUT", body: "{}" }), 405, /PUT is not supported here/],
      [post({ query: `{ things(where: { name: "${"x".repeat(5000)}" }) { id } }` }), 413, /the request body is larger than 4096 bytes/],
    ];
    for (const [pending, status, message] of cases) {
      const response = await pending;
      const body = (await response.json()) as { errors: { message: string }[]; data?: unknown };
      assert.equal(response.status, status, JSON.stringify(body));
      assert.equal(body.errors.length, 1, JSON.stringify(body));
      assert.match(body.errors[0]!.message, message);
    }
  });

  it("answers CORS preflights, describes itself at / and reports health at /healthz", async () => {
    const preflight = await fetch(server.endpoint, { method: "OPTIONS" });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get("access-control-allow-methods")!, /POST/);
    const landing = await fetch(server.url + "/");
    assert.equal(landing.status, 200);
    assert.match(landing.headers.get("content-type")!, /text\/html/);
    const html = await landing.text();
    assert.match(html, /\/subgraphs\/name\/modelshare\/test/);
    assert.match(html, /deployment <code>dev-1<\/code>/);
    const health = await fetch(server.url + "/healthz");
    assert.deepEqual(await health.json(), { ok: true, subgraph: "modelshare/test", head: { number: 3, hash: ptr(3).hash }, hasIndexingErrors: false });
  });

  it("refuses to start with an invalid name or without a schema", async () => {
    await assert.rejects(createGraphqlServer({ store, schema: TEST_SCHEMA, name: "bad name" }), /invalid subgraph name "bad name"/);
    await assert.rejects(createGraphqlServer({ store, schema: TEST_SCHEMA, name: "ok", deployment: "a/b" }), /invalid deployment id "a\/b"/);
    await assert.rejects(createGraphqlServer({ store, name: "ok" }), /needs the subgraph schema/);
  });
});
