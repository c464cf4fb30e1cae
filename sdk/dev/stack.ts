// The whole system on one machine, for a first look and for the end-to-end test: a local chain with the protocol
// deployed, two sample models minted (a digit classifier with three holders, and a derivative fine-tuned from it that
// pays it royalties), the inference gateway, the embedded subgraph host with its GraphQL endpoint, and paying clients
// that make voucher and x402 `exact` calls before everything owed is settled. Everything it writes lives in one data
// folder; the chain is in memory, so each start begins from a fresh chain.
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { pino, type Logger } from "pino";
import { createPublicClient, createWalletClient, defineChain, http, type Address, type Hex, type PublicClient } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { deployToChain } from "../../deploy/deploy-to-chain.ts";
import type { Deployment } from "../../deploy/deployment.ts";
import { resolveGatewaySettings } from "../../gateway/config.ts";
import { startGateway, type Gateway } from "../../gateway/server.ts";
import { buildSubgraphFor } from "../../subgraph/builder.ts";
import { createIndexer, type Indexer } from "../../subgraph/host/indexer/index.ts";
import { loadManifest } from "../../subgraph/host/runtime/manifest.ts";
import { createGraphqlServer, type GraphqlServer } from "../../subgraph/host/server.ts";
import { openStore, type HostStore } from "../../subgraph/host/store/open.ts";
import { buildDigitModels } from "../samples/digits.ts";
import { LocalStorage } from "../storage/local.ts";
import { mintModel } from "../mint.ts";
import { DEV_KEYS, portIsFree, startLocalChain, type LocalChain } from "./chain.ts";
import { claimRoyalties, fundPayer, runTraffic, type TrafficSummary } from "./traffic.ts";

export interface DevStackOptions {
  /** Where everything is written (default .modelshare). */
  dataDir?: string;
  /** Ports; 0 picks free ones. Defaults: chain 8545, gateway 8402, GraphQL 8000. */
  chainPort?: number;
  gatewayPort?: number;
  graphqlPort?: number;
  /** Voucher-paid calls the sample clients make (default 300), and x402 `exact` calls (default 6). */
  voucherCalls?: number;
  exactCalls?: number;
  /** A line per step, for the person waiting. */
  progress?: (line: string) => void;
  /** The components' own logs (default "warn", to stderr). */
  logLevel?: string;
}

export interface DevAccount {
  label: string;
  address: Address;
  key: Hex;
}

export interface DevModel {
  modelId: bigint;
  name: string;
  shares: Address;
  price: bigint;
  parent?: { modelId: bigint; bps: number };
  holders: { account: DevAccount; shares: bigint }[];
  inputName: string;
  accuracy: number;
}

export interface DevStack {
  dataDir: string;
  rpcUrl: string;
  chainId: number;
  deployment: Deployment;
  gatewayUrl: string;
  graphqlEndpoint: string;
  publicClient: PublicClient;
  accounts: Record<"creator" | "contributorA" | "contributorB" | "derivativeCreator" | "operator" | "agent" | "x402Payer", DevAccount>;
  models: DevModel[];
  traffic: TrafficSummary;
  gateway: Gateway;
  indexer: Indexer;
  /** Waits until the subgraph has indexed the chain's current head. */
  synced(): Promise<void>;
  close(): Promise<void>;
}

const USDC = 10n ** 6n;
const SHARES = 10n ** 18n;

/** Files of a previous run that describe a chain that no longer exists (the local chain lives in memory). */
const STALE = ["deployments", "ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm", "subgraph.sqlite", "subgraph.sqlite-wal", "subgraph.sqlite-shm", "subgraph"];

async function port(requested: number | undefined, fallback: number, what: string): Promise<number> {
  const wanted = requested ?? fallback;
  if (wanted !== 0 && !(await portIsFree(wanted))) {
    throw new Error(`port ${wanted} for the ${what} is taken: stop what uses it, or pick another port (0 picks a free one)`);
  }
  return wanted;
}

/** Writes the CLI's config file so `modelshare …` in another terminal talks to this stack — unless one exists that
 *  this command did not write. */
async function writeCliConfig(dataDir: string, settings: Record<string, unknown>, progress: (line: string) => void) {
  const file = path.join(dataDir, "config.json");
  if (existsSync(file)) {
    const current = JSON.parse(await readFile(file, "utf8")) as { generatedBy?: string };
    if (current.generatedBy !== "modelshare dev") {
      progress(`kept your ${file}; the CLI will not point at this stack unless you pass --rpc-url etc.`);
      return;
    }
  }
  await writeFile(file, JSON.stringify({ generatedBy: "modelshare dev", ...settings }, null, 2) + "\n");
}

export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  const dataDir = path.resolve(options.dataDir ?? ".modelshare");
  const progress = options.progress ?? (() => {});
  const logger: Logger = pino({ level: options.logLevel ?? "warn" }, pino.destination(2));
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => logger.warn({ err: error }, "shutting down a part failed"));
  };

  try {
    await mkdir(dataDir, { recursive: true });
    for (const name of STALE) await rm(path.join(dataDir, name), { recursive: true, force: true });
    const chainPort = await port(options.chainPort, 8545, "local chain");
    const gatewayPort = await port(options.gatewayPort, 8402, "gateway");
    const graphqlPort = await port(options.graphqlPort, 8000, "GraphQL endpoint");

    progress("starting a local chain (hardhat node)…");
    const chain: LocalChain = await startLocalChain({ port: chainPort });
    stops.push(() => chain.stop());
    const chainId = 31337;
    const viemChain = defineChain({ id: chainId, name: "Hardhat", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [chain.rpcUrl] } } });
    const publicClient = createPublicClient({ chain: viemChain, transport: http(chain.rpcUrl), pollingInterval: 50 }) as PublicClient;
    const account = (label: string, i: number): DevAccount => ({ label, key: DEV_KEYS[i]!, address: privateKeyToAccount(DEV_KEYS[i]!).address });
    const accounts = {
      creator: account("creator", 0),
      contributorA: account("contributor A", 1),
      contributorB: account("contributor B", 2),
      derivativeCreator: account("derivative creator", 3),
      operator: account("operator", 4),
      agent: account("agent (payer)", 5),
      x402Payer: account("x402 payer", 6),
    };
    const wallet = (a: DevAccount) => createWalletClient({ account: privateKeyToAccount(a.key), chain: viemChain, transport: http(chain.rpcUrl) });

    progress("deploying the protocol (registry, vault, share implementation, test USDC)…");
    const deploymentsDir = path.join(dataDir, "deployments");
    const { deployment } = await deployToChain({ rpcUrl: chain.rpcUrl, deploymentsDir, privateKey: accounts.creator.key });
    const storeDir = path.join(dataDir, "store");
    const storage = new LocalStorage(storeDir);
    const subgraphDir = path.join(dataDir, "subgraph");
    // Compiling the subgraph takes a while the first time: start it now, alongside the mints.
    const subgraphBuild = buildSubgraphFor(
      { registry: deployment.contracts.registry, vault: deployment.contracts.vault, startBlock: deployment.startBlock },
      { outDir: subgraphDir },
    );
    subgraphBuild.catch(() => {});

    progress("training the sample models (digit glyph classifiers) and minting them…");
    const samples = buildDigitModels();
    const modelsDir = path.join(dataDir, "models");
    await mkdir(modelsDir, { recursive: true });
    const models: DevModel[] = [];
    const mint = async (
      sample: typeof samples.base,
      file: string,
      creator: DevAccount,
      price: bigint,
      holders: { account: DevAccount; shares: bigint }[],
      parent?: { modelId: bigint; bps: number },
    ) => {
      const onnxFile = path.join(modelsDir, file);
      await writeFile(onnxFile, sample.onnx);
      const minted = await mintModel({
        publicClient,
        walletClient: wallet(creator),
        deployment,
        storage,
        file: onnxFile,
        name: sample.name,
        description: sample.description,
        license: "MIT",
        tags: sample.tags,
        price,
        operatorFeeBps: 500,
        split: holders.map((h) => ({ address: h.account.address, amount: h.shares })),
        parents: parent ? [parent] : [],
      });
      const model: DevModel = { modelId: minted.modelId, name: sample.name, shares: minted.shares, price, parent, holders, inputName: sample.inputName, accuracy: sample.accuracy };
      models.push(model);
      return model;
    };
    const base = await mint(samples.base, "digits.onnx", accounts.creator, USDC / 1000n, [
      { account: accounts.creator, shares: 500_000n * SHARES },
      { account: accounts.contributorA, shares: 300_000n * SHARES },
      { account: accounts.contributorB, shares: 200_000n * SHARES },
    ]);
    await mint(
      samples.robust,
      "digits-robust.onnx",
      accounts.derivativeCreator,
      (2n * USDC) / 1000n,
      [
        { account: accounts.derivativeCreator, shares: 700_000n * SHARES },
        { account: accounts.contributorA, shares: 300_000n * SHARES },
      ],
      { modelId: base.modelId, bps: 2_000 },
    );

    progress("starting the embedded subgraph host (indexer + GraphQL)…");
    await subgraphBuild;
    const manifest = await loadManifest(subgraphDir);
    const store: HostStore = await openStore({ url: `sqlite:${path.join(dataDir, "subgraph.sqlite")}`, schema: manifest.schema });
    stops.push(() => store.close());
    const indexer = await createIndexer({ buildDir: manifest, store, rpc: chain.rpcUrl, logger, pollIntervalMs: 250 });
    indexer.start();
    stops.push(() => indexer.stop());
    const graphql: GraphqlServer = await createGraphqlServer({ store, schema: manifest.schema, name: "modelshare", host: "127.0.0.1", port: graphqlPort, logger });
    stops.push(() => graphql.close());

    progress("starting the inference gateway…");
    const gateway = await startGateway({
      settings: resolveGatewaySettings({ port: gatewayPort, ledger: `sqlite:${path.join(dataDir, "ledger.sqlite")}`, logLevel: options.logLevel ?? "warn" }, {}),
      publicClient,
      operatorKey: accounts.operator.key,
      deployment,
      storage,
      logger,
    });
    stops.push(() => gateway.close());
    await writeCliConfig(
      dataDir,
      { rpcUrl: chain.rpcUrl, deploymentsDir: "deployments", storage: { kind: "local", dir: "store" }, gateway: { port: gatewayPort || 8402 } },
      progress,
    );

    progress("paying clients: an agent with a session key (vouchers) and an x402 client (exact)…");
    const agentSession = privateKeyToAccount(generatePrivateKey());
    await fundPayer({ publicClient, wallet: wallet(accounts.agent), deployment, mint: 50n * USDC, deposit: 20n * USDC, session: { key: agentSession.address, cap: 10n * USDC } });
    await fundPayer({ publicClient, wallet: wallet(accounts.x402Payer), deployment, mint: 5n * USDC });
    const traffic = await runTraffic({
      gatewayUrl: gateway.url,
      models,
      voucherCalls: options.voucherCalls ?? 300,
      exactCalls: options.exactCalls ?? 6,
      agent: { session: agentSession, payer: accounts.agent.address },
      x402Payer: privateKeyToAccount(accounts.x402Payer.key),
      publicClient,
      progress,
    });

    progress("settling everything owed on-chain…");
    await gateway.settlement!.runOnce({ all: true });
    // A holder claims part of its royalties, so the table shows claimed and still-claimable money side by side.
    await claimRoyalties({ publicClient, wallet: wallet(accounts.contributorA), deployment, modelIds: [base.modelId] });

    const synced = async () => {
      const head = Number(await publicClient.getBlockNumber());
      await indexer.syncTo(head);
    };
    await synced();

    return {
      dataDir,
      rpcUrl: chain.rpcUrl,
      chainId,
      deployment,
      gatewayUrl: gateway.url,
      graphqlEndpoint: graphql.endpoint,
      publicClient,
      accounts,
      models,
      traffic,
      gateway,
      indexer,
      synced,
      close: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
