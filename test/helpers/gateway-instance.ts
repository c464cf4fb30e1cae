// A real gateway in the test's own process (gateway/server.ts's startGateway) on a GatewayChain: its own SQLite ledger
// file, the chain's local store, and an RPC URL of the test's choosing (the node, or a TcpProxy in front of it). Plus
// a snapshot of everything a ledger file holds, so a test can show that a refused request wrote nothing.
import { mkdtemp } from "node:fs/promises";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import path from "node:path";
import { createPublicClient, http, type Hex, type PublicClient } from "viem";
import { hardhat } from "viem/chains";
import { resolveGatewaySettings, type GatewaySettingsInput } from "../../gateway/config.ts";
import { startGateway, type Gateway } from "../../gateway/server.ts";
import type { GatewayChain } from "./gateway-chain.ts";

export interface TestGatewayOptions {
  operatorKey: Hex;
  /** Settings over the test defaults (port 0, a fresh SQLite ledger, warnings only). */
  settings?: Partial<GatewaySettingsInput>;
  /** The RPC the gateway talks to (default: the node itself). */
  rpcUrl?: string;
  /** Run the settlement worker (default false: tests that settle say so). */
  settle?: boolean;
}

export interface TestGateway extends Gateway {
  /** The SQLite file behind the ledger. */
  ledgerFile: string;
  client: PublicClient;
}

export async function startTestGateway(chain: GatewayChain, options: TestGatewayOptions): Promise<TestGateway> {
  const dir = await mkdtemp(path.join(tmpdir(), "modelshare-gw-"));
  const ledgerFile = path.join(dir, "ledger.sqlite");
  const settings = resolveGatewaySettings({ port: 0, ledger: `sqlite:${ledgerFile}`, logLevel: "warn", ...options.settings }, {});
  // No retries: an RPC that is down must look down at once, as it would to a gateway whose retries ran out.
  const client = createPublicClient({
    chain: hardhat,
    transport: http(options.rpcUrl ?? chain.rpcUrl, { retryCount: 0, timeout: 5_000 }),
    pollingInterval: 100,
  }) as PublicClient;
  const gateway = await startGateway({
    settings,
    publicClient: client,
    operatorKey: options.operatorKey,
    deployment: chain.harness.deployment,
    storage: chain.storage,
    settle: options.settle ?? false,
  });
  return Object.assign(gateway, { ledgerFile, client });
}

export interface LedgerSnapshot {
  lanes: Record<string, unknown>[];
  exact: Record<string, unknown>[];
  submissions: Record<string, unknown>[];
}

/** Every row a SQLite ledger holds (read-only, alongside the gateway that writes it). */
export function snapshotSqliteLedger(file: string): LedgerSnapshot {
  const db = new DatabaseSync(file, { readOnly: true, timeout: 5_000 });
  try {
    const all = (sql: string) => db.prepare(sql).all().map((row) => ({ ...row }));
    return {
      lanes: all("SELECT * FROM lanes ORDER BY operator, payer, model_id, lane"),
      exact: all("SELECT * FROM exact_authorizations ORDER BY from_address, nonce"),
      submissions: all("SELECT * FROM submissions ORDER BY hash"),
    };
  } finally {
    db.close();
  }
}
