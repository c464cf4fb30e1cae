// Runs the `modelshare` CLI as a subprocess against a `hardhat node` that a test file starts on a free port (one
// node per file, shared by its tests), with the protocol deployed by deployToChain into a temporary directory.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
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
import { DEV_KEYS, rpcCall, startLocalChain } from "../../sdk/dev/chain.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = path.join(ROOT, "sdk/cli/main.ts");

/** Hardhat node's default accounts #0–#5 (public test keys, funded with 10,000 ETH each). */
export const KEYS = DEV_KEYS.slice(0, 6) as unknown as readonly [Hex, Hex, Hex, Hex, Hex, Hex];

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

/** Starts a hardhat node on a free port and deploys the protocol into a fresh temporary deployments dir. */
export async function startHarness(): Promise<Harness> {
  const chain = await startLocalChain();
  const rpcUrl = chain.rpcUrl;

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
      await chain.stop();
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
