// JSON-RPC access for the indexer: a URL (HTTP, requests batched), an EIP-1193 provider (Hardhat's in-process
// chain, a wallet) or any viem transport. Failed requests are retried with exponential backoff, except the ones that
// cannot succeed by waiting: a bad request, or an eth_getLogs range the node refuses as too large (the caller halves
// it instead).
import { custom, http, type EIP1193Provider, type Transport } from "viem";

export type RpcSource = string | Transport | Pick<EIP1193Provider, "request"> | { request(args: { method: string; params?: unknown }): Promise<unknown> };

export interface RpcOptions {
  /** Attempts after the first one for a failing request (default 5). */
  retries?: number;
  /** First backoff delay, doubled after every failure (default 250 ms). */
  retryDelayMs?: number;
  /** Longest backoff delay (default 10 s). */
  maxRetryDelayMs?: number;
  /** Per-request timeout for HTTP endpoints (default 30 s). */
  timeoutMs?: number;
}

export class RpcError extends Error {
  override name = "RpcError";
  readonly method: string;
  readonly code: number | undefined;
  constructor(method: string, message: string, code: number | undefined, options?: ErrorOptions) {
    super(`${method} failed: ${message}`, options);
    this.method = method;
    this.code = code;
  }
}

// Messages nodes and providers use when an eth_getLogs query covers too much (geth, erigon, Alchemy, Infura, QuickNode…).
const RANGE_TOO_LARGE = /too many|more than \d+ results|response size|exceed|block range|range is too|limit|query timeout|too large/i;

/** eth_getLogs was refused because of the size of its range or result: try a smaller range. */
export function isRangeTooLarge(error: unknown): boolean {
  if (!(error instanceof RpcError) || error.method !== "eth_getLogs") return false;
  return error.code === -32005 || RANGE_TOO_LARGE.test(error.message);
}

/** Errors no retry can fix: malformed requests, unknown methods. */
function isPermanent(error: RpcError): boolean {
  return error.code === -32600 || error.code === -32601 || error.code === -32602 || isRangeTooLarge(error);
}

interface ErrorShape {
  code?: unknown;
  shortMessage?: unknown;
  message?: unknown;
  details?: unknown;
  cause?: unknown;
}

function describe(error: unknown): { message: string; code: number | undefined } {
  // viem wraps the node's error; the innermost code and details are the useful part.
  let code: number | undefined;
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const e = current as ErrorShape;
    if (typeof e.code === "number" && code === undefined) code = e.code;
    const text = typeof e.details === "string" && e.details ? e.details : typeof e.shortMessage === "string" ? e.shortMessage : typeof e.message === "string" ? e.message : "";
    if (text && !parts.some((p) => p.includes(text))) parts.push(text.split("\n")[0]!);
    current = e.cause;
  }
  return { message: parts.join(": ") || String(error), code };
}

function toTransport(source: RpcSource, timeoutMs: number): Transport {
  if (typeof source === "string") {
    if (!/^https?:\/\//.test(source)) throw new Error(`RPC URL must start with http:// or https://, got ${source}`);
    return http(source, { retryCount: 0, timeout: timeoutMs, batch: { batchSize: 100, wait: 0 } });
  }
  if (typeof source === "function") return source;
  if (source && typeof (source as { request?: unknown }).request === "function") {
    return custom(source as Pick<EIP1193Provider, "request">, { retryCount: 0 });
  }
  throw new Error("rpc must be a URL, an EIP-1193 provider or a viem transport");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class RpcClient {
  private readonly send: (args: { method: string; params?: unknown }) => Promise<unknown>;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  /** Called before each retry, for logs. */
  onRetry: (method: string, attempt: number, error: RpcError) => void = () => {};

  constructor(source: RpcSource, options: RpcOptions = {}) {
    const transport = toTransport(source, options.timeoutMs ?? 30_000);
    const { request } = transport({ retryCount: 0 });
    this.send = request as (args: { method: string; params?: unknown }) => Promise<unknown>;
    this.retries = options.retries ?? 5;
    this.retryDelayMs = options.retryDelayMs ?? 250;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 10_000;
  }

  async request<T>(method: string, params: unknown[] = []): Promise<T> {
    let delay = this.retryDelayMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.send({ method, params })) as T;
      } catch (cause) {
        const { message, code } = describe(cause);
        const error = new RpcError(method, message, code, { cause });
        if (isPermanent(error) || attempt >= this.retries) throw error;
        this.onRetry(method, attempt + 1, error);
        await sleep(delay);
        delay = Math.min(delay * 2, this.maxRetryDelayMs);
      }
    }
  }
}
