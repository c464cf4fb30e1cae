// Requests Node's HTTP parser refuses never reach Express: by default Node answers them with a bare status line.
// Here they get the gateway's `{ error: { code, message } }` body too, so every refusal reads the same to a client.
import type { Server } from "node:http";
import type { Socket } from "node:net";

/** Room for a 16 KiB payment header (refused with a readable 400 above that) plus ordinary headers. */
export const MAX_REQUEST_HEADERS_BYTES = 32 * 1024;

const PARSER_ERRORS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, "headers_too_large", `the request's headers exceed ${MAX_REQUEST_HEADERS_BYTES} bytes`],
  ERR_HTTP_REQUEST_TIMEOUT: [408, "request_timeout", "the request took too long to arrive"],
};

export function answerParserErrorsAsJson(server: Server): void {
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    // A reset or half-sent request has nobody left to answer.
    if (error.code === "ECONNRESET" || !socket.writable) return void socket.destroy();
    const [status, code, message] = PARSER_ERRORS[error.code ?? ""] ?? [400, "bad_request", "the request is not valid HTTP/1.1"];
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${code.replace(/_/g, " ")}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
