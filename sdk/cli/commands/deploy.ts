// `modelshare deploy`: deploys the protocol with the project's deploy code and writes the deployment file.
import type { Command } from "commander";
import { isAddress, type Address, type Hex } from "viem";
import { deployToChain } from "../../../deploy/deploy-to-chain.ts";
import { action } from "../action.ts";
import { parseBps } from "../parse.ts";
import { connectChain } from "../context.ts";
import { readKeystore } from "../keystore.ts";
import { CliError, EXIT } from "../output.ts";

interface Options {
  force?: boolean;
  stablecoin?: string;
  treasury?: string;
  protocolFee?: string;
  withdrawalDelay?: string;
}

function address(value: string | undefined, what: string): Address | undefined {
  if (value === undefined) return undefined;
  if (!isAddress(value, { strict: false })) throw new CliError(`${what} is not an address: ${value}`);
  return value as Address;
}

export function register(program: Command) {
  program
    .command("deploy")
    .description("deploy the protocol to the chain and write deployments/<chainId>.json")
    .option("--force", "replace a deployment that is live on this chain")
    .option("--stablecoin <address>", "the chain's USDC (default on local chains: deploy a test stablecoin)")
    .option("--treasury <address>", "protocol fee recipient (default: the deployer)")
    .option("--protocol-fee <bps>", "protocol fee in bps (default 100)")
    .option("--withdrawal-delay <seconds>", "escrow withdrawal delay (default 3600)")
    .action(
      action<Options, []>(async ({ opts, config, out }) => {
        const stablecoin = address(opts.stablecoin, "--stablecoin");
        const treasury = address(opts.treasury, "--treasury");
        const protocolFeeBps = opts.protocolFee === undefined ? undefined : parseBps(opts.protocolFee, "--protocol-fee", 1_000);
        if (opts.withdrawalDelay !== undefined && !/^\d+$/.test(opts.withdrawalDelay)) {
          throw new CliError(`--withdrawal-delay must be a number of seconds, got "${opts.withdrawalDelay}"`);
        }
        // Checked here first so an unreachable endpoint or a wrong chain gets the same message as other commands.
        await connectChain(config, out);
        const privateKey: Hex | undefined = config.privateKey ?? (config.keystore ? await readKeystore(config.keystore, config.keystorePassword) : undefined);
        let result;
        try {
          result = await deployToChain({
            rpcUrl: config.rpcUrl,
            privateKey,
            stablecoin,
            treasury,
            protocolFeeBps,
            withdrawalDelay: opts.withdrawalDelay === undefined ? undefined : BigInt(opts.withdrawalDelay),
            deploymentsDir: config.deploymentsDir,
            force: opts.force === true,
            onStep: (step) => out.note(step),
          });
        } catch (error) {
          throw new CliError((error as Error).message, EXIT.environment);
        }
        const { deployment, file } = result;
        out.result({ ...deployment, file }, [
          `deployed to chain ${deployment.chainId}`,
          `  registry    ${deployment.contracts.registry}`,
          `  vault       ${deployment.contracts.vault}`,
          `  stablecoin  ${deployment.stablecoin.address}${deployment.stablecoin.test ? " (test token)" : ""}`,
          `wrote ${file}`,
        ]);
      }),
    );
}
