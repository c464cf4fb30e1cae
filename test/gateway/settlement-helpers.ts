// A real chain for settlement tests: a `hardhat node` subprocess with the protocol deployed (test/cli/harness.ts),
// two models, payers with escrow who sign real vouchers that go into a real ledger, and a settlement worker wired
// the way the gateway wires it. Plus a JSON-RPC proxy the tests can take down, to play an RPC outage.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createPublicClient, http, type Address, type Hex, type LocalAccount, type PublicClient } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { SqliteLedger } from "../../gateway/ledger/sqlite.ts";
import type { Ledger } from "../../gateway/ledger/types.ts";
import type { Logger } from "../../gateway/settlement/logger.ts";
import { SettlementWorker, type SettlementWorkerOptions } from "../../gateway/settlement/worker.ts";
import { testStablecoinAbi, vaultAbi } from "../../sdk/contracts.ts";
import { signVoucher } from "../../sdk/vouchers.ts";
import { KEYS, startHarness, type Harness } from "../cli/harness.ts";

export const PRICE = 1_000n;

export interface Payer {
  key: Hex;
  account: LocalAccount;
  address: Address;
}

export interface LogEntry {
  level: keyof Logger;
  obj: Record<string, unknown>;
  msg: string | undefined;
}

export interface RecordingLogger extends Logger {
  entries: LogEntry[];
  /** Resolves at the first entry (past or future) whose message matches. */
  next(pattern: RegExp): Promise<LogEntry>;
}

export function recordingLogger(): RecordingLogger {
  const entries: LogEntry[] = [];
  const waiters: { pattern: RegExp; resolve: (e: LogEntry) => void }[] = [];
  const at = (level: keyof Logger) => (obj: object, msg?: string) => {
    const entry = { level, obj: obj as Record<string, unknown>, msg };
    entries.push(entry);
    for (const w of [...waiters]) if (w.pattern.test(msg ?? "")) (waiters.splice(waiters.indexOf(w), 1), w.resolve(entry));
  };
  return {
    entries,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    next: (pattern) => {
      const seen = entries.find((e) => pattern.test(e.msg ?? ""));
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ pattern, resolve }));
    },
  };
}

export interface SettlementChain {
  h: Harness;
  client: PublicClient;
  vault: Address;
  operatorKey: Hex;
  operator: LocalAccount;
  models: [bigint, bigint];
  dir: string;
  newPayer(escrow: bigint): Promise<Payer>;
  deposit(payer: Payer, amount: bigint): Promise<void>;
  /** Signs `calls` vouchers on a lane, each accepted by the ledger against the previous one; returns the cumulative. */
  pay(ledger: Ledger, payer: Payer, modelId: bigint, lane: number, calls: number, options?: { acceptedAt?: number; signer?: LocalAccount; expiry?: bigint }): Promise<bigint>;
  tab(payer: Address, modelId: bigint, lane: number): Promise<readonly [bigint, bigint]>;
  escrow(payer: Address): Promise<readonly [bigint, bigint, bigint]>;
  /** Mined transactions of `who` (latest nonce). */
  nonce(who: Address): Promise<number>;
  send(payer: Payer, functionName: "requestWithdrawal" | "withdraw", args: readonly bigint[]): Promise<void>;
  /** Moves the chain clock forward and mines a block. */
  advance(seconds: number): Promise<void>;
  sqlite(name: string): SqliteLedger;
  worker(ledger: Ledger, options?: Partial<SettlementWorkerOptions>): SettlementWorker;
  stop(): Promise<void>;
}

export async function settlementChain(): Promise<SettlementChain> {
  const h = await startHarness();
  const dir = await mkdtemp(path.join(tmpdir(), "modelshare-settle-"));
  const client = createPublicClient({ chain: hardhat, transport: http(h.rpcUrl, { retryCount: 0 }), pollingInterval: 50 }) as PublicClient;
  const vault = h.deployment.contracts.vault;
  const usdc = h.deployment.stablecoin.address;
  const operatorKey = KEYS[5];
  const models: [bigint, bigint] = [await h.mintDirect(KEYS[0], { price: PRICE }), await h.mintDirect(KEYS[0], { price: PRICE })];
  const wait = async (hash: Hex) => {
    const receipt = await h.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
  };

  const chain: SettlementChain = {
    h,
    client,
    vault,
    operatorKey,
    operator: privateKeyToAccount(operatorKey),
    models,
    dir,
    async newPayer(escrow) {
      const key = generatePrivateKey();
      const account = privateKeyToAccount(key);
      await h.rpc("hardhat_setBalance", [account.address, "0x8ac7230489e80000"]);
      const payer = { key, account, address: account.address };
      if (escrow > 0n) await chain.deposit(payer, escrow);
      return payer;
    },
    async deposit(payer, amount) {
      const wallet = h.wallet(payer.key);
      await wait(await wallet.writeContract({ address: usdc, abi: testStablecoinAbi, functionName: "mint", args: [payer.address, amount], chain: undefined, account: payer.account }));
      await wait(await wallet.writeContract({ address: usdc, abi: testStablecoinAbi, functionName: "approve", args: [vault, amount], chain: undefined, account: payer.account }));
      await wait(await wallet.writeContract({ address: vault, abi: vaultAbi, functionName: "deposit", args: [amount], chain: undefined, account: payer.account }));
    },
    async pay(ledger, payer, modelId, lane, calls, options = {}) {
      const key = { payer: payer.address, operator: chain.operator.address, modelId, lane };
      let cumulative = (await ledger.lane(key))?.cumulativeAmount ?? 0n;
      let count = (await ledger.lane(key))?.cumulativeCalls ?? 0n;
      for (let i = 0; i < calls; i++) {
        const voucher = { ...key, cumulativeAmount: cumulative + PRICE, cumulativeCalls: count + 1n, expiry: options.expiry ?? 0n };
        const { signature } = await signVoucher(options.signer ?? payer.account, voucher, 31337, vault);
        const accepted = await ledger.accept({
          ...voucher,
          expectedCumulative: cumulative,
          signature,
          signer: (options.signer ?? payer.account).address,
          inputSha256: `0x${"11".repeat(32)}`,
          acceptedAt: options.acceptedAt ?? Date.now(),
        });
        if (accepted !== "accepted") throw new Error(`the ledger refused (${accepted}) a voucher the test expected it to take`);
        cumulative += PRICE;
        count += 1n;
      }
      return cumulative;
    },
    tab: (payer, modelId, lane) => client.readContract({ address: vault, abi: vaultAbi, functionName: "tabOf", args: [payer, chain.operator.address, modelId, lane] }),
    escrow: (payer) => client.readContract({ address: vault, abi: vaultAbi, functionName: "escrowOf", args: [payer] }),
    nonce: (who) => client.getTransactionCount({ address: who, blockTag: "latest" }),
    async send(payer, functionName, args) {
      await wait(await h.wallet(payer.key).writeContract({ address: vault, abi: vaultAbi, functionName, args: args as never, chain: undefined, account: payer.account }));
    },
    async advance(seconds) {
      await h.rpc("evm_increaseTime", [seconds]);
      await h.rpc("evm_mine");
    },
    sqlite: (name) => new SqliteLedger(path.join(dir, `${name}.sqlite`)),
    worker: (ledger, options = {}) =>
      new SettlementWorker({
        ledger,
        client,
        account: chain.operator,
        vault,
        intervalMs: 50,
        backoff: { initialMs: 20, maxMs: 200 },
        receiptTimeoutMs: 20_000,
        ...options,
      }),
    async stop() {
      await h.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return chain;
}

/** Polls `check` until it holds (or fails after `limitMs`); a wait for a condition, not a timing assertion. */
export async function eventually(check: () => Promise<boolean>, what: string, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * An HTTP JSON-RPC proxy in front of the node: `down()` closes its port (connections are refused, as when a node
 * stops), `up()` opens it again on the same port; `drop(method)` answers that method with a 503 (a lost request).
 */
export interface RpcProxy {
  url: string;
  down(): Promise<void>;
  up(): Promise<void>;
  drop(method: string | null): void;
  close(): Promise<void>;
}

export async function rpcProxy(target: string): Promise<RpcProxy> {
  let dropped: string | null = null;
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer(async (req, res) => {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const body = Buffer.concat(chunks).toString();
        if (dropped && body.includes(`"${dropped}"`)) {
          res.writeHead(503).end("unavailable");
          return;
        }
        try {
          const answer = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body });
          res.writeHead(answer.status, { "content-type": "application/json" }).end(await answer.text());
        } catch {
          res.destroy();
        }
      });
      server.keepAliveTimeout = 1;
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        port = (server!.address() as AddressInfo).port;
        resolve();
      });
    });
  const down = () =>
    new Promise<void>((resolve) => {
      if (!server) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
      server = undefined;
    });
  await listen();
  return { url: `http://127.0.0.1:${port}`, down, up: listen, drop: (method) => (dropped = method), close: down };
}
