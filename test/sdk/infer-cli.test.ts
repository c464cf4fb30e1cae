// `modelshare infer`, run as a subprocess against a real gateway on a hardhat node: voucher and exact payments, lane
// states kept between runs, the receipt check, --json, and one readable error line (with its exit code) for a gateway
// that is down, an empty escrow, bad input, an unknown model and a price above --max-price.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";
import { BAD_INPUT, ENVIRONMENT, errorLine } from "../cli/harness.ts";
import { startPaidGateway, type PaidGateway } from "../helpers/paid-gateway.ts";

const DATA = JSON.stringify({ input: { dims: [1, 4], data: [1, 2, 3, 4] } });

interface InferJson {
  modelId: string;
  version: number;
  outputs: { probabilities: { type: string; dims: number[]; data: number[] } };
  payment: { scheme: string; payer: string; amount: string; lane?: number; cumulativeAmount?: string; cumulativeCalls?: string; transaction?: string; replay: boolean };
  receipt: { verified: boolean; operator: string; payer: string; cumulativeAmount: string; callIndex: string; inputSha256: string };
}

describe("modelshare infer", () => {
  let g: PaidGateway;
  let key: Hex;
  let lanes: string;

  before(async () => {
    g = await startPaidGateway();
    key = generatePrivateKey();
    await g.fund(privateKeyToAccount(key).address, { escrow: 1_000_000n });
    lanes = path.join(g.chain.dir, "lanes.json");
  });

  after(async () => g?.stop());

  const infer = (args: string[], options: { key?: Hex } = {}) =>
    g.chain.cli(["infer", "1", "--gateway", g.gateway.url, "--lanes", lanes, ...args], { key: options.key ?? key });

  it("pays with a voucher, prints the outputs, the payment and the receipt check, and keeps the lane for the next run", async () => {
    const first = await infer(["--data", DATA]);
    assert.equal(first.code, 0, first.stderr);
    const lines = first.stdout.trim().split("\n");
    assert.match(lines[0]!, /^model #1 version 1 \(weights 0x[0-9a-f]{8}…\)$/);
    assert.equal(lines[1], "outputs");
    assert.match(lines[2]!, /^ {2}probabilities {2}float32 \[1, 3\] {2}\[0\.0363442, 0\.907489, 0\.0561669\]$/);
    assert.equal(lines[3], "paid 0.002 with a voucher: lane 0, cumulative 0.002 after 1 calls");
    assert.equal(lines[4], `receipt checked: signed by operator ${g.gateway.operator}, input and output hashes match`);

    const second = await infer(["--data", DATA]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^paid 0\.002 with a voucher: lane 0, cumulative 0\.004 after 2 calls$/m);
    const kept = JSON.parse(await readFile(lanes, "utf8")) as { tabs: Record<string, { lane: number; cumulativeCalls: string }[]> };
    assert.deepEqual(Object.values(kept.tabs).flat().map((s) => [s.lane, s.cumulativeCalls]), [[0, "2"]]);
  });

  it("reads a whole request from --input and answers in JSON with --json, in base units with --raw", async () => {
    const file = await g.file("request.json", JSON.stringify({ inputs: { input: { dims: [1, 4], data: [4, 3, 2, 1] } }, version: 1 }));
    const r = await infer(["--input", file, "--json", "--raw"]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.json<InferJson>();
    assert.equal(out.modelId, "1");
    assert.equal(out.version, 1);
    assert.deepEqual(out.outputs.probabilities.dims, [1, 3]);
    assert.equal(out.payment.scheme, "modelshare-voucher");
    assert.equal(out.payment.amount, "2000");
    assert.equal(out.payment.lane, 0);
    assert.equal(out.payment.cumulativeAmount, "6000");
    assert.equal(out.payment.cumulativeCalls, "3");
    assert.equal(out.receipt.verified, true);
    assert.equal(out.receipt.operator, g.gateway.operator);
    assert.equal(out.receipt.cumulativeAmount, "6000");
    assert.equal(out.receipt.callIndex, "3");
  });

  it("pays with an x402 exact transfer from the wallet with --scheme exact", async () => {
    const walletKey = generatePrivateKey();
    await g.fund(privateKeyToAccount(walletKey).address, { wallet: 10_000n });
    const r = await infer(["--data", DATA, "--scheme", "exact", "--json"], { key: walletKey });
    assert.equal(r.code, 0, r.stderr);
    const out = r.json<InferJson>();
    assert.equal(out.payment.scheme, "exact");
    assert.equal(out.payment.amount, "0.002");
    assert.match(out.payment.transaction!, /^0x[0-9a-f]{64}$/);
    assert.equal(out.receipt.verified, true);
    assert.equal(out.receipt.callIndex, "1");
  });

  it("says to deposit first when the escrow is empty, or to fund the wallet for exact", async () => {
    const broke = generatePrivateKey();
    const voucher = await infer(["--data", DATA], { key: broke });
    assert.equal(voucher.code, ENVIRONMENT);
    assert.match(
      errorLine(voucher),
      /^error: the gateway refused the voucher: escrow 0 does not cover 2000 .*\. Deposit first: modelshare deposit <amount> \(model 1 costs 0\.002 per call\)$/,
    );
    const exact = await infer(["--data", DATA, "--scheme", "exact"], { key: broke });
    assert.equal(exact.code, ENVIRONMENT);
    assert.match(errorLine(exact), /^error: the wallet cannot pay an exact transfer: 0x[0-9a-fA-F]{40} holds 0, less than the 2000 it authorized\. Fund it, or pay from escrow with --scheme voucher$/);
  });

  it("reports a gateway that is not running", async () => {
    const r = await g.chain.cli(["infer", "1", "--gateway", "http://127.0.0.1:9", "--data", DATA, "--lanes", lanes], { key });
    assert.equal(r.code, ENVIRONMENT);
    assert.equal(errorLine(r), "error: cannot reach the gateway at http://127.0.0.1:9: is it running? (start one with `modelshare gateway`)");
  });

  it("refuses bad input before paying, with the gateway's reason or its own", async () => {
    const cases: [string[], RegExp][] = [
      [["--data", JSON.stringify({ input: { dims: [1, 5], data: [1, 2, 3, 4, 5] } })], /^error: the gateway refused the request \(bad_shape: input "input" expects dims \[batch, 4\], got \[1, 5\]\)$/],
      [["--data", JSON.stringify({ nope: { dims: [1, 4], data: [1, 2, 3, 4] } })], /^error: the gateway refused the request \(unknown_input: unknown input "nope"/],
      [["--data", "{ not json"], /^error: --data is not valid JSON: /],
      [["--data", "[1, 2]"], /^error: --data must be a JSON object of named tensors$/],
      [["--data", JSON.stringify({ inputs: {}, extra: 1 })], /^error: --data has "extra" next to "inputs"; a request has only "inputs" and "version"$/],
      [[], /^error: give the inputs with either --input <file\.json> or --data '<json>'$/],
      [["--data", DATA, "--input", "x.json"], /^error: give the inputs with either --input <file\.json> or --data '<json>'$/],
      [["--input", "/nonexistent/in.json"], /^error: cannot read the input file \/nonexistent\/in\.json$/],
      [["--data", DATA, "--scheme", "card"], /^error: --scheme must be voucher or exact, got "card"$/],
      [["--data", DATA, "--model-version", "0"], /^error: --model-version must be a positive integer, got "0"$/],
      [["--data", DATA, "--max-price", "0.001"], /^error: .* costs 2000 base units per call, above the limit of 1000 \(maxPricePerCall\); raise --max-price to pay it$/],
    ];
    const before = await readFile(lanes, "utf8");
    for (const [args, expected] of cases) {
      const r = await infer(args);
      assert.equal(r.code, BAD_INPUT, `${args.join(" ")}: ${r.stderr}`);
      assert.match(errorLine(r), expected, args.join(" "));
    }
    assert.equal(await readFile(lanes, "utf8"), before, "no refused call moved a lane");
  });

  it("names a model the gateway does not serve", async () => {
    const r = await g.chain.cli(["infer", "99", "--gateway", g.gateway.url, "--data", DATA, "--lanes", lanes, "--json"], { key });
    assert.equal(r.code, BAD_INPUT);
    assert.match(errorLine(r), /^error: the gateway does not serve model 99: /);
    assert.equal(r.json<{ error: { exitCode: number } }>().error.exitCode, BAD_INPUT);
  });
});
