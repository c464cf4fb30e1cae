// Looking at and interfering with the HTTP exchanges between a paying client and a real gateway: a fetch that records
// every exchange (status, and the x402 error code of each 402), one that loses answers after the gateway has served
// them (a connection dropped on the way back), and one that rewrites answers (a gateway or a network that lies).

export interface Exchange {
  method: string;
  path: string;
  status: number;
  /** Whether the request carried a payment header. */
  paid: boolean;
  /** The PAYMENT-REQUIRED `error` of a 402, or the body's error code of another error answer. */
  code: string | undefined;
}

export function recordingFetch(inner: typeof fetch = fetch) {
  const log: Exchange[] = [];
  const recording: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const paid = request.headers.has("PAYMENT-SIGNATURE") || request.headers.has("X-PAYMENT");
    const response = await inner(request);
    let code: string | undefined;
    const required = response.headers.get("PAYMENT-REQUIRED");
    if (response.status === 402 && required) code = (decodeHeader(required) as { error?: string }).error;
    else if (!response.ok) code = await response.clone().json().then((b: { error?: { code?: string } }) => b.error?.code, () => undefined);
    log.push({ method: request.method, path: new URL(request.url).pathname, status: response.status, paid, code });
    return response;
  };
  return {
    fetch: recording,
    log,
    /** Paid requests to the infer route, in order. */
    paidCalls: () => log.filter((e) => e.paid),
    clear: () => void log.splice(0),
  };
}

/** Sends each request; for those `lose` picks, waits for the gateway's whole answer, then fails like a dropped
 *  connection, so the gateway has served (and charged) a call whose answer the client never sees. */
export function losingFetch(lose: (request: Request, attempt: number) => boolean, inner: typeof fetch = fetch): typeof fetch {
  let attempt = 0;
  return async (input, init) => {
    const request = new Request(input, init);
    const drop = lose(request, attempt++);
    const response = await inner(request);
    if (!drop) return response;
    await response.arrayBuffer();
    throw new TypeError("fetch failed", { cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }) });
  };
}

export interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

/** Lets `rewrite` change any answer (return undefined to leave it alone). */
export function rewritingFetch(rewrite: (answer: Answer, request: Request) => Answer | undefined, inner: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const response = await inner(request.clone());
    const answer: Answer = { status: response.status, headers: new Headers(response.headers), body: await response.text() };
    const changed = rewrite(answer, request) ?? answer;
    return new Response(changed.body, { status: changed.status, headers: changed.headers });
  };
}

export function decodeHeader(value: string): unknown {
  return JSON.parse(Buffer.from(value, "base64").toString("utf8"));
}

export function encodeHeader(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64");
}
