// A worker that restarts with a settlement transaction recorded as `sent` finishes it, and never makes a second
// transaction for its nonce: whether the broadcast was lost, the node dropped it, it was mined while the worker was
// down, or another transaction took its nonce. Checked on the chain: the operator's nonce, the transaction that was
// mined, and the vault's tabs.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createPublicClient, http, type Hex, type PublicClient } from "viem";
import { hardhat } from "viem/chains";
import type { Ledger, Submission } from "../../gateway/ledger/types.ts";
import { PRICE, recordingLogger, rpcProxy, settlementChain, type SettlementChain } from "./settlement-helpers.ts";

describe("settlement worker restarts", () => {
  let chain: SettlementChain;

  before(async () => {
    chain = await settlementChain();
  });
  after(async () => {
    await chain.h.rpc("evm_setAutomine", [true]).catch(() => {});
    await chain?.stop();
  });

  /** Three lanes owing 2 calls each, in a fresh ledger. */
  async function owing(name: string): Promise<{ ledger: Ledger; check(): Promise<void> }> {
    const ledger = chain.sqlite(name);
    const payer = await chain.newPayer(100_000n);
    for (const lane of [0, 1, 2]) await chain.pay(ledger, payer, chain.models[0], lane, 2);
    return {
      ledger,
      async check() {
        for (const record of await ledger.lanes(chain.operator.address)) {
          assert.equal(record.settledAmount, 2n * PRICE);
          assert.deepEqual(await chain.tab(record.payer, record.modelId, record.lane), [2n * PRICE, 2n]);
        }
        assert.equal(await ledger.unsettledOf(payer.address, chain.operator.address), 0n);
        assert.deepEqual(await ledger.pendingSubmissions(chain.operator.address), []);
      },
    };
  }

  /** A worker round that leaves its transaction in flight: sent to a node that does not mine. */
  async function leaveInFlight(ledger: Ledger): Promise<Submission> {
    await chain.h.rpc("evm_setAutomine", [false]);
    const worker = chain.worker(ledger, { receiptTimeoutMs: 300 });
    const round = await worker.runOnce({ all: true });
    await worker.stop();
    assert.equal(round.pending, 1);
    assert.equal(round.batches, 0);
    const [submission, ...rest] = await ledger.pendingSubmissions(chain.operator.address);
    assert.ok(submission && rest.length === 0);
    return submission;
  }

  async function minedWithNonce(hash: Hex, nonce: number) {
    const tx = await chain.client.getTransaction({ hash });
    assert.equal(tx.nonce, nonce);
    assert.equal((await chain.client.getTransactionReceipt({ hash })).status, "success");
  }

  it("broadcasts the recorded bytes again when the first broadcast was lost", async () => {
    const { ledger, check } = await owing("lost");
    const nonce = await chain.nonce(chain.operator.address);
    const proxy = await rpcProxy(chain.h.rpcUrl);
    proxy.drop("eth_sendRawTransaction");
    const client = createPublicClient({ chain: hardhat, transport: http(proxy.url, { retryCount: 0 }), pollingInterval: 50 }) as PublicClient;
    const first = chain.worker(ledger, { client });
    await assert.rejects(first.runOnce({ all: true }), /503|unavailable|HTTP request failed/i);
    await first.stop();
    await proxy.close();
    const [recorded] = await ledger.pendingSubmissions(chain.operator.address);
    assert.ok(recorded, "recorded before the broadcast");
    assert.equal(recorded.nonce, nonce);
    assert.equal(await chain.nonce(chain.operator.address), nonce, "nothing reached the chain");

    const logger = recordingLogger();
    const second = chain.worker(ledger, { logger });
    const round = await second.runOnce({ all: true });
    await second.stop();
    assert.equal(round.recovered, 1);
    assert.equal(round.batches, 1);
    assert.deepEqual(round.transactions, [recorded.hash]);
    assert.equal(round.charged, 6n * PRICE);
    assert.ok(logger.entries.some((e) => /broadcasting a recorded transaction again/.test(e.msg ?? "")));
    assert.equal(await chain.nonce(chain.operator.address), nonce + 1, "one transaction, no second one for the nonce");
    await minedWithNonce(recorded.hash, nonce);
    await check();
    await ledger.close();
  });

  it("broadcasts it again when the node dropped it while the worker was down", async () => {
    const { ledger, check } = await owing("dropped");
    const nonce = await chain.nonce(chain.operator.address);
    const inFlight = await leaveInFlight(ledger);
    await chain.h.rpc("hardhat_dropTransaction", [inFlight.hash]);
    await chain.h.rpc("evm_setAutomine", [true]);
    assert.equal(await chain.nonce(chain.operator.address), nonce);

    const worker = chain.worker(ledger);
    const round = await worker.runOnce({ all: true });
    await worker.stop();
    assert.deepEqual([round.recovered, round.batches, round.vouchers], [1, 1, 3]);
    assert.deepEqual(round.transactions, [inFlight.hash]);
    assert.equal(await chain.nonce(chain.operator.address), nonce + 1);
    await minedWithNonce(inFlight.hash, nonce);
    await check();
    await ledger.close();
  });

  it("only reads the receipt when it was mined while the worker was down", async () => {
    const { ledger, check } = await owing("mined");
    const nonce = await chain.nonce(chain.operator.address);
    const inFlight = await leaveInFlight(ledger);
    await chain.h.rpc("evm_mine");
    await chain.h.rpc("evm_setAutomine", [true]);

    const logger = recordingLogger();
    const worker = chain.worker(ledger, { logger });
    const round = await worker.runOnce({ all: true });
    await worker.stop();
    assert.deepEqual([round.recovered, round.batches, round.charged], [1, 1, 6n * PRICE]);
    assert.ok(!logger.entries.some((e) => /broadcasting/.test(e.msg ?? "")), "nothing sent");
    assert.equal(await chain.nonce(chain.operator.address), nonce + 1);
    await minedWithNonce(inFlight.hash, nonce);
    await check();
    await ledger.close();
  });

  it("gives up a transaction whose nonce another transaction took, and settles its vouchers with the next nonce", async () => {
    const { ledger, check } = await owing("replaced");
    const nonce = await chain.nonce(chain.operator.address);
    const inFlight = await leaveInFlight(ledger);
    await chain.h.rpc("hardhat_dropTransaction", [inFlight.hash]);
    await chain.h.rpc("evm_setAutomine", [true]);
    // The operator key is used elsewhere meanwhile (say, to claim fees) and takes the nonce.
    const other = await chain.h.wallet(chain.operatorKey).sendTransaction({ to: chain.operator.address, value: 0n, nonce, chain: undefined, account: chain.operator });
    await chain.client.waitForTransactionReceipt({ hash: other });

    const worker = chain.worker(ledger);
    const round = await worker.runOnce({ all: true });
    await worker.stop();
    assert.equal(round.replaced, 1);
    assert.equal(round.batches, 1);
    assert.notEqual(round.transactions[0], inFlight.hash);
    assert.equal(await chain.nonce(chain.operator.address), nonce + 2);
    await minedWithNonce(round.transactions[0]!, nonce + 1);
    await assert.rejects(chain.client.getTransactionReceipt({ hash: inFlight.hash }), /could not be found/);
    await check();
    await ledger.close();
  });
});
