// `modelshare dev` (what `npm start` runs): the whole system on this machine with no configuration — a local chain
// with the protocol deployed, two sample models minted, the gateway, the embedded subgraph host, sample traffic paid
// with vouchers and x402 `exact` and then settled — and prints the holders' table from the subgraph, the URLs, and
// commands to try. Serves until Ctrl-C; `--once` stops after the table.
import path from "node:path";
import type { Command } from "commander";
import { formatUnits } from "viem";
import { digitInput } from "../../samples/digits.ts";
import type { DevStack } from "../../dev/stack.ts";
import { action } from "../action.ts";
import { CliError, EXIT } from "../output.ts";

interface Options {
  once?: boolean;
  dataDir?: string;
  chainPort?: string;
  gatewayPort?: string;
  graphqlPort?: string;
  calls?: string;
  exactCalls?: string;
  logLevel?: string;
}

function integer(text: string | undefined, flag: string, fallback: number, max = 65535): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new CliError(`${flag} must be an integer from 0 to ${max}, got "${text}"`);
  return n;
}

function percent(shares: bigint, total: bigint): string {
  return `${Number((shares * 10_000n) / total) / 100}%`;
}

/** Copy-paste commands against this stack. */
function examples(stack: DevStack): string[] {
  const model = stack.models[0]!;
  const pixels = JSON.stringify({ [model.inputName]: { dims: [1, 35], data: digitInput(7) } });
  const holder = stack.accounts.contributorA.address.toLowerCase();
  const query = `{ account(id: \\"${holder}\\") { shares { model { id paidCalls } balance claimed } } }`;
  // The CLI finds ./.modelshare/config.json by itself; a data folder elsewhere has to be named.
  const config = path.join(stack.dataDir, "config.json");
  const useConfig = stack.dataDir === path.resolve(".modelshare") ? "" : `MODELSHARE_CONFIG=${config} `;
  return [
    "Try it:",
    "  # a call without payment: HTTP 402, and the x402 payment options in the PAYMENT-REQUIRED header",
    `  curl -i -X POST ${stack.gatewayUrl}/v1/models/${model.modelId}/infer -H 'content-type: application/json' \\`,
    `       -d '{"inputs":${pixels}}'`,
    "  # a paid call from the CLI, with vouchers from the agent's escrow",
    `  ${useConfig}MODELSHARE_PRIVATE_KEY=${stack.accounts.agent.key} npx modelshare infer ${model.modelId} --gateway ${stack.gatewayUrl} --data '${pixels}'`,
    "  # what a holder earned, from the subgraph",
    `  curl -s ${stack.graphqlEndpoint} -H 'content-type: application/json' -d '{"query":"${query}"}'`,
  ];
}

export function register(program: Command) {
  program
    .command("dev")
    .description("run everything locally: chain, protocol, sample models, gateway, subgraph, paying clients (npm start)")
    .option("--once", "stop after printing the holders' table (for scripts and tests)")
    .option("--data-dir <dir>", "where everything is written (default .modelshare; a previous run's chain data is replaced)")
    .option("--chain-port <port>", "local chain RPC port (default 8545; 0 picks a free one)")
    .option("--gateway-port <port>", "gateway port (default 8402; 0 picks a free one)")
    .option("--graphql-port <port>", "GraphQL port (default 8000; 0 picks a free one)")
    .option("--calls <n>", "voucher-paid sample calls (default 300)")
    .option("--exact-calls <n>", "x402 exact sample calls (default 6)")
    .option("--log-level <level>", "components' logs on stderr: fatal, error, warn (default), info, debug")
    .action(
      action<Options, []>(async ({ opts, out }) => {
        const started = performance.now();
        const { startDevStack } = await import("../../dev/stack.ts");
        const { formatHoldersTable, holdersTable } = await import("../../dev/report.ts");
        let stack: DevStack;
        try {
          stack = await startDevStack({
            dataDir: opts.dataDir,
            chainPort: integer(opts.chainPort, "--chain-port", 8545),
            gatewayPort: integer(opts.gatewayPort, "--gateway-port", 8402),
            graphqlPort: integer(opts.graphqlPort, "--graphql-port", 8000),
            voucherCalls: integer(opts.calls, "--calls", 300, 1_000_000),
            exactCalls: integer(opts.exactCalls, "--exact-calls", 6, 10_000),
            logLevel: opts.logLevel,
            progress: (line) => out.note(line),
          });
        } catch (error) {
          throw new CliError(`the local stack could not start: ${(error as Error).message}`, EXIT.environment);
        }
        const decimals = stack.deployment.stablecoin.decimals;
        const usdc = (units: bigint) => formatUnits(units, decimals);
        const holders = [stack.accounts.creator, stack.accounts.contributorA, stack.accounts.contributorB, stack.accounts.derivativeCreator];
        const rows = await holdersTable(stack.graphqlEndpoint, holders, stack.models);
        const seconds = (performance.now() - started) / 1000;
        const calls = stack.traffic.models.reduce((n, m) => n + m.voucherCalls + m.exactCalls, 0);
        const correct = stack.traffic.models.reduce((n, m) => n + m.correct, 0);

        out.result(
          {
            chainId: stack.chainId,
            rpcUrl: stack.rpcUrl,
            gatewayUrl: stack.gatewayUrl,
            graphqlEndpoint: stack.graphqlEndpoint,
            dataDir: stack.dataDir,
            deployment: stack.deployment,
            models: stack.models.map((m) => ({
              modelId: m.modelId.toString(),
              name: m.name,
              shareToken: m.shares,
              price: m.price.toString(),
              parent: m.parent ? { modelId: m.parent.modelId.toString(), bps: m.parent.bps } : null,
              holders: m.holders.map((h) => ({ holder: h.account.label, address: h.account.address, shares: h.shares.toString() })),
              accuracy: m.accuracy,
            })),
            traffic: stack.traffic,
            holders: rows,
            accounts: stack.accounts,
            seconds: Number(seconds.toFixed(1)),
          },
          [
            `Modelshare is running locally (chain ${stack.chainId}), ready in ${seconds.toFixed(1)} s`,
            "",
            `  chain RPC    ${stack.rpcUrl}`,
            `  gateway      ${stack.gatewayUrl}   (GET /v1/models)`,
            `  GraphQL      ${stack.graphqlEndpoint}`,
            `  data folder  ${stack.dataDir}`,
            "",
            "Models",
            ...stack.models.map(
              (m) =>
                `  #${m.modelId} ${m.name}: ${usdc(m.price)} USDC a call, shares ${m.holders.map((h) => `${h.account.label} ${percent(h.shares, m.holders.reduce((t, x) => t + x.shares, 0n))}`).join(", ")}` +
                (m.parent ? `; pays ${m.parent.bps / 100}% to its parent #${m.parent.modelId}` : ""),
            ),
            "",
            `Sample traffic: ${stack.traffic.models.reduce((n, m) => n + m.voucherCalls, 0)} calls paid with vouchers (an agent's session key), ` +
              `${stack.traffic.models.reduce((n, m) => n + m.exactCalls, 0)} with x402 exact (@x402/fetch); ${correct} of ${calls} noisy digits read right; ` +
              `${stack.traffic.receiptsVerified} receipts checked; everything settled on-chain.`,
            "",
            "Holders (from the subgraph)",
            formatHoldersTable(rows, decimals),
            "",
            ...examples(stack),
            "",
            opts.once ? "Stopping (--once)." : "Serving until Ctrl-C.",
          ],
        );

        if (!opts.once) {
          await new Promise<void>((resolve) => {
            const stop = () => {
              process.off("SIGINT", stop);
              process.off("SIGTERM", stop);
              resolve();
            };
            process.on("SIGINT", stop);
            process.on("SIGTERM", stop);
          });
          out.note("shutting down…");
        }
        await stack.close();
      }),
    );
}
