// `modelshare indexer` as a subprocess against a `hardhat node`: it indexes the built subgraph into SQLite, serves
// GraphQL while it follows the chain, stops cleanly on SIGTERM, resumes from its database, and refuses bad settings
// with one clear line before touching anything.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { rm } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { KEYS, address, startHarness, type Harness } from "../../cli/harness.ts";
import { buildSubgraphFor } from "../../helpers/graph-build.ts";

const CLI = fileURLToPath(new URL("../../../sdk/cli/main.ts", import.meta.url));

interface Running {
  child: ChildProcess;
  started: { endpoint: string; url: string; head: number | null; db: string; chainId: number };
  stderr: () => string;
  /** SIGTERM, then the exit code and everything written to stderr. */
  stop(): Promise<{ code: number | null; stderr: string }>;
}

function startIndexer(harness: Harness, args: string[]): Promise<Running> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MODELSHARE_")));
  const child = spawn(process.execPath, [CLI, "indexer", "--json", "--port", "0", "--poll", "50", "--log-level", "warn", ...args], {
    cwd: harness.dir,
    env: { ...base, MODELSHARE_RPC_URL: harness.rpcUrl },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      // --json prints one (indented) object once the server is up.
      let started: Running["started"];
      try {
        started = JSON.parse(stdout);
      } catch {
        return;
      }
      resolve({
        child,
        started,
        stderr: () => stderr,
        stop: async () => {
          child.kill("SIGTERM");
          return { code: await exited, stderr };
        },
      });
    });
    void exited.then((code) => reject(new Error(`the indexer exited (${code}) before starting:\n${stderr}`)));
  });
}

async function graphql<T>(endpoint: string, query: string): Promise<T> {
  const response = await fetch(endpoint, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
  const body = (await response.json()) as { data?: T; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

/** Polls until the subgraph has indexed the chain's current head. */
async function synced(harness: Harness, endpoint: string): Promise<number> {
  const target = Number(BigInt(await harness.rpc<string>("eth_blockNumber")));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const data = await graphql<{ _meta: { block: { number: number } } }>(endpoint, "{ _meta { block { number } } }").catch(() => null);
    if (data && data._meta.block.number >= target) return target;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the subgraph did not reach block ${target}`);
}

describe("modelshare indexer (CLI)", { timeout: 600_000 }, () => {
  let harness: Harness;
  let buildDir: string;

  before(async () => {
    harness = await startHarness();
    const { registry, vault } = harness.deployment.contracts;
    buildDir = await buildSubgraphFor({ registry, vault, startBlock: harness.deployment.startBlock });
  });
  after(async () => {
    await harness?.stop();
    if (buildDir) await rm(buildDir, { recursive: true, force: true });
  });

  it("indexes the chain into SQLite, serves GraphQL while following it, stops on SIGTERM and resumes", async () => {
    const holder = address(KEYS[1]);
    await harness.mintDirect(KEYS[0], { price: 2_500n, holders: [{ address: holder, amount: 10n ** 21n }] });
    const db = path.join(harness.dir, "index", "subgraph.sqlite");
    const first = await startIndexer(harness, ["--build", buildDir, "--db", `sqlite:${db}`]);
    assert.match(first.started.endpoint, /^http:\/\/127\.0\.0\.1:\d+\/subgraphs\/name\/modelshare$/);
    assert.equal(first.started.chainId, 31337);
    assert.equal(first.started.head, null);
    const reached = await synced(harness, first.started.endpoint);
    const data = await graphql<{ models: unknown[] }>(
      first.started.endpoint,
      `{ models { id pricePerCall shareToken { totalSupply holders { account { id } balance } } } }`,
    );
    assert.deepEqual(data.models, [
      { id: "1", pricePerCall: "2500", shareToken: { totalSupply: "1000000000000000000000", holders: [{ account: { id: holder.toLowerCase() }, balance: "1000000000000000000000" }] } },
    ]);
    // It keeps following the chain: a second model appears without a restart.
    await harness.mintDirect(KEYS[0], { price: 7_000n });
    await synced(harness, first.started.endpoint);
    assert.equal((await graphql<{ models: unknown[] }>(first.started.endpoint, "{ models { id } }")).models.length, 2);
    const stopped = await first.stop();
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.doesNotMatch(stopped.stderr, /error/i);

    const second = await startIndexer(harness, ["--build", buildDir, "--db", `sqlite:${db}`, "--name", "modelshare/local"]);
    assert.ok(second.started.head !== null && second.started.head >= reached, "resumes from its database");
    assert.match(second.started.endpoint, /\/subgraphs\/name\/modelshare\/local$/);
    const health = (await (await fetch(`${second.started.url}/healthz`)).json()) as { ok: boolean; head: { number: number } };
    assert.equal(health.ok, true);
    assert.ok(health.head.number >= reached);
    assert.equal((await graphql<{ models: unknown[] }>(second.started.endpoint, "{ models { id } }")).models.length, 2);
    assert.equal((await second.stop()).code, 0);
  });

  it("refuses bad settings with one line and the right exit code", async () => {
    const run = (args: string[], env: Record<string, string> = {}) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MODELSHARE_")));
        const child = spawn(process.execPath, [CLI, "indexer", "--port", "0", ...args], {
          cwd: harness.dir,
          env: { ...base, MODELSHARE_RPC_URL: harness.rpcUrl, ...env },
          stdio: ["ignore", "ignore", "pipe"],
        });
        let stderr = "";
        child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
        child.once("exit", (code) => resolve({ code, stderr }));
      });
    const elsewhere = await buildSubgraphFor({
      registry: "0x1111111111111111111111111111111111111111",
      vault: "0x2222222222222222222222222222222222222222",
      startBlock: 0,
    });
    try {
      const cases: [string[], Record<string, string>, number, RegExp][] = [
        [["--build", path.join(harness.dir, "nowhere")], {}, 2, /no built subgraph at .*nowhere: run `npm run subgraph:build` first/],
        [["--build", buildDir, "--port", "70000"], {}, 2, /--port must be an integer between 0 and 65535/],
        [["--build", buildDir, "--log-level", "loud"], {}, 2, /--log-level must be one of/],
        [["--build", buildDir, "--db", "mysql://x"], {}, 3, /cannot open the subgraph database mysql:\/\/x: unsupported database/],
        [["--build", buildDir], { MODELSHARE_RPC_URL: "http://127.0.0.1:9" }, 3, /cannot reach the RPC endpoint http:\/\/127\.0\.0\.1:9/],
        [["--build", elsewhere], {}, 3, /the built subgraph's ModelRegistry \(0x1111111111111111111111111111111111111111\) has no contract on chain 31337/],
      ];
      for (const [args, env, code, message] of cases) {
        const result = await run(args, env);
        assert.equal(result.code, code, `${args.join(" ")}: ${result.stderr}`);
        assert.match(result.stderr, message);
        assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
      }
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});
