// `modelshare settle`, run as a subprocess against a hardhat node: from the ledger with the operator key (refused
// while another holder has the settlement lock), through a running gateway's admin endpoint, and with bad input.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import express, { type NextFunction, type Request, type Response } from "express";
import { toErrorResponse } from "../../gateway/http/errors.ts";
import { settleHandler } from "../../gateway/http/ops.ts";
import type { SqliteLedger } from "../../gateway/ledger/sqlite.ts";
import { BAD_INPUT, ENVIRONMENT, errorLine } from "../cli/harness.ts";
import { PRICE, settlementChain, type SettlementChain } from "./settlement-helpers.ts";

describe("modelshare settle", () => {
  let chain: SettlementChain;
  let ledger: SqliteLedger;
  let ledgerUrl: string;

  before(async () => {
    chain = await settlementChain();
    ledger = chain.sqlite("cli");
    ledgerUrl = `sqlite:${ledger.file}`;
  });
  after(async () => {
    await ledger?.close();
    await chain?.stop();
  });

  const settle = (args: string[]) => chain.h.cli(["settle", ...args], { key: chain.operatorKey });

  it("runs a round from the ledger with the operator key, while the ledger is open elsewhere", async () => {
    const payer = await chain.newPayer(100_000n);
    for (const lane of [0, 1, 2]) await chain.pay(ledger, payer, chain.models[0], lane, 2);
    const r = await settle(["--ledger", ledgerUrl, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.json<Record<string, unknown>>();
    assert.equal(out.via, "ledger");
    assert.equal(out.ledger, "sqlite");
    assert.equal(out.operator, chain.operator.address);
    assert.equal(out.batches, 1);
    assert.equal(out.vouchers, 3);
    assert.equal(out.charged, "0.006");
    assert.equal(out.chargedUnits, String(6n * PRICE));
    assert.deepEqual(out.rejected, []);
    assert.equal(out.remainingUnits, "0");
    assert.equal((out.transactions as string[]).length, 1);
    for (const lane of [0, 1, 2]) assert.deepEqual(await chain.tab(payer.address, chain.models[0], lane), [2n * PRICE, 2n]);
    assert.equal(await ledger.unsettledOf(payer.address, chain.operator.address), 0n);
  });

  it("refuses to run while another holder has the settlement lock, sending nothing", async () => {
    const payer = await chain.newPayer(100_000n);
    await chain.pay(ledger, payer, chain.models[1], 0, 2);
    const lock = await ledger.acquireSettlementLock(chain.operator.address, "gateway@this-host", 60_000);
    assert.ok(lock);
    const nonce = await chain.nonce(chain.operator.address);
    const refused = await settle(["--ledger", ledgerUrl]);
    assert.equal(refused.code, ENVIRONMENT);
    assert.match(errorLine(refused), /settlement lock for operator 0x[0-9a-fA-F]{40} is held by gateway@this-host .*modelshare settle --gateway <url>/);
    assert.equal(await chain.nonce(chain.operator.address), nonce);
    assert.equal(await ledger.unsettledOf(payer.address, chain.operator.address), 2n * PRICE);

    await lock.release();
    const above = await settle(["--ledger", ledgerUrl, "--threshold", "0.005"]);
    assert.equal(above.code, 0, above.stderr);
    assert.match(above.stdout, /^nothing to settle\nstill owed: 0\.002 on 1 lane\(s\)\n$/);
    const done = await settle(["--ledger", ledgerUrl]);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /^settled 1 voucher\(s\) in 1 transaction: charged 0\.002\n  tx 0x[0-9a-f]{64}\n$/);
    assert.equal(await chain.nonce(chain.operator.address), nonce + 1);
  });

  it("asks a running gateway to settle when given --gateway", async () => {
    const payer = await chain.newPayer(100_000n);
    await chain.pay(ledger, payer, chain.models[0], 5, 3);
    // The gateway's own admin route and error answers, wired to a real worker on the same ledger.
    const worker = chain.worker(ledger, { threshold: 1n });
    const app = express();
    app.post("/v1/admin/settle", settleHandler(() => worker.runOnce()));
    app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      const { status, body } = toErrorResponse(error);
      res.status(status).json(body);
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      // While another settler holds the lock, the gateway says so with a 409, not a failure of its own.
      const lock = await ledger.acquireSettlementLock(chain.operator.address, "another-host:1:replica", 60_000);
      assert.ok(lock);
      const locked = await settle(["--gateway", url]);
      await lock.release();
      assert.equal(locked.code, 1, locked.stderr);
      assert.match(errorLine(locked), /the gateway did not settle \(409 settlement_locked\): the settlement lock for operator 0x[0-9a-fA-F]{40} is held by another-host:1:replica/);
      assert.equal(await ledger.unsettledOf(payer.address, chain.operator.address), 3n * PRICE);

      const r = await settle(["--gateway", url, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const out = r.json<Record<string, unknown>>();
      assert.equal(out.via, "gateway");
      assert.equal(out.vouchers, 1);
      assert.equal(out.chargedUnits, String(3n * PRICE));
      assert.equal(out.charged, "0.003");
      assert.equal(await ledger.unsettledOf(payer.address, chain.operator.address), 0n);
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await worker.stop();
    }
  });

  it("says clearly what is wrong with its input or its surroundings", async () => {
    const badUrl = await settle(["--ledger", "mysql://db/ledger"]);
    assert.equal(badUrl.code, BAD_INPUT);
    assert.match(errorLine(badUrl), /unsupported ledger URL mysql:\/\/db\/ledger: use sqlite:<path>/);

    const text = path.join(chain.dir, "notes.txt");
    await writeFile(text, "not a ledger at all, just some words\n".repeat(50));
    const notLedger = await settle(["--ledger", `sqlite:${text}`]);
    assert.equal(notLedger.code, ENVIRONMENT);
    assert.match(errorLine(notLedger), /is not a SQLite database/);

    const both = await settle(["--ledger", ledgerUrl, "--gateway", "http://127.0.0.1:1"]);
    assert.equal(both.code, BAD_INPUT);
    assert.match(errorLine(both), /either --gateway .* or --ledger/);

    const batch = await settle(["--ledger", ledgerUrl, "--max-batch", "0"]);
    assert.equal(batch.code, BAD_INPUT);
    assert.match(errorLine(batch), /--max-batch must be a whole number from 1 to 1000/);

    const noGateway = await settle(["--gateway", "http://127.0.0.1:1", "--json"]);
    assert.equal(noGateway.code, ENVIRONMENT);
    assert.match(errorLine(noGateway), /cannot reach the gateway at http:\/\/127\.0\.0\.1:1: is it running\?/);
    assert.equal(noGateway.json<{ error: { exitCode: number } }>().error.exitCode, ENVIRONMENT);
  });
});
