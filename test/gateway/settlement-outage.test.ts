// An RPC endpoint that goes away (its port closed, or broadcasts lost) while the worker runs on its own: rounds fail
// and are retried with growing backoff, nothing in the ledger is lost, and settlement resumes by itself — with the
// transaction signed before the outage, not a new one — once the endpoint is back.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createPublicClient, http, type PublicClient } from "viem";
import { hardhat } from "viem/chains";
import { PRICE, eventually, recordingLogger, rpcProxy, settlementChain, type RpcProxy, type SettlementChain } from "./settlement-helpers.ts";

describe("settlement through an RPC outage", () => {
  let chain: SettlementChain;
  let proxy: RpcProxy;
  let client: PublicClient;

  before(async () => {
    chain = await settlementChain();
    proxy = await rpcProxy(chain.h.rpcUrl);
    client = createPublicClient({ chain: hardhat, transport: http(proxy.url, { retryCount: 0 }), pollingInterval: 50 }) as PublicClient;
  });
  after(async () => {
    await proxy?.close();
    await chain?.stop();
  });

  it("retries with backoff while the endpoint is down and settles by itself when it is back", async () => {
    const ledger = chain.sqlite("down");
    const payer = await chain.newPayer(100_000n);
    for (const lane of [0, 1, 2]) await chain.pay(ledger, payer, chain.models[1], lane, 3);
    const owed = await ledger.unsettledOf(payer.address, chain.operator.address);
    const nonce = await chain.nonce(chain.operator.address);
    const logger = recordingLogger();
    const worker = chain.worker(ledger, { client, logger, threshold: 1n });

    await proxy.down();
    worker.start();
    await eventually(async () => worker.metrics.failedRounds >= 5, "five failed rounds");
    assert.equal(await ledger.unsettledOf(payer.address, chain.operator.address), owed, "nothing lost or settled meanwhile");
    assert.equal(await chain.nonce(chain.operator.address), nonce);
    const delays = logger.entries.filter((e) => e.level === "warn" && /round failed/.test(e.msg ?? "")).map((e) => e.obj.retryInMs as number);
    assert.deepEqual(delays.slice(0, 5), [20, 40, 80, 160, 200], "exponential backoff, capped");
    assert.equal(worker.metrics.lastSuccessAt, null);

    await proxy.up();
    await eventually(async () => (await ledger.unsettledOf(payer.address, chain.operator.address)) === 0n, "settled after the outage");
    await worker.stop();
    assert.equal(await chain.nonce(chain.operator.address), nonce + 1);
    for (const lane of [0, 1, 2]) assert.deepEqual(await chain.tab(payer.address, chain.models[1], lane), [3n * PRICE, 3n]);
    assert.equal(worker.metrics.charged, owed);
    assert.ok(worker.metrics.lastSuccessAt !== null);
    await ledger.close();
  });

  it("sends the transaction it signed before the outage, not a new one, once broadcasts get through", async () => {
    const ledger = chain.sqlite("lost-broadcasts");
    const payer = await chain.newPayer(100_000n);
    await chain.pay(ledger, payer, chain.models[0], 0, 4);
    const nonce = await chain.nonce(chain.operator.address);
    const logger = recordingLogger();
    const worker = chain.worker(ledger, { client, logger, threshold: 1n });

    proxy.drop("eth_sendRawTransaction");
    worker.start();
    await eventually(async () => worker.metrics.failedRounds >= 3, "three failed broadcasts");
    const [recorded, ...others] = await ledger.pendingSubmissions(chain.operator.address);
    assert.ok(recorded && others.length === 0, "one transaction recorded, however many rounds failed");
    assert.equal(recorded.nonce, nonce);

    proxy.drop(null);
    await eventually(async () => (await ledger.pendingSubmissions(chain.operator.address)).length === 0, "the recorded transaction mined");
    await worker.stop();
    assert.equal(await chain.nonce(chain.operator.address), nonce + 1);
    assert.equal((await chain.client.getTransaction({ hash: recorded.hash })).nonce, nonce);
    assert.deepEqual(await chain.tab(payer.address, chain.models[0], 0), [4n * PRICE, 4n]);
    assert.equal(await ledger.unsettledOf(payer.address, chain.operator.address), 0n);
    await ledger.close();
  });
});
