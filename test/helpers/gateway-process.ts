// The real `modelshare gateway` command as a child process (sdk/cli/main.ts under this Node), for tests that kill a
// gateway or run several against one ledger: started with the CLI's own flags and MODELSHARE_* environment, ready once
// it printed its --json "listening" line and /readyz answers 200, stopped with the signal a test chooses. Its stderr
// (pino logs, errors) is kept for failure messages.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Address, Hex } from "viem";
import type { GatewayChain } from "./gateway-chain.ts";

const CLI = fileURLToPath(new URL("../../sdk/cli/main.ts", import.meta.url));

export interface GatewayProcessOptions {
  /** Arguments after `gateway`, e.g. ["--ledger", "sqlite:/tmp/x.sqlite", "--no-settle"]. */
  args?: string[];
  /** The whole MODELSHARE_* environment (the test process's own MODELSHARE_* variables are not passed on). */
  env: Record<string, string>;
  /** Working directory: keeps a stray ./.modelshare/config.json out of the test. */
  cwd: string;
  /** Names the process in error messages. */
  name?: string;
  /** Give up waiting for "listening" and a ready /readyz after this long (default 40 s). */
  startTimeoutMs?: number;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface GatewayProcess {
  name: string;
  url: string;
  operator: Address;
  pid: number;
  process: ChildProcess;
  exited: Promise<Exit>;
  /** The last 20,000 characters of its stderr. */
  stderr(): string;
  /** Sends `signal` (default SIGTERM) and resolves when the process is gone; at once if it already is. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

/** The connection settings of a gateway for `chain`, with `operatorKey` as operator, plus `extra` variables. */
export function gatewayProcessEnv(chain: GatewayChain, operatorKey: Hex, extra: Record<string, string> = {}): Record<string, string> {
  return {
    MODELSHARE_RPC_URL: chain.rpcUrl,
    MODELSHARE_PRIVATE_KEY: operatorKey,
    MODELSHARE_DEPLOYMENTS_DIR: chain.harness.deploymentsDir,
    MODELSHARE_STORAGE: "local",
    MODELSHARE_STORAGE_DIR: chain.storeDir,
    MODELSHARE_LOG_LEVEL: "warn",
    ...extra,
  };
}

export async function startGatewayProcess(options: GatewayProcessOptions): Promise<GatewayProcess> {
  const name = options.name ?? "gateway";
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MODELSHARE_")));
  const child = spawn(process.execPath, [CLI, "gateway", "--json", ...(options.args ?? [])], {
    cwd: options.cwd,
    env: { ...base, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
  const exited = new Promise<Exit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const stop = async (signal: NodeJS.Signals = "SIGTERM"): Promise<Exit> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };

  // --json: stdout is one (indented) JSON object { url, operator, chainId, ledger }, printed once the server listens.
  const listening = new Promise<{ url: string; operator: Address }>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      // Parse once the object is complete (it may arrive in pieces).
      if (!stdout.trimEnd().endsWith("}")) return;
      try {
        resolve(JSON.parse(stdout) as { url: string; operator: Address });
      } catch {
        // not complete yet
      }
    });
    void exited.then((exit) => reject(new Error(`${name} exited (${exit.code ?? exit.signal}) before listening:\n${stderr}${stdout}`)));
  });
  const deadline = Date.now() + (options.startTimeoutMs ?? 40_000);
  const timeout = (what: string) => new Error(`${name}: no ${what} within ${options.startTimeoutMs ?? 40_000} ms:\n${stderr}${stdout}`);
  let timer: NodeJS.Timeout | undefined;
  try {
    const started = await Promise.race([
      listening,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(timeout("'listening' line")), Math.max(0, deadline - Date.now())))),
    ]);
    clearTimeout(timer);
    // Ready means the chain was read and the server takes calls.
    for (;;) {
      const status = await fetch(`${started.url}/readyz`).then((r) => r.status, () => 0);
      if (status === 200) break;
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited while starting:\n${stderr}`);
      if (Date.now() > deadline) throw timeout("ready /readyz");
      await new Promise((r) => setTimeout(r, 100));
    }
    return { name, url: started.url, operator: started.operator, pid: child.pid!, process: child, exited, stderr: () => stderr, stop };
  } catch (error) {
    clearTimeout(timer);
    await stop("SIGKILL");
    throw error;
  }
}
