// A real gateway on a real chain for paying-client tests: a `hardhat node` (test/cli/harness.ts for chain 31337, or
// `hardhat node --chain-id <id>` for a chain x402 version 1 knows, e.g. 84532), the protocol deployed, models minted
// through the CLI with real weights in a local store, and `startGateway` on a SQLite ledger. One per test file.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createPublicClient, createWalletClient, defineChain, http, type Address, type Chain, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { writeDeployment, type Deployment } from "../../deploy/deployment.ts";
import { HARDHAT_DEFAULT_KEY } from "../../deploy/deploy-to-chain.ts";
import { deployProtocol } from "../../deploy/protocol.ts";
import { resolveGatewaySettings } from "../../gateway/config.ts";
import { startGateway, type Gateway } from "../../gateway/server.ts";
import { testStablecoinAbi, vaultAbi } from "../../sdk/contracts.ts";
import { LocalStorage } from "../../sdk/storage/local.ts";
import { KEYS, runCli, startHarness, type CliResult } from "../cli/harness.ts";
import { buildTinyClassifier } from "./onnx.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The operator of every test gateway: Hardhat account #1. */
export const OPERATOR_KEY = KEYS[1];

/** What the tests need of a chain: RPC, deployment, a CLI bound to it, wallets. */
export interface TestChain {
  chainId: number;
  chain: Chain;
  rpcUrl: string;
  dir: string;
  deploymentsDir: string;
  deployment: Deployment;
  publicClient: PublicClient;
  cli(args: string[], options?: { key?: Hex | null; env?: Record<string, string> }): Promise<CliResult>;
  wallet(key: Hex): ReturnType<typeof createWalletClient<ReturnType<typeof http>, Chain, ReturnType<typeof privateKeyToAccount>>>;
  stop(): Promise<void>;
}

export interface PaidGateway {
  chain: TestChain;
  gateway: Gateway;
  /** The `sqlite:` ledger URL the gateway runs on (kept across restarts). */
  ledger: string;
  /** Stops the gateway, runs `whileDown`, and starts it again on the same port and ledger. */
  restart(whileDown?: () => Promise<void>): Promise<Gateway>;
  /** Mints a model through the CLI (real weights in the local store); returns its id. */
  mint(file: string, price: string): Promise<bigint>;
  /** Writes bytes into the temp dir. */
  file(name: string, bytes: Uint8Array | string): Promise<string>;
  /** Gives `payer` stablecoin in its wallet and/or escrow in the vault (paid by Hardhat account #0). */
  fund(payer: Address, amounts: { wallet?: bigint; escrow?: bigint }): Promise<void>;
  stop(): Promise<void>;
}

export interface PaidGatewayOptions {
  /** 31337 (default) runs the CLI harness; another id runs `hardhat node --chain-id <id>`. */
  chainId?: number;
  /** Gateway settings on top of the test defaults. */
  settings?: Record<string, unknown>;
}

export async function startPaidGateway(options: PaidGatewayOptions = {}): Promise<PaidGateway> {
  const chain = options.chainId === undefined || options.chainId === 31337 ? await harnessChain() : await chainWithId(options.chainId);
  const ledger = `sqlite:${path.join(chain.dir, "ledger.sqlite")}`;
  const storage = new LocalStorage(path.join(chain.dir, "store"));
  let port = 0;
  const start = async () => {
    const settings = resolveGatewaySettings({ port, ledger, logLevel: "error", shutdownTimeoutSeconds: 2, ...options.settings }, {});
    const gateway = await startGateway({ settings, publicClient: chain.publicClient, operatorKey: OPERATOR_KEY, deployment: chain.deployment, storage });
    port = Number(new URL(gateway.url).port);
    return gateway;
  };
  let gateway: Gateway;
  try {
    gateway = await start();
  } catch (error) {
    await chain.stop();
    throw error;
  }
  const fixture: PaidGateway = {
    chain,
    get gateway() {
      return gateway;
    },
    ledger,
    async restart(whileDown) {
      await gateway.close();
      await whileDown?.();
      gateway = await start();
      return gateway;
    },
    async mint(file, price) {
      const result = await chain.cli(["mint", file, "--name", path.basename(file), "--price", price, "--shares", "1000", "--json"]);
      if (result.code !== 0) throw new Error(`mint failed: ${result.stderr}`);
      return BigInt(result.json<{ modelId: string }>().modelId);
    },
    file: (name, bytes) => writeInto(chain.dir, name, bytes),
    async fund(payer, { wallet = 0n, escrow = 0n }) {
      // Hardhat account #0 pays for everything, so payers can be fresh keys without gas money.
      const funder = chain.wallet(KEYS[0]);
      const { stablecoin } = chain.deployment;
      const { vault } = chain.deployment.contracts;
      if (wallet > 0n) await mined(chain, funder.writeContract({ address: stablecoin.address, abi: testStablecoinAbi, functionName: "mint", args: [payer, wallet] }));
      if (escrow === 0n) return;
      await mined(chain, funder.writeContract({ address: stablecoin.address, abi: testStablecoinAbi, functionName: "mint", args: [funder.account.address, escrow] }));
      await mined(chain, funder.writeContract({ address: stablecoin.address, abi: testStablecoinAbi, functionName: "approve", args: [vault, escrow] }));
      await mined(chain, funder.writeContract({ address: vault, abi: vaultAbi, functionName: "depositFor", args: [payer, escrow] }));
    },
    async stop() {
      await gateway.close();
      await chain.stop();
    },
  };
  // Every paid-client test needs the tiny classifier: model #1.
  const classifier = await fixture.file("classifier.onnx", buildTinyClassifier({ features: 4, classes: 3 }));
  try {
    await fixture.mint(classifier, "0.002");
  } catch (error) {
    await fixture.stop();
    throw error;
  }
  return fixture;
}

async function mined(chain: TestChain, hash: Promise<Hex>): Promise<void> {
  const receipt = await chain.publicClient.waitForTransactionReceipt({ hash: await hash });
  if (receipt.status !== "success") throw new Error(`transaction ${receipt.transactionHash} reverted`);
}

async function writeInto(dir: string, name: string, bytes: Uint8Array | string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, bytes);
  return file;
}

async function harnessChain(): Promise<TestChain> {
  const h = await startHarness();
  const chain = defineChain({
    id: 31337,
    name: "hardhat",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [h.rpcUrl] } },
  });
  return {
    chainId: 31337,
    chain,
    rpcUrl: h.rpcUrl,
    dir: h.dir,
    deploymentsDir: h.deploymentsDir,
    deployment: h.deployment,
    publicClient: h.publicClient as PublicClient,
    cli: h.cli,
    wallet: (key) => createWalletClient({ account: privateKeyToAccount(key), chain, transport: http(h.rpcUrl) }),
    stop: h.stop,
  };
}

/** `hardhat node --chain-id <id>` on a free port, with the protocol (and a test USDC) deployed by Hardhat account #0. */
async function chainWithId(chainId: number): Promise<TestChain> {
  const port = await freePort();
  const rpcUrl = `http://127.0.0.1:${port}`;
  const child = spawn(path.join(ROOT, "node_modules/.bin/hardhat"), ["node", "--port", String(port), "--chain-id", String(chainId)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  child.stderr.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const stopNode = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill();
    await exited;
  };
  const chain = defineChain({
    id: chainId,
    name: `local chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const publicClient = createPublicClient({ chain, transport: http(rpcUrl), pollingInterval: 50 }) as PublicClient;
  const dir = await mkdtemp(path.join(tmpdir(), `modelshare-chain-${chainId}-`));
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`hardhat node exited early:\n${log}`);
      const answered = await publicClient.getChainId().catch(() => undefined);
      if (answered === chainId) break;
      if (answered !== undefined) throw new Error(`hardhat node answers chain id ${answered}, not ${chainId}`);
      if (Date.now() > deadline) throw new Error(`hardhat node did not answer on ${rpcUrl}:\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    const walletClient = createWalletClient({ account: privateKeyToAccount(HARDHAT_DEFAULT_KEY), chain, transport: http(rpcUrl) });
    const deployment = await deployProtocol({ publicClient, walletClient });
    const deploymentsDir = path.join(dir, "deployments");
    await writeDeployment(deployment, deploymentsDir);
    return {
      chainId,
      chain,
      rpcUrl,
      dir,
      deploymentsDir,
      deployment,
      publicClient,
      cli: (args, options = {}) =>
        runCli(
          args,
          {
            MODELSHARE_RPC_URL: rpcUrl,
            MODELSHARE_DEPLOYMENTS_DIR: deploymentsDir,
            MODELSHARE_STORAGE: "local",
            MODELSHARE_STORAGE_DIR: path.join(dir, "store"),
            ...(options.key === null ? {} : { MODELSHARE_PRIVATE_KEY: options.key ?? KEYS[0] }),
            ...options.env,
          },
          dir,
        ),
      wallet: (key) => createWalletClient({ account: privateKeyToAccount(key), chain, transport: http(rpcUrl) }),
      stop: async () => {
        await stopNode();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopNode();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
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

