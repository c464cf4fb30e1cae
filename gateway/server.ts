// Starts a gateway from its settings and connections, and stops it cleanly: on close it stops taking requests,
// lets the ones in flight finish (their vouchers reach the ledger), stops the chain watcher and the settlement
// worker after its current round, and closes the ledger and the model sessions.
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pino, type Logger } from "pino";
import { createWalletClient, custom, getAddress, http, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Deployment } from "../deploy/deployment.ts";
import { connect, testStablecoinAbi } from "../sdk/contracts.ts";
import type { StorageAdapter } from "../sdk/storage/types.ts";
import { caip2 } from "../sdk/x402/networks.ts";
import { createApp } from "./app.ts";
import { OperatorSender } from "./chain/sender.ts";
import { ChainWatcher } from "./chain/watcher.ts";
import { baseUnitAmounts, type GatewaySettings } from "./config.ts";
import { answerParserErrorsAsJson, MAX_REQUEST_HEADERS_BYTES } from "./http/client-errors.ts";
import { createLedger } from "./ledger/index.ts";
import type { Ledger } from "./ledger/types.ts";
import { createMetrics } from "./metrics.ts";
import { ModelCatalog } from "./models/catalog.ts";
import { ExactPayments } from "./payments/exact-payments.ts";
import { createExactSubmitter } from "./payments/exact-submitter.ts";
import { LaneBook } from "./payments/lanes.ts";
import { PayerBook } from "./payments/payers.ts";
import { createReceiptSigner } from "./payments/receipt-signer.ts";
import { SecpPool } from "./payments/secp-pool.ts";
import type { PaymentTerms } from "./payments/requirements.ts";
import { VoucherPayments } from "./payments/voucher-payments.ts";
import { registerSettlementMetrics } from "./settlement/metrics.ts";
import { SettlementWorker } from "./settlement/worker.ts";

export interface GatewayOptions {
  settings: GatewaySettings;
  publicClient: PublicClient;
  /** The operator's key: it signs receipts, submits `exact` payments and settles vouchers. */
  operatorKey: Hex;
  deployment: Deployment;
  storage: StorageAdapter;
  /** An open ledger to use instead of opening `settings.ledger`. */
  ledger?: Ledger;
  logger?: Logger;
  /** Run the settlement worker (default true). */
  settle?: boolean;
}

export interface Gateway {
  url: string;
  operator: Address;
  server: Server;
  ledger: Ledger;
  catalog: ModelCatalog;
  watcher: ChainWatcher;
  settlement: SettlementWorker | undefined;
  /** Stops taking requests, drains the ones in flight, and releases everything. */
  close(): Promise<void>;
}

/** The stablecoin's EIP-712 domain name and version (x402 `exact` clients sign with them). */
async function stablecoinDomain(client: PublicClient, address: Address): Promise<{ name: string; version: string }> {
  try {
    const [, name, version] = await client.readContract({ address, abi: testStablecoinAbi, functionName: "eip712Domain" });
    return { name, version };
  } catch {
    // USDC (FiatToken v2) has no eip712Domain(), but name() and version().
    const versionAbi = [{ type: "function", name: "version", inputs: [], outputs: [{ type: "string" }], stateMutability: "view" }] as const;
    const [name, version] = await Promise.all([
      client.readContract({ address, abi: testStablecoinAbi, functionName: "name" }),
      client.readContract({ address, abi: versionAbi, functionName: "version" }),
    ]);
    return { name, version };
  }
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { settings, publicClient, deployment, storage } = options;
  const logger = options.logger ?? pino({ level: settings.logLevel }, pino.destination(2));
  const chainId = await publicClient.getChainId();
  if (chainId !== deployment.chainId) throw new Error(`the RPC endpoint is on chain ${chainId}, but the deployment is for chain ${deployment.chainId}`);
  const account = privateKeyToAccount(options.operatorKey);
  const operator = account.address;
  const vault = deployment.contracts.vault;
  const network = caip2(chainId);
  const { creditLimit, minUnsettled } = baseUnitAmounts(settings, deployment.stablecoin.decimals);

  const ledger = options.ledger ?? (await createLedger(settings.ledger));
  const lanes = new LaneBook();
  lanes.load(await ledger.lanes(operator));
  const payers = new PayerBook(publicClient, vault);
  const catalog = new ModelCatalog({
    contracts: connect({ publicClient }, deployment),
    storage,
    serve: settings.models,
    maxSessions: settings.maxSessions,
    termsTtlMs: settings.termsTtlSeconds * 1000,
    runTimeoutMs: settings.inference.timeoutMs,
    logger,
  });

  const watcher = new ChainWatcher({
    client: publicClient,
    vault,
    operator,
    payers,
    lanes,
    registry: { address: deployment.contracts.registry, changed: (modelId) => catalog.registryChanged(modelId) },
    intervalMs: settings.chainPollSeconds * 1000,
    staleAfterMs: settings.credit.staleAfterSeconds * 1000,
    onError: (error) => logger.warn({ err: error }, "chain watcher: the chain could not be read"),
  });
  await watcher.start();

  // Everything the operator's key sends goes through one sender, so exact payments and settlements never race for
  // a nonce.
  const wallet = createWalletClient({ account, chain: publicClient.chain, transport: custom({ request: (args) => publicClient.request(args as never) }) });
  const sender = new OperatorSender(publicClient, wallet);
  const stablecoin = { address: getAddress(deployment.stablecoin.address), ...(await stablecoinDomain(publicClient, deployment.stablecoin.address)) };
  const terms: PaymentTerms = {
    chainId,
    vault,
    operator,
    stablecoin,
    maxLanes: settings.maxLanes,
    maxTimeoutSeconds: settings.paymentTimeoutSeconds,
    exact: settings.exact.enabled,
  };
  const secp = new SecpPool({ threads: settings.cryptoThreads, signingKey: options.operatorKey });
  const vouchers = new VoucherPayments({
    chainId,
    network,
    vault,
    operator,
    maxLanes: settings.maxLanes,
    minLifetimeSeconds: settings.voucherMinLifetimeSeconds,
    creditLimit,
    chainIsFresh: () => watcher.fresh(),
    lanes,
    payers,
    ledger,
    secp,
  });
  const exact = settings.exact.enabled
    ? new ExactPayments({
        chainId,
        network,
        stablecoin,
        minValiditySeconds: settings.exact.minValiditySeconds,
        client: publicClient,
        payers,
        ledger,
        submit: createExactSubmitter({ client: publicClient, sender, vault, windowMs: settings.exact.batchWindowMs, maxBatch: settings.exact.maxBatch }),
      })
    : undefined;

  const settlement =
    options.settle === false
      ? undefined
      : new SettlementWorker({
          ledger,
          client: publicClient,
          account,
          // The same nonce sequence as exact payments: the key never has two transactions racing for a nonce.
          nonces: sender,
          vault,
          intervalMs: settings.settlement.intervalSeconds * 1000,
          threshold: minUnsettled,
          maxAgeMs: settings.settlement.maxAgeSeconds * 1000,
          maxBatch: settings.settlement.maxBatch,
          logger,
          // What the worker learns on-chain keeps the request path's lanes in step (a high-water mark only rises).
          onSettled: (updates) => {
            for (const u of updates) lanes.settle(u.payer, u.modelId, u.lane, u.settledAmount, u.settledCalls);
          },
        });
  settlement?.start();

  const metrics = createMetrics({ unsettled: () => lanes.totalUnsettled() });
  if (settlement) registerSettlementMetrics(metrics.registry, settlement);
  let closing = false;
  const app = createApp({
    catalog,
    terms,
    vouchers,
    exact,
    receipts: createReceiptSigner(operator, secp, chainId, vault),
    metrics,
    logger,
    limits: { maxElements: settings.inference.maxElements, maxBatch: settings.inference.maxBatch },
    publicUrl: settings.publicUrl,
    serveUnpaid: settings.serveUnpaid,
    bodyLimit: settings.bodyLimit,
    localStorage: storage.kind === "local" ? storage : undefined,
    settleNow: settlement ? (all: boolean) => settlement.runOnce({ all }) : undefined,
    readiness: {
      problems: () => [
        ...(closing ? ["shutting down"] : []),
        ...(watcher.fresh() ? [] : ["the chain's RPC has not answered recently"]),
      ],
    },
  });

  const server = createServer({ maxHeaderSize: MAX_REQUEST_HEADERS_BYTES }, app);
  answerParserErrorsAsJson(server);
  server.listen(settings.port, settings.host);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const host = settings.host.includes(":") ? `[${settings.host}]` : settings.host;
  const url = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  logger.info({ url, operator, chainId, ledger: ledger.kind }, "gateway listening");
  // onnxruntime loads a model on the event loop: load the served ones now rather than inside someone's first call.
  void catalog.warmUp().then(
    (rows) => logger.info({ models: rows.length }, "models warmed up"),
    (error: unknown) => logger.warn({ err: error }, "warming models up failed; they load on first use"),
  );

  return {
    url,
    operator,
    server,
    ledger,
    catalog,
    watcher,
    settlement,
    async close() {
      if (closing) return;
      closing = true;
      // Stop accepting; requests already in flight finish (and record their vouchers) before the ledger closes.
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, settings.shutdownTimeoutSeconds * 1000).unref());
      await Promise.race([drained, timeout]);
      server.closeAllConnections();
      await watcher.stop();
      await settlement?.stop();
      catalog.close();
      await secp.close();
      if (!options.ledger) await ledger.close();
      logger.info("gateway stopped");
    },
  };
}

/** A public client for a URL, for callers that have only the URL. */
export function rpcTransport(url: string) {
  return http(url, { retryCount: 1, timeout: 10_000 });
}

