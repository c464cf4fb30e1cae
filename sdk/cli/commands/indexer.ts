// `modelshare indexer`: indexes the built subgraph (subgraph/build, from `npm run subgraph:build`) from the RPC
// endpoint into a local database with the embedded host, and serves it over GraphQL at graph-node's paths. Runs until
// SIGINT/SIGTERM, then stops after the block in progress, closes the server and the database.
import { createHash } from "node:crypto";
import { access, readFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { pino } from "pino";
import { action } from "../action.ts";
import { connectChain } from "../context.ts";
import { CliError, EXIT } from "../output.ts";

interface Options {
  build?: string;
  db?: string;
  host?: string;
  port?: string;
  name?: string;
  poll?: string;
  confirmations?: string;
  logLevel?: string;
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export function register(program: Command) {
  program
    .command("indexer")
    .description("index the built subgraph into a local database and serve it over GraphQL (graph-node's API)")
    .option("--build <dir>", "the built subgraph (default subgraph/build) [env MODELSHARE_SUBGRAPH_BUILD]")
    .option("--db <url>", "sqlite:<file> (default sqlite:.modelshare/subgraph.sqlite) or postgres://… [env MODELSHARE_SUBGRAPH_DB]")
    .option("--host <host>", "interface for GraphQL (default 127.0.0.1) [env MODELSHARE_SUBGRAPH_HOST]")
    .option("--port <port>", "GraphQL port (default 8000, as graph-node; 0 picks a free one) [env MODELSHARE_SUBGRAPH_PORT]")
    .option("--name <name>", "served at /subgraphs/name/<name> (default modelshare)")
    .option("--poll <ms>", "wait between polls at the chain head (default 1000)")
    .option("--confirmations <n>", "blocks to stay behind the head (default 0)")
    .option("--log-level <level>", `${LOG_LEVELS.join(", ")} (default info) [env MODELSHARE_LOG_LEVEL]`)
    .action(
      action<Options, []>(async ({ opts, config, out, raw }) => {
        const env = process.env;
        const buildDir = path.resolve(opts.build ?? env.MODELSHARE_SUBGRAPH_BUILD ?? path.join("subgraph", "build"));
        const { DEFAULT_DATABASE, describeDatabase, openStore } = await import("../../../subgraph/host/store/open.ts");
        const db = opts.db ?? env.MODELSHARE_SUBGRAPH_DB ?? DEFAULT_DATABASE;
        const host = opts.host ?? env.MODELSHARE_SUBGRAPH_HOST ?? "127.0.0.1";
        const port = integer(opts.port ?? env.MODELSHARE_SUBGRAPH_PORT ?? "8000", "--port", 0, 65535);
        const name = opts.name ?? "modelshare";
        const pollIntervalMs = integer(opts.poll ?? "1000", "--poll", 10, 3_600_000);
        const confirmations = integer(opts.confirmations ?? "0", "--confirmations", 0, 10_000);
        const level = opts.logLevel ?? env.MODELSHARE_LOG_LEVEL ?? "info";
        if (!LOG_LEVELS.includes(level)) throw new CliError(`--log-level must be one of ${LOG_LEVELS.join(", ")}`);
        if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(name)) throw new CliError(`--name ${JSON.stringify(name)}: use letters, digits, -, _ and /`);
        const manifestFile = path.join(buildDir, "subgraph.yaml");
        try {
          await access(manifestFile);
        } catch {
          throw new CliError(`no built subgraph at ${buildDir}: run \`npm run subgraph:build\` first (or pass --build)`);
        }

        const ctx = await connectChain(config, out, raw);
        const { loadManifest } = await import("../../../subgraph/host/runtime/manifest.ts");
        let manifest;
        try {
          manifest = await loadManifest(buildDir);
        } catch (error) {
          throw new CliError(`the built subgraph at ${buildDir} cannot be loaded: ${(error as Error).message}`);
        }
        // A subgraph built for another chain (or an old deployment) would index nothing, silently: refuse instead.
        for (const source of manifest.dataSources) {
          const code = await ctx.publicClient.getCode({ address: source.address });
          if (!code || code === "0x") {
            throw new CliError(
              `the built subgraph's ${source.name} (${source.address}) has no contract on chain ${ctx.chainId}: rebuild it for this chain (npm run subgraph:build)`,
              EXIT.environment,
            );
          }
        }

        let store;
        try {
          store = await openStore({ url: db, schema: manifest.schema, pgSchema: name.replace(/[^A-Za-z0-9_]/g, "_").toLowerCase() });
        } catch (error) {
          throw new CliError(`cannot open the subgraph database ${describeDatabase(db)}: ${(error as Error).message}`, EXIT.environment);
        }
        const logger = pino({ level, base: { component: "indexer" } }, pino.destination(2));
        const deployment = "local-" + createHash("sha256").update(await readFile(manifestFile)).digest("hex").slice(0, 16);
        const { createIndexer } = await import("../../../subgraph/host/indexer/index.ts");
        const { createGraphqlServer } = await import("../../../subgraph/host/server.ts");
        let indexer;
        let server;
        try {
          indexer = await createIndexer({ buildDir: manifest, store, rpc: config.rpcUrl, logger, pollIntervalMs, confirmations });
          server = await createGraphqlServer({ store, schema: manifest.schema, name, deployment, host, port, logger });
        } catch (error) {
          await store.close().catch(() => {});
          throw new CliError(`the indexer could not start: ${(error as Error).message}`, EXIT.environment);
        }
        indexer.start();
        const head = await store.head();
        out.result(
          { endpoint: server.endpoint, url: server.url, db: describeDatabase(db), chainId: ctx.chainId, deployment, head: head?.number ?? null },
          [
            `indexing chain ${ctx.chainId} from ${config.rpcUrl} into ${describeDatabase(db)}${head ? ` (resuming after block ${head.number})` : ""}`,
            `  GraphQL  ${server.endpoint}`,
            `  health   ${server.url}/healthz`,
            `  try: curl -s -X POST ${server.endpoint} -H 'content-type: application/json' -d '{"query":"{ _meta { block { number } } models { id paidCalls } }"}'`,
          ],
        );

        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off("SIGINT", stop);
            process.off("SIGTERM", stop);
            out.note("shutting down: finishing the block in progress…");
            void (async () => {
              await indexer.stop().catch((error: Error) => logger.error({ err: error }, "indexer stop failed"));
              await server.close().catch(() => {});
              await store.close().catch((error: Error) => logger.error({ err: error }, "closing the database failed"));
              const status = indexer.status();
              out.note(`stopped at block ${status.latestBlock?.number ?? "none"} (${status.events} events this run)`);
              resolve();
            })();
          };
          process.on("SIGINT", stop);
          process.on("SIGTERM", stop);
        });
      }),
    );
}

function integer(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`${flag} must be an integer between ${min} and ${max} (got ${text})`);
  return n;
}
