// The indexer against RPC endpoints that misbehave: requests that fail now and then (retried with backoff), a node
// that refuses eth_getLogs ranges above a few blocks (ranges halved until accepted), one that is down for a while
// (syncTo gives up with the RPC's error and touches nothing; the background loop waits it out), and a plain HTTP
// endpoint with batched requests. Every variant must end with the same entities as a clean run.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { fund, mintModel, signVoucher, type Protocol } from "./fixtures/protocol-actions.ts";
import { readEntities, setupHost, type HostSetup, type Plain } from "../../helpers/subgraph-host.ts";
import { RpcError } from "../../../subgraph/host/indexer/index.ts";
import type { EntityStore } from "../../../subgraph/host/store/types.ts";

type Wallet = Protocol["deployer"];
type Request = { method: string; params?: unknown };

describe("RPC failures", () => {
  let host: HostSetup;
  let model: Awaited<ReturnType<typeof mintModel>>;
  let payer: Wallet;
  let expected: Plain;
  const quick = { retries: 3, retryDelayMs: 1, maxRetryDelayMs: 5 };
  const forward = (request: Request) => host.connection.provider.request(request as Parameters<HostSetup["connection"]["provider"]["request"]>[0]);
  const snapshot = (store: EntityStore) =>
    readEntities(store, (get) => ({
      model: get("Model", model.modelId.toString()),
      payer: get("Payer", payer.account.address.toLowerCase()),
      protocol: get("Protocol", "protocol"),
    }));

  before(async () => {
    host = await setupHost();
    const p = host.p;
    const [alice, bob, operator, buyer] = p.others as Wallet[];
    payer = buyer!;
    model = await mintModel(p, host.connection.viem, { label: "rpc", holders: [{ address: alice!.account.address, amount: 1000n }] });
    await fund(p, payer, 1_000_000n);
    for (let calls = 1n; calls <= 6n; calls++) {
      const voucher = { payer: payer.account.address, operator: operator!.account.address, modelId: model.modelId, lane: 0, cumulativeAmount: calls * 2_000n, cumulativeCalls: calls, expiry: 0n };
      await p.vault.write.settle([[{ voucher, signature: await signVoucher(p, payer, voucher) }]], { account: operator!.account });
      await model.shares.write.transfer([bob!.account.address, 10n], { account: alice!.account });
    }
    const status = await host.indexer.syncTo();
    assert.equal(status.failure, null);
    expected = await snapshot(host.store);
    assert.equal((expected.model as Plain).paidCalls, 6n);
  });

  it("retries requests that fail now and then", async () => {
    let calls = 0;
    let failures = 0;
    const flaky = {
      request(request: Request) {
        if (++calls % 3 === 0) {
          failures += 1;
          return Promise.reject(new Error("socket hang up"));
        }
        return forward(request);
      },
    };
    const retried: string[] = [];
    const { store, indexer } = await host.another({
      rpc: flaky,
      rpcOptions: quick,
      logger: { debug() {}, info() {}, error() {}, warn: (fields) => retried.push(String(fields.method)) },
    });
    const status = await indexer.syncTo();
    assert.equal(status.failure, null);
    assert.ok(failures > 0 && retried.length === failures, `${failures} failures, ${retried.length} retries`);
    assert.deepEqual(await snapshot(store), expected);
  });

  it("halves eth_getLogs ranges a node refuses as too large", async () => {
    const accepted: number[] = [];
    let refused = 0;
    const limited = {
      request(request: Request) {
        if (request.method === "eth_getLogs") {
          const [filter] = request.params as [{ fromBlock: string; toBlock: string }];
          const size = Number(filter.toBlock) - Number(filter.fromBlock) + 1;
          if (size > 3) {
            refused += 1;
            return Promise.reject(Object.assign(new Error("query returned more than 10000 results"), { code: -32005 }));
          }
          accepted.push(size);
        }
        return forward(request);
      },
    };
    const { store, indexer } = await host.another({ rpc: limited, rpcOptions: quick });
    const status = await indexer.syncTo();
    assert.equal(status.failure, null);
    assert.ok(refused > 0, "the node refused the first ranges");
    assert.ok(accepted.every((size) => size <= 3));
    assert.deepEqual(await snapshot(store), expected);
  });

  it("gives up with the RPC's error when the node stays down, then the background loop waits it out", async () => {
    let down = true;
    const outage = {
      request(request: Request) {
        return down ? Promise.reject(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8545"), { code: -32603 })) : forward(request);
      },
    };
    const { store, indexer } = await host.another({ rpc: outage, rpcOptions: quick, pollIntervalMs: 5 });
    await assert.rejects(indexer.syncTo(), (error: unknown) => {
      assert.ok(error instanceof RpcError);
      assert.match(error.message, /^eth_blockNumber failed: .*ECONNREFUSED/);
      return true;
    });
    assert.equal(await store.head(), null, "nothing was written");

    indexer.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(indexer.status().running, true, "the loop keeps running through the outage");
    down = false;
    const head = Number(await host.p.publicClient.getBlockNumber());
    const status = await indexer.syncTo(head);
    await indexer.stop();
    assert.equal(status.latestBlock?.number, head);
    assert.equal(indexer.status().running, false);
    assert.deepEqual(await snapshot(store), expected);
  });

  describe("over HTTP", () => {
    let server: Server;
    let batches = 0;

    before(async () => {
      // A JSON-RPC endpoint in front of the in-process chain, answering single and batched requests.
      server = createServer(async (req, res) => {
        let body = "";
        for await (const chunk of req) body += chunk;
        const payload = JSON.parse(body) as { id: number; method: string; params?: unknown } | { id: number; method: string; params?: unknown }[];
        const answer = async (r: { id: number; method: string; params?: unknown }) => {
          try {
            return { jsonrpc: "2.0", id: r.id, result: await forward({ method: r.method, params: r.params }) };
          } catch (error) {
            return { jsonrpc: "2.0", id: r.id, error: { code: -32000, message: (error as Error).message } };
          }
        };
        if (Array.isArray(payload)) batches += 1;
        const result = Array.isArray(payload) ? await Promise.all(payload.map(answer)) : await answer(payload);
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(result));
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    });

    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("indexes from a URL, batching concurrent requests", async () => {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const { store, indexer } = await host.another({ rpc: url });
      const status = await indexer.syncTo();
      assert.equal(status.failure, null);
      assert.ok(batches > 0, "some requests went out as JSON-RPC batches");
      assert.deepEqual(await snapshot(store), expected);
    });

    it("refuses an RPC that is not a URL, provider or transport", async () => {
      await assert.rejects(host.another({ rpc: "ws://127.0.0.1:1" }), /RPC URL must start with http:\/\/ or https:\/\//);
    });
  });
});
