// DESIGN.md §9, fuzzed: ≥ 10,000 malformed requests — payment headers garbled, truncated, badly encoded, huge,
// duplicated or subtly wrong inside; bodies broken, deeply nested, huge or of the wrong types; tensors with wrong
// dims, types, lengths and values; random paths, methods and content types — sent concurrently to a real gateway on
// a real chain. None may get a 5xx; every answer is a 4xx JSON `{ error: { code, message } }` (a 402 also with a
// PAYMENT-REQUIRED header naming the same error); and the ledger, the payers' escrow and balances end as they began.
//
// Seeded and reproducible: FUZZ_SEED picks the run, FUZZ_REQUESTS its size; a failure names the index of each
// request that failed, and `buildRequest(seed, index)` rebuilds exactly that request.
import assert from "node:assert/strict";
import { Agent, request as httpRequest } from "node:http";
import { after, before, describe, it } from "node:test";
import type { Address, Hex, LocalAccount } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Voucher } from "../../sdk/vouchers.ts";
import { KEYS } from "../cli/harness.ts";
import { startGatewayChain, type GatewayChain, type MintedModel } from "../helpers/gateway-chain.ts";
import { classifierBody, modelAccepts } from "../helpers/gateway-http.ts";
import { snapshotSqliteLedger, startTestGateway, type TestGateway } from "../helpers/gateway-instance.ts";
import { mangleText, mutateJson, pathText, randomJson, Rng } from "../helpers/fuzz.ts";
import {
  authorization,
  decodeHeader,
  encodeHeader,
  exactHeader,
  exactHeaderV1,
  signAuthorization,
  signedVoucherHeader,
  type Requirement,
} from "../helpers/x402-payments.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20_260_501);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const CONCURRENCY = 32;
const PRICE = 2_000n;

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body: string | Buffer | undefined;
  /** What was done to it, for failure reports. */
  mutations: string[];
}

/** Valid-looking requests that can never be charged: the fuzzer starts from these and breaks them. */
interface Templates {
  modelId: bigint;
  /** PAYMENT-SIGNATURE values: vouchers of a payer with no escrow (right step), and of a funded payer (wrong step). */
  vouchers: string[];
  /** `exact` headers (v2 and v1) of an account that holds no stablecoin. */
  exact: string[];
  exactV1: string[];
  accepts: { exact: Requirement; voucher: Requirement };
}

const GOOD_ROWS = [
  [0.1, 0.2, 0.3, 0.4],
  [1, 2, 3, 4],
];

function tensorMutation(rng: Rng): { tensor: unknown; what: string } {
  const rows = rng.int(1, 3);
  const good = () => Array.from({ length: rows * 4 }, () => rng.next());
  return rng.pick<() => { tensor: unknown; what: string }>([
    () => ({ tensor: { dims: [rows, rng.pick([0, 1, 3, 5, 4096, -4, 1.5, 2 ** 31, 1e15])], data: good() }, what: "dims: wrong feature count" }),
    () => ({ tensor: { dims: Array.from({ length: rng.int(0, 12) }, () => rng.int(0, 6)), data: good() }, what: "dims: wrong rank" }),
    () => ({ tensor: { dims: randomJson(rng), data: good() }, what: "dims: wrong type" }),
    () => ({ tensor: { dims: [rows, 4], data: Array.from({ length: rng.int(0, rows * 4 + 3) }, () => rng.next()) }, what: "data: wrong length" }),
    () => ({ tensor: { dims: [rows, 4], data: good().map((x) => (rng.chance(0.3) ? randomJson(rng, 0) : x)) }, what: "data: bad elements" }),
    () => ({ tensor: { type: rng.pick(["int32", "float64", "bool", "string", "int64", "uint8", "float16", "", "FLOAT32", 7]), dims: [rows, 4], data: good() }, what: "type: wrong" }),
    () => ({ tensor: { dims: [1, 4], data: [[1, 2], [3, 4]] }, what: "data: nested against dims" }),
    () => ({ tensor: Array.from({ length: rows }, (_, i) => Array.from({ length: rng.pick([3, 4, 4, 5]) + (i % 2) }, () => rng.next())), what: "data: ragged nested" }),
    () => ({ tensor: { dims: [300, 4], data: Array.from({ length: 1200 }, () => rng.next()) }, what: "batch too large" }),
    () => ({ tensor: { dims: [rows, 4], data: good(), [rng.pick(["shape", "values", "Type"])]: 1 }, what: "tensor: unknown field" }),
    () => ({ tensor: randomJson(rng, 3), what: "tensor: random" }),
  ])();
}

function mutateBody(rng: Rng, request: FuzzRequest): void {
  const body = classifierBody(GOOD_ROWS) as Record<string, unknown>;
  const kind = rng.weighted<string>([
    [4, "tensor"],
    [2, "json"],
    [2, "broken"],
    [1, "deep"],
    [1, "envelope"],
    [0.15, "huge"],
  ]);
  request.mutations.push(`body:${kind}`);
  switch (kind) {
    case "tensor": {
      const { tensor, what } = tensorMutation(rng);
      request.mutations.push(what);
      request.body = JSON.stringify({ inputs: { input: tensor } });
      return;
    }
    case "json":
      request.body = JSON.stringify(mutateJson(rng, body)) ?? "";
      return;
    case "broken":
      request.body = mangleText(rng, JSON.stringify(body), (n) => rng.anyText(n));
      return;
    case "deep": {
      const depth = rng.int(1_000, 60_000);
      const open = rng.chance(0.5) ? "[" : '{"a":';
      const close = open === "[" ? "]" : "}";
      request.body = `{"inputs":{"input":${open.repeat(depth)}1${close.repeat(rng.chance(0.9) ? depth : rng.int(0, depth))}}}`;
      return;
    }
    case "envelope":
      request.body = rng.pick([
        () => JSON.stringify({ ...body, version: randomJson(rng, 1) }),
        () => JSON.stringify({ inputs: randomJson(rng, 2) }),
        () => JSON.stringify(randomJson(rng, 2)),
        () => JSON.stringify({ ...body, [rng.anyText(5)]: 1 }),
        () => "",
        () => "null",
        () => '"inputs"',
      ])();
      return;
    case "huge":
      request.body = JSON.stringify({ inputs: { input: { dims: [1, 4], data: [1, 2, 3, 4] } }, pad: "x".repeat(rng.int(1_050_000, 1_500_000)) });
      return;
  }
}

function mutatePayment(rng: Rng, request: FuzzRequest, templates: Templates): void {
  const name = rng.chance(0.8) ? "PAYMENT-SIGNATURE" : "X-PAYMENT";
  const base = name === "PAYMENT-SIGNATURE" ? rng.pick(rng.chance(0.75) ? templates.vouchers : templates.exact) : rng.pick(templates.exactV1);
  const kind = rng.weighted<string>([
    [3, "payload"],
    [2, "voucher-field"],
    [1, "garbage"],
    [1, "truncated"],
    [1, "bad-base64"],
    [0.5, "huge"],
    [0.5, "duplicated"],
    [0.5, "both"],
    [0.3, "empty"],
  ]);
  request.mutations.push(`payment:${name}:${kind}`);
  let value: string | string[] = base;
  switch (kind) {
    case "payload": {
      const json = decodeHeader(base);
      value = encodeHeader(mutateJson(rng, json));
      break;
    }
    case "voucher-field": {
      const json = decodeHeader<{ payload: Record<string, any>; accepted?: Record<string, unknown>; x402Version: unknown }>(base);
      const target = json.payload.voucher ?? json.payload.authorization ?? json.payload;
      const field = rng.pick(Object.keys(target).concat("signature"));
      const flip = (hex: string) => {
        const i = rng.int(2, hex.length - 1);
        return `${hex.slice(0, i)}${((parseInt(hex[i]!, 16) + rng.int(1, 15)) % 16).toString(16)}${hex.slice(i + 1)}`;
      };
      if (field === "signature") json.payload.signature = rng.chance(0.7) ? flip(String(json.payload.signature)) : randomJson(rng, 0);
      else {
        const current = target[field];
        target[field] = rng.pick([
          () => (typeof current === "string" && current.startsWith("0x") ? flip(current) : String(rng.int(0, 10 ** 6))),
          () => randomJson(rng, 1),
          () => (2n ** BigInt(rng.pick([63, 64, 128, 255, 256, 300]))).toString(),
          () => rng.int(-3, 2 ** 32 + 3),
        ])();
      }
      if (rng.chance(0.2) && json.accepted) json.accepted = mutateJson(rng, json.accepted) as Record<string, unknown>;
      request.mutations.push(`field:${field}`);
      value = encodeHeader(json);
      break;
    }
    case "garbage":
      value = rng.headerText(rng.int(1, 3_000));
      break;
    case "truncated":
      value = base.slice(0, rng.int(0, base.length - 1));
      break;
    case "bad-base64":
      value = mangleText(rng, base, (n) => Array.from({ length: n }, () => rng.pick(["-", "_", "*", ".", " ", "!", "=", "é", "~"])).join(""));
      break;
    case "huge": {
      // Valid base64 of JSON padded to many kilobytes (below the gateway's 16 KiB payment-header limit; the limits
      // themselves are errors.test.ts's).
      const json = decodeHeader<Record<string, unknown>>(base);
      json.padding = "p".repeat(rng.int(4_000, 8_500));
      value = encodeHeader(json);
      break;
    }
    case "duplicated":
      value = [base, rng.chance(0.5) ? base : rng.headerText(rng.int(1, 200))];
      break;
    case "both":
      request.headers[name === "PAYMENT-SIGNATURE" ? "X-PAYMENT" : "PAYMENT-SIGNATURE"] = rng.pick(templates.vouchers);
      break;
    case "empty":
      value = "";
      break;
  }
  request.headers[name] = value;
}

function mutateTransport(rng: Rng, request: FuzzRequest, modelId: bigint): void {
  const kind = rng.weighted<string>([
    [2, "content-type"],
    [1, "encoding"],
    [2, "path"],
    [1, "method"],
  ]);
  request.mutations.push(`transport:${kind}`);
  switch (kind) {
    case "content-type": {
      const type = rng.pick([undefined, "text/plain", "application/json; charset=latin1", "application/json; charset=utf-16", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx", "*/*", rng.headerText(12)]);
      if (type === undefined) delete request.headers["content-type"];
      else request.headers["content-type"] = type;
      return;
    }
    case "encoding":
      request.headers["content-encoding"] = rng.pick(["gzip", "deflate", "br", "compress", "identity, gzip", rng.headerText(6)]);
      return;
    case "path":
      request.path = rng.pick([
        () => `/v1/models/${rng.pick(["0", "999999", "-1", "1.5", "0x1", "%ZZ", "%", pathText(rng, 6), "9".repeat(90), "%20", "1%00"])}/infer`,
        () => `/v1/models/${modelId}/${pathText(rng, 5)}`,
        () => `/v1/models/${modelId}/infer?version=${pathText(rng, rng.int(0, 12))}`,
        () => `/${pathText(rng, rng.int(0, 20))}`,
        () => `/ipfs/${rng.pick(["%ZZ", "bafy", pathText(rng, 10), "Qm" + "1".repeat(44)])}`,
        () => `/v1/models/${modelId}/infer/${"x/".repeat(rng.int(1, 50))}`,
      ])();
      return;
    case "method":
      request.method = rng.pick(["GET", "PUT", "DELETE", "PATCH"]);
      return;
  }
}

/** Request `index` of the run seeded with `seed`: a valid-looking request with one to three things broken. */
export function buildRequest(seed: number, index: number, templates: Templates): FuzzRequest {
  const rng = Rng.for(seed, index);
  const request: FuzzRequest = {
    method: "POST",
    path: `/v1/models/${templates.modelId}/infer`,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(classifierBody(GOOD_ROWS)),
    mutations: [],
  };
  // Most requests carry a payment that the gateway must look at and refuse.
  if (rng.chance(0.85)) request.headers["PAYMENT-SIGNATURE"] = rng.pick(templates.vouchers);
  const mutations = rng.weighted([
    [6, 1],
    [3, 2],
    [1, 3],
  ]);
  for (let i = 0; i < mutations; i++) {
    rng.weighted<() => void>([
      [5, () => mutatePayment(rng, request, templates)],
      [5, () => mutateBody(rng, request)],
      [2, () => mutateTransport(rng, request, templates.modelId)],
    ])();
  }
  return request;
}

interface Outcome {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function send(agent: Agent, url: URL, request: FuzzRequest): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = { ...request.headers };
    if (request.body !== undefined) headers["content-length"] = String(Buffer.byteLength(request.body));
    const req = httpRequest({ host: url.hostname, port: url.port, method: request.method, path: request.path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    // The server may answer (413) and close before a huge body is written: the answer still counts.
    req.on("error", reject);
    req.end(request.body);
  });
}

/** What is wrong with an answer, or undefined when it is a well-formed 4xx refusal. */
function problem(outcome: Outcome): string | undefined {
  if (outcome.status >= 500) return `a ${outcome.status}`;
  if (outcome.status < 400) return `a ${outcome.status} (a malformed request was not refused)`;
  let body: any;
  try {
    body = JSON.parse(outcome.text);
  } catch {
    return `a ${outcome.status} whose body is not JSON`;
  }
  const error = body?.error;
  if (typeof error?.code !== "string" || error.code === "" || typeof error.message !== "string" || error.message === "") {
    return `a ${outcome.status} without { error: { code, message } }`;
  }
  if (outcome.status === 402) {
    const header = outcome.headers["payment-required"];
    if (typeof header !== "string") return "a 402 without PAYMENT-REQUIRED";
    try {
      const required = decodeHeader<{ x402Version: unknown; error: unknown; accepts: unknown }>(header);
      if (required.x402Version !== 2 || required.error !== error.code || !Array.isArray(required.accepts)) return "a 402 whose PAYMENT-REQUIRED disagrees with its body";
    } catch {
      return "a 402 whose PAYMENT-REQUIRED is not base64 JSON";
    }
  }
  return undefined;
}

describe("gateway fuzz: malformed requests never get a 5xx, always a 4xx JSON error, and never touch the ledger", () => {
  let chain: GatewayChain;
  let gw: TestGateway;
  let model: MintedModel;
  let templates: Templates;
  const funded = privateKeyToAccount(generatePrivateKey());
  const unfunded = privateKeyToAccount(generatePrivateKey());
  const penniless = privateKeyToAccount(generatePrivateKey());

  before(async () => {
    chain = await startGatewayChain();
    model = await chain.mint({ price: PRICE });
    await chain.deposit(funded.address, 1_000_000n);
    gw = await startTestGateway(chain, { operatorKey: KEYS[1] });
    const accepts = await modelAccepts(gw.url, model.modelId);
    const domain = { chainId: chain.chainId, vault: chain.vault };
    const voucher = (payer: LocalAccount, lane: number, step: bigint): Voucher => ({
      payer: payer.address,
      operator: gw.operator,
      modelId: model.modelId,
      lane,
      cumulativeAmount: step * PRICE,
      cumulativeCalls: step,
      expiry: 0n,
    });
    const vouchers: string[] = [];
    for (let lane = 0; lane < 6; lane++) {
      // Right step, but no escrow behind it; and a funded payer one step ahead of its lane.
      vouchers.push((await signedVoucherHeader(unfunded, voucher(unfunded, lane, 1n), domain, accepts.voucher)).header);
      vouchers.push((await signedVoucherHeader(funded, voucher(funded, lane, 2n), domain, accepts.voucher)).header);
    }
    const stablecoin = { chainId: chain.chainId, address: chain.stablecoin, name: String(accepts.exact.extra.name), version: String(accepts.exact.extra.version) };
    const exact: string[] = [];
    const exactV1: string[] = [];
    for (let i = 0; i < 3; i++) {
      const auth = authorization(penniless.address, model.shares, PRICE, BigInt(Math.floor(Date.now() / 1000)), 3_600n);
      const signature: Hex = await signAuthorization(penniless, auth, stablecoin);
      exact.push(exactHeader(accepts.exact, auth, signature));
      exactV1.push(exactHeaderV1("base-sepolia", auth, signature));
    }
    templates = { modelId: model.modelId, vouchers, exact, exactV1, accepts };
  });

  after(async () => {
    await gw?.close();
    await chain?.stop();
  });

  async function state() {
    const payers: Address[] = [funded.address, unfunded.address, penniless.address];
    return {
      file: snapshotSqliteLedger(gw.ledgerFile),
      lanes: await gw.ledger.lanes(gw.operator),
      escrows: await Promise.all(payers.map((p) => chain.escrow(p))),
      balances: await Promise.all(payers.map((p) => chain.balanceOf(p))),
    };
  }

  it(`answers ${REQUESTS} seeded malformed requests (seed ${SEED}), ${CONCURRENCY} at a time, with 4xx JSON errors only`, async (t) => {
    const before = await state();
    const url = new URL(gw.url);
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const failures: string[] = [];
    const codes = new Map<string, number>();
    let next = 0;
    let transportErrors = 0;
    try {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < REQUESTS) {
            const index = next++;
            const request = buildRequest(SEED, index, templates);
            let outcome: Outcome;
            try {
              outcome = await send(agent, url, request);
            } catch (error) {
              // Only a body the server refused before reading it all may end in a reset; anything else is a failure.
              const huge = request.mutations.includes("body:huge");
              if (!huge) failures.push(`#${index} [${request.mutations.join(", ")}]: no answer (${(error as Error).message})`);
              transportErrors++;
              continue;
            }
            const wrong = problem(outcome);
            if (wrong) failures.push(`#${index} ${request.method} ${request.path.slice(0, 80)} [${request.mutations.join(", ")}]: ${wrong}: ${outcome.text.slice(0, 200)}`);
            else {
              const code = `${outcome.status} ${JSON.parse(outcome.text).error.code}`;
              codes.set(code, (codes.get(code) ?? 0) + 1);
            }
          }
        }),
      );
    } finally {
      agent.destroy();
    }
    const summary = [...codes].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code}: ${n}`);
    t.diagnostic(`answers by status and code: ${summary.join("; ")}; connection resets after a huge body: ${transportErrors}`);
    assert.deepEqual(failures.slice(0, 15), [], `${failures.length} of ${REQUESTS} requests were answered wrongly (seed ${SEED}); first ones listed`);

    // The run reached every layer: body parsing, tensor checks, header decoding, and the voucher and exact checks.
    const seen = new Set([...codes.keys()].map((k) => k.split(" ")[1]));
    for (const code of ["malformed_json", "bad_request", "bad_shape", "bad_data", "bad_type", "unsupported_media_type", "malformed_payment", "invalid_voucher", "bad_signature", "voucher_out_of_sync", "insufficient_escrow", "insufficient_balance", "unknown_model", "not_found"]) {
      assert.ok(seen.has(code), `the fuzz never produced ${code}: it does not reach that check`);
    }
    assert.deepEqual(await state(), before, "the fuzz changed the ledger, an escrow or a balance");
  });
});
