// A closed-loop HTTP load generator for benchmarks: `connections` loops, each on its own keep-alive connection,
// sending one request at a time for `seconds`, timing each with hrtime. Each loop has a `slot` (0…connections−1)
// so a caller can give every connection a state of its own — a voucher lane, whose next voucher depends on whether
// the previous call was answered. (autocannon shares request objects between connections and times latency in whole
// milliseconds, which fits neither need.)
import { Agent, request } from "node:http";

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  body: string;
  /** Extra headers of the next request on `slot`. */
  headers?: (slot: number) => Record<string, string>;
  /** Told every answer's status, after it arrived. */
  onStatus?: (slot: number, status: number) => void;
}

export interface LoadResult {
  requests: number;
  rps: number;
  non2xx: number;
  p50Ms: number;
  p99Ms: number;
}

function send(agent: Agent, target: URL, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: target.hostname, port: target.port, path: target.pathname, method: "POST", agent, headers: { "content-type": "application/json", ...headers } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const target = new URL(options.url);
  const times: number[] = [];
  let non2xx = 0;
  const started = performance.now();
  const end = started + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: options.connections }, async (_, slot) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        while (performance.now() < end) {
          const headers = options.headers?.(slot) ?? {};
          const t0 = process.hrtime.bigint();
          const status = await send(agent, target, headers, options.body);
          times.push(Number(process.hrtime.bigint() - t0) / 1e6);
          if (status < 200 || status > 299) non2xx++;
          options.onStatus?.(slot, status);
        }
      } finally {
        agent.destroy();
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  return { requests: times.length, rps: times.length / elapsed, non2xx, p50Ms: at(0.5), p99Ms: at(0.99) };
}
