// `npm run bench:gateway`: one gateway process (`modelshare gateway`, the real CLI) serving one tiny model, measured
// side by side in one run with the same load generator: unpaid calls, voucher-paid calls and x402 `exact` calls.
// Throughput comes from autocannon (32 connections; each connection is one payer lane, so every voucher is the
// lane's next step); latency from a closed loop of sequential requests timed with hrtime (autocannon's latency
// histogram has whole-millisecond resolution, too coarse for the payment's added latency). Writes
// bench-results/gateway.json.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdir, writeFile } from "node:fs/promises";
import { Agent, request } from "node:http";
import path from "node:path";
import autocannon from "autocannon";
import { hashTypedData, hexToBytes, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createVoucherHasher } from "../gateway/payments/voucher-hash.ts";
import { testStablecoinAbi, vaultAbi } from "../sdk/contracts.ts";
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from "../sdk/typed-data.ts";
import { voucherToJson } from "../sdk/x402/voucher-scheme.ts";
import { KEYS, startHarness, type Harness } from "../test/cli/harness.ts";
import { measureVerification } from "./verify.ts";

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const EXACT_SECONDS = Number(process.env.BENCH_EXACT_SECONDS ?? 5);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 3000);
const PRICE = 1_000n; // 0.001 USDC
const native = createRequire(import.meta.url)("secp256k1/bindings") as {
  ecdsaSign(msg: Uint8Array, key: Uint8Array): { signature: Uint8Array; recid: number };
};

function sign(digest: Uint8Array, key: Uint8Array): Hex {
  const { signature, recid } = native.ecdsaSign(digest, key);
  return `0x${Buffer.from(signature).toString("hex")}${(27 + recid).toString(16)}`;
}

const body = JSON.stringify({ inputs: { input: { dims: [1, 4], data: [5.1, 3.5, 1.4, 0.2] } } });
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64");

async function setup(h: Harness) {
  const file = await h.model("iris.onnx", { features: 4, classes: 3 });
  const minted = await h.cli(["mint", file, "--name", "bench", "--price", "0.001", "--shares", "1000", "--json"]);
  if (minted.code !== 0) throw new Error(`mint failed: ${minted.stderr}`);
  // Four payers, each funded and with a deposit that covers any run.
  const payers = KEYS.slice(2, 6).map((key) => ({ key, account: privateKeyToAccount(key) }));
  for (const p of payers) {
    const w = h.wallet(p.key);
    const write = async (address: Address, abi: typeof testStablecoinAbi | typeof vaultAbi, functionName: string, args: unknown[]) =>
      h.publicClient.waitForTransactionReceipt({
        hash: await w.writeContract({ address, abi, functionName, args, chain: undefined, account: p.account } as never),
      });
    await write(h.deployment.stablecoin.address, testStablecoinAbi, "mint", [p.account.address, 10n ** 15n]);
    await write(h.deployment.stablecoin.address, testStablecoinAbi, "approve", [h.deployment.contracts.vault, 10n ** 14n]);
    await write(h.deployment.contracts.vault, vaultAbi, "deposit", [10n ** 14n]);
  }
  return payers;
}

async function startGatewayProcess(h: Harness) {
  const child = spawn(process.execPath, ["sdk/cli/main.ts", "gateway", "--port", "0", "--ledger", `sqlite:${path.join(h.dir, "ledger.sqlite")}`], {
    env: {
      ...process.env,
      MODELSHARE_RPC_URL: h.rpcUrl,
      MODELSHARE_DEPLOYMENTS_DIR: h.deploymentsDir,
      MODELSHARE_STORAGE_DIR: path.join(h.dir, "store"),
      MODELSHARE_PRIVATE_KEY: KEYS[1],
      MODELSHARE_GATEWAY_SERVE_UNPAID: "true",
      MODELSHARE_LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`gateway exited (${code}) before listening:\n${out}`)));
  });
  const info = (await (await fetch(`${url}/v1/models/1`)).json()) as { accepts: { scheme: string }[] };
  const operator = (info.accepts.find((a) => a.scheme === "modelshare-voucher") as unknown as { extra: { operator: Address } }).extra.operator;
  return { child, url, operator, accepts: info.accepts };
}

/** Voucher headers per lane, in order: lane L's k-th call pays cumulative k × price. */
function voucherFactory(chainId: number, vault: Address, operator: Address, payers: { key: Hex; account: { address: Address } }[], accepted: unknown) {
  const hash = createVoucherHasher(chainId, vault);
  return (lane: number, step: bigint): string => {
    const payer = payers[lane % payers.length]!;
    const voucher = { payer: payer.account.address, operator, modelId: 1n, lane, cumulativeAmount: step * PRICE, cumulativeCalls: step, expiry: 0n };
    const signature = sign(hash(voucher), hexToBytes(payer.key));
    return b64({ x402Version: 2, accepted, payload: { voucher: voucherToJson(voucher), signature } });
  };
}

async function exactHeaders(count: number, chainId: number, stablecoin: Address, payTo: Address, payers: { key: Hex; account: { address: Address } }[], accepted: { extra: { name: string; version: string } }) {
  const now = BigInt(Math.floor(Date.now() / 1000));
  const domain = { name: accepted.extra.name, version: accepted.extra.version, chainId, verifyingContract: stablecoin };
  return Array.from({ length: count }, (_, i) => {
    const payer = payers[i % payers.length]!;
    const nonce = `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex")}` as Hex;
    const authorization = { from: payer.account.address, to: payTo, value: PRICE, validAfter: 0n, validBefore: now + 600n, nonce };
    const digest = hexToBytes(hashTypedData({ domain, types: TRANSFER_WITH_AUTHORIZATION_TYPES, primaryType: "TransferWithAuthorization", message: authorization }));
    const payload = {
      signature: sign(digest, hexToBytes(payer.key)),
      authorization: { ...authorization, value: PRICE.toString(), validAfter: "0", validBefore: authorization.validBefore.toString() },
    };
    return b64({ x402Version: 2, accepted, payload });
  });
}

interface Phase {
  rps: number;
  non2xx: number;
  errors: number;
}

/** A lane of the load generator: its next voucher is step `step`. */
interface Lane {
  lane: number;
  step: bigint;
}

/**
 * Runs autocannon for `seconds`. With `header`, every request takes a free lane from the pool and gives it back when
 * answered, one step further on a 200 (autocannon resets per-request context between requests, so lanes cannot live
 * there; with one request in flight per connection, the pool never runs dry).
 */
function load(url: string, seconds: number, header: ((lane: Lane) => Record<string, string>) | undefined, lanes: Lane[] = []): Promise<Phase> {
  const free = [...lanes];
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `${url}/v1/models/1/infer`,
        connections: CONNECTIONS,
        duration: seconds,
        requests: [
          {
            method: "POST",
            headers: { "content-type": "application/json" },
            body,
            setupRequest: (req: Record<string, unknown>, context: Record<string, unknown>) => {
              if (!header) return req;
              const lane = (context.lane as Lane | undefined) ?? free.pop();
              if (!lane) throw new Error("the lane pool ran dry");
              context.lane = lane;
              return { ...req, headers: { ...(req.headers as object), ...header(lane) } };
            },
            onResponse: (status: number, _body: string, context: Record<string, unknown>) => {
              const lane = context.lane as Lane | undefined;
              if (!lane) return;
              if (status === 200) lane.step += 1n;
              context.lane = undefined;
              free.push(lane);
            },
          },
        ],
      } as never,
      (error: Error | null, result: autocannon.Result) => {
        if (error) return reject(error);
        resolve({ rps: result.requests.average, non2xx: result.non2xx, errors: result.errors });
      },
    );
  });
}

/** Sequential requests on one keep-alive connection, timed with hrtime: latency without queueing. */
async function latency(url: string, samples: number, header: (i: number) => Record<string, string>) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const target = new URL(`${url}/v1/models/1/infer`);
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = process.hrtime.bigint();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: target.hostname, port: target.port, path: target.pathname, method: "POST", agent, headers: { "content-type": "application/json", ...header(i) } },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    if (status !== 200) throw new Error(`latency run: HTTP ${status} on sample ${i}`);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  agent.destroy();
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

const h = await startHarness();
let gateway: Awaited<ReturnType<typeof startGatewayProcess>> | undefined;
try {
  process.stderr.write("setting up: chain, model, payers, gateway…\n");
  const payers = await setup(h);
  gateway = await startGatewayProcess(h);
  const chainId = h.deployment.chainId;
  const voucherAccepted = gateway.accepts.find((a) => a.scheme === "modelshare-voucher")!;
  const exactAccepted = gateway.accepts.find((a) => a.scheme === "exact") as unknown as { payTo: Address; extra: { name: string; version: string } };
  const voucher = voucherFactory(chainId, h.deployment.contracts.vault, gateway.operator, payers, voucherAccepted);

  // The load generator's lanes are 0…CONNECTIONS−1, the latency loop's is the next one; each starts at step 1.
  const lanes: Lane[] = Array.from({ length: CONNECTIONS }, (_, lane) => ({ lane, step: 1n }));

  process.stderr.write(`warm-up, then ${SECONDS} s per phase with ${CONNECTIONS} connections…\n`);
  await load(gateway.url, 2, undefined);
  const unpaid = await load(gateway.url, SECONDS, undefined);
  const paid = await load(gateway.url, SECONDS, (lane) => ({ "PAYMENT-SIGNATURE": voucher(lane.lane, lane.step) }), lanes);

  const exact = await exactHeaders(Math.ceil(EXACT_SECONDS * 4000), chainId, h.deployment.stablecoin.address, exactAccepted.payTo, payers, exactAccepted);
  let nextExact = 0;
  const exactPhase = await load(gateway.url, EXACT_SECONDS, () => ({ "PAYMENT-SIGNATURE": exact[nextExact++ % exact.length]! }));

  process.stderr.write(`latency: ${LATENCY_SAMPLES} sequential calls per mode…\n`);
  const unpaidLatency = await latency(gateway.url, LATENCY_SAMPLES, () => ({}));
  const voucherLatency = await latency(gateway.url, LATENCY_SAMPLES, (i) => ({ "PAYMENT-SIGNATURE": voucher(CONNECTIONS, BigInt(i + 1)) }));
  const verifyPerSec = (await measureVerification()).gateway;

  const results = {
    unpaid_rps: Math.round(unpaid.rps),
    voucher_rps: Math.round(paid.rps),
    exact_rps: Math.round(exactPhase.rps),
    paid_unpaid_ratio: Number((paid.rps / unpaid.rps).toFixed(3)),
    unpaid_p50_ms: Number(unpaidLatency.p50.toFixed(3)),
    unpaid_p99_ms: Number(unpaidLatency.p99.toFixed(3)),
    voucher_p50_ms: Number(voucherLatency.p50.toFixed(3)),
    voucher_p99_ms: Number(voucherLatency.p99.toFixed(3)),
    added_p50_ms: Number((voucherLatency.p50 - unpaidLatency.p50).toFixed(3)),
    added_p99_ms: Number((voucherLatency.p99 - unpaidLatency.p99).toFixed(3)),
    verify_per_sec_one_core: Math.round(verifyPerSec),
    non_2xx: { unpaid: unpaid.non2xx, voucher: paid.non2xx, exact: exactPhase.non2xx },
    connections: CONNECTIONS,
    seconds: SECONDS,
  };
  const pass = (ok: boolean) => (ok ? "PASS" : "MISS");
  console.log(`
Gateway, one process, tiny model (4 → 3 classifier), ${CONNECTIONS} connections, ${SECONDS} s per phase

                      req/s     p50 ms    p99 ms
unpaid            ${String(results.unpaid_rps).padStart(9)} ${results.unpaid_p50_ms.toFixed(3).padStart(10)} ${results.unpaid_p99_ms.toFixed(3).padStart(9)}
voucher-paid      ${String(results.voucher_rps).padStart(9)} ${results.voucher_p50_ms.toFixed(3).padStart(10)} ${results.voucher_p99_ms.toFixed(3).padStart(9)}
x402 exact        ${String(results.exact_rps).padStart(9)}      (one on-chain payment per call, batched)

paid / unpaid throughput   ${results.paid_unpaid_ratio.toFixed(3)}   target >= 0.70: ${pass(results.paid_unpaid_ratio >= 0.7)}
added latency p50          ${results.added_p50_ms.toFixed(3)} ms   target <= 0.3 ms: ${pass(results.added_p50_ms <= 0.3)}
added latency p99          ${results.added_p99_ms.toFixed(3)} ms   target <= 1 ms: ${pass(results.added_p99_ms <= 1)}
voucher verification       ${results.verify_per_sec_one_core}/s on one core   target >= 10,000: ${pass(results.verify_per_sec_one_core >= 10_000)}
non-2xx answers            unpaid ${unpaid.non2xx}, voucher ${paid.non2xx}, exact ${exactPhase.non2xx}
`);
  await mkdir("bench-results", { recursive: true });
  await writeFile("bench-results/gateway.json", JSON.stringify(results, null, 2) + "\n");
  console.log("wrote bench-results/gateway.json");
} finally {
  if (gateway) {
    gateway.child.kill("SIGINT");
    await new Promise((r) => gateway!.child.once("exit", r));
  }
  await h.stop();
}
