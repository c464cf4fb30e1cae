// Runs the `modelshare` CLI as a subprocess against a `hardhat node` that a test file starts on a free port (one
// node per file, shared by its tests), with the protocol deployed by deployToChain into a temporary directory.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createPublicClient, createWalletClient, http, keccak256, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { deployToChain } from "../../deploy/deploy-to-chain.ts";
import { modelRegistryAbi } from "../../sdk/contracts.ts";
import type { Deployment } from "../../deploy/deployment.ts";
import { buildTinyClassifier, type TinyModelOptions } from "../helpers/onnx.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = path.join(ROOT, "sdk/cli/main.ts");

/** Hardhat node's default accounts #0–#5 (public test keys, funded with 10,000 ETH each). */
export const KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
] as const satisfies readonly Hex[];

export const address = (key: Hex): Address => privateKeyToAccount(key).address;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json<T = Record<string, unknown>>(): T;
}

export interface Harness {
  rpcUrl: string;
  dir: string;
  deploymentsDir: string;
  deployment: Deployment;
  publicClient: ReturnType<typeof createPublicClient>;
  /** Runs the CLI with this chain, deployment and a private local store; `key` signs (default: account #0). */
  cli(args: string[], options?: { key?: Hex | null; env?: Record<string, string> }): Promise<CliResult>;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  nonce(who: Address): Promise<number>;
  wallet(key: Hex): ReturnType<typeof createWalletClient>;
  /** Mints straight through the registry (fake CIDs), for tests whose subject is not `mint`; returns the id. */
  mintDirect(key: Hex, options?: { parents?: bigint[]; bps?: number; price?: bigint; holders?: { address: Address; amount: bigint }[] }): Promise<bigint>;
  /** Writes a tiny ONNX model into the temp dir and returns its path. */
  model(name: string, options?: TinyModelOptions): Promise<string>;
  /** Writes arbitrary bytes into the temp dir and returns the path. */
  file(name: string, bytes: Uint8Array | string): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function rpcCall<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

async function waitForNode(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`hardhat node exited early:\n${log()}`);
    try {
      await rpcCall(url, "eth_chainId");
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  throw new Error(`hardhat node did not answer on ${url}:\n${log()}`);
}

/** Starts a hardhat node on a free port and deploys the protocol into a fresh temporary deployments dir. */
export async function startHarness(): Promise<Harness> {
  const port = await freePort();
  const rpcUrl = `http://127.0.0.1:${port}`;
  const child = spawn(path.join(ROOT, "node_modules/.bin/hardhat"), ["node", "--port", String(port)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout!.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  child.stderr!.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  try {
    await waitForNode(rpcUrl, child, () => log);
  } catch (error) {
    child.kill();
    throw error;
  }

  const dir = await mkdtemp(path.join(tmpdir(), "modelshare-cli-"));
  const deploymentsDir = path.join(dir, "deployments");
  const { deployment } = await deployToChain({ rpcUrl, deploymentsDir });
  const publicClient = createPublicClient({ chain: hardhat, transport: http(rpcUrl), pollingInterval: 50 });

  const harness: Harness = {
    rpcUrl,
    dir,
    deploymentsDir,
    deployment,
    publicClient,
    cli: (args, options = {}) => runCli(args, {
      MODELSHARE_RPC_URL: rpcUrl,
      MODELSHARE_DEPLOYMENTS_DIR: deploymentsDir,
      MODELSHARE_STORAGE: "local",
      MODELSHARE_STORAGE_DIR: path.join(dir, "store"),
      ...(options.key === null ? {} : { MODELSHARE_PRIVATE_KEY: options.key ?? KEYS[0] }),
      ...options.env,
    }, dir),
    rpc: (method, params) => rpcCall(rpcUrl, method, params),
    nonce: async (who) => Number(BigInt(await rpcCall<string>(rpcUrl, "eth_getTransactionCount", [who, "pending"]))),
    wallet: (key) => createWalletClient({ account: privateKeyToAccount(key), chain: hardhat, transport: http(rpcUrl) }),
    mintDirect: async (key, options = {}) => {
      const registry = deployment.contracts.registry;
      const account = privateKeyToAccount(key);
      const id = await publicClient.readContract({ address: registry, abi: modelRegistryAbi, functionName: "nextModelId" });
      const cid = `0x01551220${keccak256(toHex(`model-${id}`)).slice(2)}` as Hex;
      const parents = options.parents ?? [];
      const holders = options.holders ?? [{ address: account.address, amount: 1000n * 10n ** 18n }];
      const hash = await harness.wallet(key).writeContract({
        address: registry,
        abi: modelRegistryAbi,
        functionName: "mint",
        args: [
          {
            weightsSha256: keccak256(toHex(`weights-${id}`)),
            weightsCid: cid,
            metadataCid: cid,
            pricePerCall: options.price ?? 1_000n,
            operatorFeeBps: 500,
            parentIds: parents,
            parentBps: parents.map(() => options.bps ?? 100),
            recipients: holders.map((x) => x.address),
            amounts: holders.map((x) => x.amount),
          },
        ],
        chain: undefined,
        account,
      });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error("direct mint reverted");
      return id;
    },
    model: async (name, options) => harness.file(name, buildTinyClassifier(options)),
    file: async (name, bytes) => {
      const file = path.join(dir, name);
      await writeFile(file, bytes);
      return file;
    },
    stop: async () => {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill();
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Runs `node sdk/cli/main.ts …` with a clean MODELSHARE_* environment plus `env`. */
export async function runCli(args: string[], env: Record<string, string>, cwd = ROOT): Promise<CliResult> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MODELSHARE_")));
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? -1)));
  return {
    code,
    stdout,
    stderr,
    json<T>() {
      try {
        return JSON.parse(stdout) as T;
      } catch {
        throw new Error(`not JSON (exit ${code}):\nstdout: ${stdout}\nstderr: ${stderr}`);
      }
    },
  };
}

/** The one `error: …` line the CLI printed, for assertions. */
export function errorLine(result: CliResult): string {
  const lines = result.stderr.trim().split("\n").filter((l) => l.startsWith("error: "));
  if (lines.length !== 1) throw new Error(`expected one error line, got:\n${result.stderr}\nstdout: ${result.stdout}`);
  return lines[0]!;
}

export const BAD_INPUT = 2;
export const ENVIRONMENT = 3;
export const REJECTED = 4;
