// Which onnxruntime session options serve small models best under many concurrent calls: each candidate runs the
// same models (a tiny 4→3 classifier and a 512→512 one), first as 64 runs kept in flight in-process, then behind a
// plain HTTP server (JSON in, validation, inference, JSON out, both receipt hashes) loaded by autocannon from another
// process, as the gateway will be. Candidates take turns over several rounds and the median is reported, so drift in
// the machine's load does not favour one of them. Also prints the model layer's own cost per call without inference.
// Writes bench-results/inference.json.
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { availableParallelism } from "node:os";
import { promisify } from "node:util";
import { ModelSession, type SessionOptions } from "../gateway/models/session.ts";
import { outputsToJson, parseInputs } from "../gateway/models/tensors.ts";
import { tensorsSha256 } from "../sdk/tensors.ts";
import { buildTinyClassifier } from "../test/helpers/onnx.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const IN_FLIGHT = 64;
const CONNECTIONS = 32;
const IDLE_SESSIONS = 4;

const candidates: { name: string; options: SessionOptions }[] = [
  { name: "onnxruntime defaults", options: {} },
  { name: "intra 1, inter 1, sequential", options: { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: "sequential" } },
  { name: "intra 2, sequential", options: { intraOpNumThreads: 2, interOpNumThreads: 1, executionMode: "sequential" } },
  { name: "intra 1, inter 2, parallel", options: { intraOpNumThreads: 1, interOpNumThreads: 2, executionMode: "parallel" } },
  { name: "intra 2, inter 2, parallel", options: { intraOpNumThreads: 2, interOpNumThreads: 2, executionMode: "parallel" } },
];

const models = [
  { name: "tiny 4→3, batch 1", bytes: buildTinyClassifier({ features: 4, classes: 3 }), features: 4, batch: 1 },
  { name: "512→512, batch 1", bytes: buildTinyClassifier({ features: 512, classes: 512 }), features: 512, batch: 1 },
];

function requestBody(features: number, batch: number) {
  const data = Array.from({ length: batch * features }, (_, i) => ((i * 37) % 101) / 101);
  return { inputs: { input: { type: "float32", dims: [batch, features], data } } };
}

async function create(bytes: Uint8Array, options: SessionOptions): Promise<ModelSession> {
  return ModelSession.create(bytes, { graphOptimizationLevel: "all", logSeverityLevel: 4, ...options }, "bench model");
}

/** Runs per second with IN_FLIGHT runs always pending on one session. */
async function inProcess(session: ModelSession, body: ReturnType<typeof requestBody>, seconds: number): Promise<number> {
  const feeds = parseInputs(session.signature.inputs, body.inputs);
  let done = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  const lane = async () => {
    while (performance.now() < end) {
      await session.run(feeds, 10_000);
      done++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return done / ((performance.now() - start) / 1000);
}

/** What the gateway does per call around inference: validate, run, hash input and output, write JSON. */
function serve(session: ModelSession): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      const feeds = parseInputs(session.signature.inputs, body.inputs);
      const outputs = await session.run(feeds, 10_000);
      const answer = JSON.stringify({ outputs: outputsToJson(outputs), inputSha256: tensorsSha256(feeds), outputSha256: tensorsSha256(outputs) });
      res.writeHead(200, { "content-type": "application/json" }).end(answer);
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const run = promisify(execFile);

async function overHttp(session: ModelSession, body: ReturnType<typeof requestBody>): Promise<{ rps: number; p50: number; p99: number }> {
  const server = await serve(session);
  const { port } = server.address() as { port: number };
  try {
    const { stdout } = await run(
      "node_modules/.bin/autocannon",
      ["-c", String(CONNECTIONS), "-d", String(SECONDS), "-m", "POST", "-H", "content-type=application/json", "-b", JSON.stringify(body), "--json", `http://127.0.0.1:${port}/`],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    const report = JSON.parse(stdout) as { requests: { average: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number };
    if (report.non2xx || report.errors) throw new Error(`autocannon saw ${report.non2xx} non-2xx answers and ${report.errors} errors`);
    return { rps: report.requests.average, p50: report.latency.p50, p99: report.latency.p99 };
  } finally {
    await new Promise((r) => server.close(r));
  }
}

/** The model layer's per-call cost without inference: parse + validate inputs, hash both sides, outputs to JSON. */
function layerCost(session: ModelSession, body: ReturnType<typeof requestBody>, outputs: Awaited<ReturnType<ModelSession["run"]>>): number {
  const n = 20_000;
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const feeds = parseInputs(session.signature.inputs, body.inputs);
    tensorsSha256(feeds);
    tensorsSha256(outputs);
    JSON.stringify(outputsToJson(outputs));
  }
  return ((performance.now() - start) * 1000) / n;
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US").padStart(8);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results: Record<string, unknown>[] = [];
const { env } = await import("onnxruntime-node");
console.log(`session options for small models: ${availableParallelism()} cores, onnxruntime-node ${env.versions.common}, median of ${ROUNDS} rounds of ${SECONDS} s`);
for (const model of models) {
  const body = requestBody(model.features, model.batch);
  const samples = candidates.map(() => ({ runs: [] as number[], crowded: [] as number[], rps: [] as number[], p50: [] as number[], p99: [] as number[] }));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, candidate] of candidates.entries()) {
      const s = samples[i]!;
      // Alone: the only session in the process.
      const session = await create(model.bytes, candidate.options);
      await inProcess(session, body, 0.3);
      s.runs.push(await inProcess(session, body, SECONDS));
      const http = await overHttp(session, body);
      s.rps.push(http.rps);
      s.p50.push(http.p50);
      s.p99.push(http.p99);
      // Crowded: the same model run while a gateway's other sessions (same options, idle) are loaded too.
      const idle = await Promise.all(Array.from({ length: IDLE_SESSIONS }, () => create(model.bytes, candidate.options)));
      for (const other of idle) await other.run(parseInputs(other.signature.inputs, body.inputs), 10_000);
      s.crowded.push(await inProcess(session, body, SECONDS));
      for (const other of [session, ...idle]) other.retire();
    }
  }
  console.log(`\n${model.name}: runs/s in-process (${IN_FLIGHT} in flight), alone | with ${IDLE_SESSIONS} idle sessions | HTTP req/s (${CONNECTIONS} connections), p50 / p99 ms`);
  for (const [i, candidate] of candidates.entries()) {
    const s = samples[i]!;
    const row = {
      model: model.name,
      options: candidate.name,
      runs_per_sec: Math.round(median(s.runs)),
      runs_per_sec_with_idle_sessions: Math.round(median(s.crowded)),
      http_req_per_sec: Math.round(median(s.rps)),
      http_p50_ms: median(s.p50),
      http_p99_ms: median(s.p99),
    };
    results.push(row);
    console.log(
      `  ${candidate.name.padEnd(30)} ${fmt(row.runs_per_sec)} | ${fmt(row.runs_per_sec_with_idle_sessions)} | ${fmt(row.http_req_per_sec)}   ${row.http_p50_ms} / ${row.http_p99_ms}`,
    );
  }
}

const tiny = models[0]!;
const session = await create(tiny.bytes, candidates[1]!.options);
const body = requestBody(tiny.features, tiny.batch);
const outputs = await session.run(parseInputs(session.signature.inputs, body.inputs), 10_000);
const overhead = layerCost(session, body, outputs);
session.retire();
console.log(`\nmodel layer per call without inference (parse + validate, two receipt hashes, outputs to JSON): ${overhead.toFixed(1)} µs`);

await mkdir("bench-results", { recursive: true });
await writeFile(
  "bench-results/inference.json",
  JSON.stringify({ cores: availableParallelism(), seconds: SECONDS, rounds: ROUNDS, in_flight: IN_FLIGHT, connections: CONNECTIONS, results, layer_overhead_us: Number(overhead.toFixed(1)) }, null, 2) + "\n",
);
