// `npm run bench:gateway`: one gateway process (`modelshare gateway`, the real CLI) serving one tiny model, measured
// side by side in one run with the same load generator (bench/load.ts): unpaid calls, voucher-paid calls and x402
// `exact` calls. Throughput: 32 keep-alive connections, each paying on a lane of its own, so every voucher is its
// lane's next step. Latency added by payment: sequential calls on one connection (no queueing), unpaid vs voucher.
// Writes bench-results/gateway.json.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { hashTypedData, hexToBytes, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { signDigest } from "../gateway/payments/secp256k1.ts";
import { createVoucherHasher } from "../gateway/payments/voucher-hash.ts";
import { testStablecoinAbi, vaultAbi } from "../sdk/contracts.ts";
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from "../sdk/typed-data.ts";
import { voucherToJson } from "../sdk/x402/voucher-scheme.ts";
import { KEYS, startHarness, type Harness } from "../test/cli/harness.ts";
import { runLoad } from "./load.ts";
import { measureVerification } from "./verify.ts";

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
/** BENCH_ONLY=voucher (with BENCH_PROFILE) profiles one phase alone; the others then report zeros. */
const ONLY = process.env.BENCH_ONLY;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const EXACT_SECONDS = Number(process.env.BENCH_EXACT_SECONDS ?? 5);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 4000);
const PRICE = 1_000n; // 0.001 USDC
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
  // BENCH_PROFILE=<dir> writes the gateway's CPU profile there (node --cpu-prof), to see where a paid call's time goes.
  const profile = process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const child = spawn(process.execPath, [...profile, "sdk/cli/main.ts", "gateway", "--port", "0", "--ledger", `sqlite:${path.join(h.dir, "ledger.sqlite")}`], {
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

/** The voucher header of a lane's next call: its k-th call pays cumulative k × price. */
function voucherFactory(chainId: number, vault: Address, operator: Address, payers: { key: Hex; account: { address: Address } }[], accepted: unknown) {
  const hash = createVoucherHasher(chainId, vault);
  return ({ payer: index, lane, step }: Lane): string => {
    const payer = payers[index]!;
    const voucher = { payer: payer.account.address, operator, modelId: 1n, lane, cumulativeAmount: step * PRICE, cumulativeCalls: step, expiry: 0n };
    const signature = signDigest(hash(voucher), hexToBytes(payer.key));
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
      signature: signDigest(digest, hexToBytes(payer.key)),
      authorization: { ...authorization, value: PRICE.toString(), validAfter: "0", validBefore: authorization.validBefore.toString() },
    };
    return b64({ x402Version: 2, accepted, payload });
  });
}

/** CPU seconds (user + system) a process — or one of its threads — has used so far, from /proc (Linux). */
function cpuSeconds(pid: number, thread?: number): number {
  const file = thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`;
  const fields = readFileSync(file, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** A lane of one of the payers: its next voucher is step `step`. */
interface Lane {
  payer: number;
  lane: number;
  step: bigint;
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

  // One lane per connection, spread over the payers; the latency loop has a lane of its own. Each starts at step 1,
  // and advances only when its call was answered.
  const lanes: Lane[] = Array.from({ length: CONNECTIONS + 1 }, (_, i) => ({ payer: i % payers.length, lane: Math.floor(i / payers.length), step: 1n }));
  // Vouchers are signed before the phase, so the load generator does the same work paid or unpaid; a lane that runs
  // past what was signed signs on the fly.
  const presigned = Number(process.env.BENCH_PRESIGN ?? 4000);
  process.stderr.write(`signing ${presigned} vouchers per lane…\n`);
  const signed = lanes.map((lane) => Array.from({ length: presigned }, (_, i) => voucher({ ...lane, step: BigInt(i + 1) })));
  const paying = {
    headers: (slot: number) => {
      const lane = lanes[slot]!;
      return { "PAYMENT-SIGNATURE": signed[slot]![Number(lane.step) - 1] ?? voucher(lane) };
    },
    onStatus: (slot: number, status: number) => {
      if (status === 200) lanes[slot]!.step += 1n;
    },
  };
  const url = `${gateway.url}/v1/models/1/infer`;
  // Each phase also measures the gateway process's CPU time per answered call: on a busy machine throughput and
  // latency move with everything else running, CPU time per call much less.
  const pid = gateway.child.pid!;
  const phase = async (seconds: number, connections: number, extra: Partial<Parameters<typeof runLoad>[0]> = {}) => {
    const cpu = cpuSeconds(pid);
    const mainThread = cpuSeconds(pid, pid);
    const result = await runLoad({ url, connections, seconds, body, ...extra });
    const per = (seconds: number) => (seconds * 1e6) / Math.max(1, result.requests);
    return { ...result, cpuUsPerCall: per(cpuSeconds(pid) - cpu), mainThreadUsPerCall: per(cpuSeconds(pid, pid) - mainThread) };
  };

  process.stderr.write(`warm-up, then ${SECONDS} s per phase with ${CONNECTIONS} connections…\n`);
  await phase(2, CONNECTIONS);
  const runs = (name: string) => ONLY === undefined || ONLY === name;
  const unpaid = await phase(runs("unpaid") ? SECONDS : 0, CONNECTIONS);
  const paid = await phase(runs("voucher") ? SECONDS : 0, CONNECTIONS, paying);
  const exact = await exactHeaders(Math.ceil(EXACT_SECONDS * 4000), chainId, h.deployment.stablecoin.address, exactAccepted.payTo, payers, exactAccepted);
  let nextExact = 0;
  const exactPhase = await phase(runs("exact") ? EXACT_SECONDS : 0, CONNECTIONS, { headers: () => ({ "PAYMENT-SIGNATURE": exact[nextExact++ % exact.length]! }) });

  process.stderr.write(`latency: ${LATENCY_MS / 1000} s of sequential calls per mode…\n`);
  // The latency loop pays on the last lane (slot CONNECTIONS); one connection, so no queueing.
  const latencyPaying = {
    headers: () => paying.headers(CONNECTIONS),
    onStatus: (_slot: number, status: number) => paying.onStatus(CONNECTIONS, status),
  };
  const unpaidLatency = await phase(runs("unpaid") ? LATENCY_MS / 1000 : 0, 1);
  const voucherLatency = await phase(runs("voucher") ? LATENCY_MS / 1000 : 0, 1, latencyPaying);
  const verifyPerSec = (await measureVerification()).gateway;

  const results = {
    unpaid_rps: Math.round(unpaid.rps),
    voucher_rps: Math.round(paid.rps),
    exact_rps: Math.round(exactPhase.rps),
    paid_unpaid_ratio: Number((paid.rps / unpaid.rps).toFixed(3)),
    unpaid_p50_ms: Number(unpaidLatency.p50Ms.toFixed(3)),
    unpaid_p99_ms: Number(unpaidLatency.p99Ms.toFixed(3)),
    voucher_p50_ms: Number(voucherLatency.p50Ms.toFixed(3)),
    voucher_p99_ms: Number(voucherLatency.p99Ms.toFixed(3)),
    added_p50_ms: Number((voucherLatency.p50Ms - unpaidLatency.p50Ms).toFixed(3)),
    added_p99_ms: Number((voucherLatency.p99Ms - unpaidLatency.p99Ms).toFixed(3)),
    gateway_cpu_us_per_call: { unpaid: Math.round(unpaid.cpuUsPerCall), voucher: Math.round(paid.cpuUsPerCall), exact: Math.round(exactPhase.cpuUsPerCall) },
    // The event loop's thread: what bounds one process's throughput (the ledger writer and onnxruntime have threads of their own).
    main_thread_cpu_us_per_call: { unpaid: Math.round(unpaid.mainThreadUsPerCall), voucher: Math.round(paid.mainThreadUsPerCall), exact: Math.round(exactPhase.mainThreadUsPerCall) },
    under_load_p50_ms: { unpaid: Number(unpaid.p50Ms.toFixed(3)), voucher: Number(paid.p50Ms.toFixed(3)), exact: Number(exactPhase.p50Ms.toFixed(3)) },
    latency_non_2xx: unpaidLatency.non2xx + voucherLatency.non2xx,
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
gateway CPU per call       unpaid ${results.gateway_cpu_us_per_call.unpaid} µs, voucher ${results.gateway_cpu_us_per_call.voucher} µs, exact ${results.gateway_cpu_us_per_call.exact} µs (all threads)
  on the event loop        unpaid ${results.main_thread_cpu_us_per_call.unpaid} µs, voucher ${results.main_thread_cpu_us_per_call.voucher} µs, exact ${results.main_thread_cpu_us_per_call.exact} µs
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
