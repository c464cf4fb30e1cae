// `modelshare gateway`: runs the metered inference gateway for the connected chain's deployment, with the signing
// key as operator (it signs receipts, takes x402 `exact` payments and settles vouchers). Settings come from flags,
// then MODELSHARE_GATEWAY_* variables, then the config file's `gateway` section (see gateway/config.ts). Runs until
// SIGINT/SIGTERM, then drains requests in flight and flushes the ledger before exiting.
import path from "node:path";
import type { Command } from "commander";
import type { Hex } from "viem";
import { HARDHAT_DEFAULT_KEY, LOCAL_CHAIN_IDS } from "../../../deploy/deploy-to-chain.ts";
import { GatewayConfigError, resolveGatewaySettings } from "../../../gateway/config.ts";
import { action } from "../action.ts";
import { connectChain, loadProtocol } from "../context.ts";
import { readKeystore } from "../keystore.ts";
import { CliError, EXIT } from "../output.ts";
import { openStorage } from "../store.ts";

interface Options {
  host?: string;
  port?: string;
  ledger?: string;
  models?: string;
  publicUrl?: string;
  noSettle?: boolean;
  settle?: boolean;
}

export function register(program: Command) {
  program
    .command("gateway")
    .description("serve paid inference for the registry's models (x402: vouchers and exact)")
    .option("--host <host>", "interface to listen on (default 127.0.0.1) [env MODELSHARE_GATEWAY_HOST]")
    .option("--port <port>", "port to listen on (default 8402; 0 picks a free one) [env MODELSHARE_GATEWAY_PORT]")
    .option("--ledger <url>", "voucher ledger: sqlite:<file> (default sqlite:.modelshare/ledger.sqlite) or postgres://… [env MODELSHARE_LEDGER]")
    .option("--models <ids>", 'models to serve: "all" (default) or a comma-separated list of ids [env MODELSHARE_GATEWAY_MODELS]')
    .option("--public-url <url>", "the URL clients reach this gateway at, when behind a proxy [env MODELSHARE_GATEWAY_PUBLIC_URL]")
    .option("--no-settle", "do not run the settlement worker (another process settles)")
    .action(
      action<Options, []>(async ({ opts, config, out, raw }) => {
        const fileSection = { ...config.gateway };
        // Relative ledger paths in the config file are relative to the file, like every other path there.
        if (typeof fileSection.ledger === "string" && /^sqlite:(?!\/)/.test(fileSection.ledger)) {
          fileSection.ledger = `sqlite:${path.resolve(config.configDir, fileSection.ledger.slice("sqlite:".length))}`;
        }
        let settings;
        try {
          settings = resolveGatewaySettings(config.gateway === undefined ? undefined : fileSection, process.env, {
            host: opts.host,
            port: opts.port === undefined ? undefined : Number(opts.port),
            ledger: opts.ledger,
            models: opts.models === undefined ? undefined : opts.models === "all" ? "all" : opts.models.split(",").map((id) => Number(id.trim())),
            publicUrl: opts.publicUrl,
          });
        } catch (error) {
          if (error instanceof GatewayConfigError) throw new CliError(error.message);
          throw error;
        }

        const ctx = await loadProtocol(await connectChain(config, out, raw));
        let operatorKey: Hex;
        if (config.privateKey) operatorKey = config.privateKey;
        else if (config.keystore) operatorKey = await readKeystore(config.keystore, config.keystorePassword);
        else if (LOCAL_CHAIN_IDS.has(ctx.chainId)) {
          out.note("no key configured: the operator is Hardhat's first default account (local chain only)");
          operatorKey = HARDHAT_DEFAULT_KEY;
        } else throw new CliError(`no operator key for chain ${ctx.chainId}: set --private-key, MODELSHARE_PRIVATE_KEY or --keystore`);

        const { startGateway } = await import("../../../gateway/server.ts");
        let gateway;
        try {
          gateway = await startGateway({
            settings,
            publicClient: ctx.publicClient,
            operatorKey,
            deployment: ctx.deployment,
            storage: await openStorage(config),
            settle: opts.settle !== false,
          });
        } catch (error) {
          throw new CliError(`the gateway could not start: ${(error as Error).message}`, EXIT.environment);
        }
        out.result({ url: gateway.url, operator: gateway.operator, chainId: ctx.chainId, ledger: gateway.ledger.kind }, [
          `gateway listening on ${gateway.url}`,
          `  operator ${gateway.operator} on chain ${ctx.chainId}, ledger ${gateway.ledger.kind}`,
          `  try: curl -i -X POST ${gateway.url}/v1/models/1/infer -H 'content-type: application/json' -d '{"inputs":{…}}'`,
        ]);

        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off("SIGINT", stop);
            process.off("SIGTERM", stop);
            out.note("shutting down: finishing calls in flight…");
            void gateway.close().then(resolve);
          };
          process.on("SIGINT", stop);
          process.on("SIGTERM", stop);
        });
      }),
    );
}
