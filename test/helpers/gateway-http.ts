// Plain HTTP against a running gateway, as any client would talk to it: an inference call with the body and payment
// headers a test chooses, the model description (with its payment options), readiness, metrics, and a forced
// settlement round. Answers come back with status, headers and the body parsed as JSON when it is JSON.
import { Agent, request as httpRequest } from "node:http";
import { decodeHeader, pickAccepts, type Requirement } from "./x402-payments.ts";

export interface Answer<T = any> {
  status: number;
  headers: Headers;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  body: T;
  text: string;
}

export interface ErrorBody {
  error: { code: string; message: string; [detail: string]: unknown };
  [key: string]: unknown;
}

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** `{ inputs: { input: { dims: [rows, n], data } } }` for the tiny classifier (input "input", float32 [batch, n]). */
export function classifierBody(rows: number[][]): { inputs: Record<string, unknown> } {
  return { inputs: { input: { dims: [rows.length, rows[0]?.length ?? 0], data: rows.flat() } } };
}

export interface InferOptions {
  /** Extra headers, e.g. PAYMENT-SIGNATURE. */
  headers?: Record<string, string>;
  /** Sent as is when a string; JSON-encoded otherwise. */
  body?: unknown;
  contentType?: string | null;
  signal?: AbortSignal;
}

export async function infer(url: string, modelId: bigint | string, options: InferOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.contentType !== null) headers["content-type"] = options.contentType ?? "application/json";
  const body = typeof options.body === "string" ? options.body : JSON.stringify(options.body ?? {});
  return answer(await fetch(`${url}/v1/models/${modelId}/infer`, { method: "POST", headers, body, signal: options.signal }));
}

export async function get(url: string, path: string): Promise<Answer> {
  return answer(await fetch(`${url}${path}`));
}

/** The model's payment options as GET /v1/models/:id publishes them. */
export async function modelAccepts(url: string, modelId: bigint): Promise<{ exact: Requirement; voucher: Requirement; model: any }> {
  const res = await get(url, `/v1/models/${modelId}`);
  if (res.status !== 200) throw new Error(`GET /v1/models/${modelId}: ${res.status} ${res.text}`);
  return { ...pickAccepts(res.body.accepts), model: res.body };
}

/** The PAYMENT-REQUIRED header of a 402, decoded. */
export function paymentRequired(res: Answer): { x402Version: number; error: string; resource: { url: string }; accepts: Requirement[] } {
  return decodeHeader(res.headers.get("payment-required"));
}

/** The value of one Prometheus sample (`name{labels}`), 0 when absent. */
export async function metric(url: string, sample: string): Promise<number> {
  const text = (await get(url, "/metrics")).text;
  const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

/** Runs a settlement round on the gateway (POST /v1/admin/settle, loopback only). */
export async function settleNow(url: string): Promise<Answer> {
  return answer(await fetch(`${url}/v1/admin/settle`, { method: "POST" }));
}

/**
 * One kept-alive HTTP connection to the gateway: a request sent on it reaches the server as bytes on a socket the
 * server already accepted, so the server reads it in one pass of its event loop. Tests use it to have a request
 * handled at the very next chance the server gets (e.g. right after a synchronous model run ends).
 */
export class KeptConnection {
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 1 });
  readonly #base: URL;

  constructor(url: string) {
    this.#base = new URL(url);
  }

  /** Opens the connection (a cheap GET /healthz), so later requests reuse it. */
  async open(): Promise<void> {
    const res = await this.send("GET", "/healthz");
    if (res.status !== 200) throw new Error(`GET /healthz answered ${res.status}`);
  }

  send(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: this.#base.hostname, port: this.#base.port, method, path, agent: this.#agent, headers: body === undefined ? headers : { ...headers, "content-length": Buffer.byteLength(body) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = undefined;
            }
            const h = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h.set(k, v);
            resolve({ status: res.statusCode ?? 0, headers: h, body: parsed, text });
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs` with `what`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
