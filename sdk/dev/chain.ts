// A local chain for development and tests: Hardhat's node (EDR) as a child process on a localhost port, with its
// twenty well-known funded accounts. It keeps its state in memory, so every start is a fresh chain.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { REPO_ROOT } from "../../deploy/artifacts.ts";

/** Hardhat node's default accounts #0–#9 (public test keys, funded with 10,000 ETH each on every local node). */
export const DEV_KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
  "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
] as const;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** True when nothing listens on `port` at 127.0.0.1. */
export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

export async function rpcCall<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

export interface LocalChain {
  rpcUrl: string;
  port: number;
  child: ChildProcess;
  /** The node's last output, for error messages. */
  log(): string;
  stop(): Promise<void>;
}

/** Starts `hardhat node` on 127.0.0.1:`port` (default or 0: a free one) and waits until it answers. */
export async function startLocalChain(options: { port?: number; network?: string } = {}): Promise<LocalChain> {
  const port = options.port || (await freePort());
  const rpcUrl = `http://127.0.0.1:${port}`;
  // Bound to the loopback interface: the chain's accounts have publicly known keys.
  const args = ["node", "--hostname", "127.0.0.1", "--port", String(port), ...(options.network ? ["--network", options.network] : [])];
  const child = spawn(path.join(REPO_ROOT, "node_modules/.bin/hardhat"), args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const chain: LocalChain = {
    rpcUrl,
    port,
    child,
    log: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill();
      await exited;
    },
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`hardhat node exited early:\n${output}`);
    try {
      await rpcCall(rpcUrl, "eth_chainId");
      return chain;
    } catch {
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  await chain.stop();
  throw new Error(`hardhat node did not answer on ${rpcUrl} within a minute:\n${output}`);
}
