// A TCP proxy a test controls, put between a gateway and its chain's RPC to play an outage: `cut()` drops every open
// connection and refuses new ones (the port stays reserved, so clients see "connection refused" at once rather than
// a timeout), `restore()` forwards again on the same port. It knows nothing of HTTP, so the gateway's RPC client
// sees exactly what a dead endpoint looks like.
import { createServer, connect, type Server, type Socket } from "node:net";

export class TcpProxy {
  readonly #targetHost: string;
  readonly #targetPort: number;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #port = 0;
  #up = false;
  /** Connections accepted while forwarding (each one a client socket). */
  connections = 0;

  constructor(target: string) {
    const url = new URL(target);
    this.#targetHost = url.hostname;
    this.#targetPort = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  }

  /** `http://127.0.0.1:<port>`: point the client here instead of at the target. */
  get url(): string {
    if (!this.#port) throw new Error("the proxy has not been started");
    return `http://127.0.0.1:${this.#port}`;
  }

  get up(): boolean {
    return this.#up;
  }

  async start(): Promise<void> {
    if (this.#server) return;
    const server = createServer((client) => this.#forward(client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.#port = (server.address() as { port: number }).port;
    this.#server = server;
    this.#up = true;
  }

  /** The endpoint goes down: open connections are reset and new ones refused. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#up = false;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await closed;
  }

  /** The endpoint comes back on the same port. */
  restore(): Promise<void> {
    return this.start();
  }

  close(): Promise<void> {
    return this.cut();
  }

  #forward(client: Socket): void {
    if (!this.#up) return void client.destroy();
    this.connections++;
    const upstream = connect(this.#targetPort, this.#targetHost);
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
      // A reset on one side ends the other; the error itself is the outage being played, not a test failure.
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
