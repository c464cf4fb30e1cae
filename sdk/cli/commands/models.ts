// `modelshare models`: every model on the registry, one line each.
import type { Command } from "commander";
import { getAddress, isAddress, isAddressEqual } from "viem";
import { action } from "../action.ts";
import { connectChain, loadProtocol } from "../context.ts";
import { CliError } from "../output.ts";

interface Options {
  owner?: string;
}

export function register(program: Command) {
  program
    .command("models")
    .description("list the registered models")
    .option("--owner <address>", "only models whose NFT this address owns")
    .action(
      action<Options, []>(async ({ opts, config, out, raw }) => {
        if (opts.owner !== undefined && !isAddress(opts.owner, { strict: false })) throw new CliError(`--owner is not an address: ${opts.owner}`);
        const ctx = await loadProtocol(await connectChain(config, out, raw));
        const next = await ctx.ms.registry.read.nextModelId();
        const ids = Array.from({ length: Number(next - 1n) }, (_, i) => BigInt(i + 1));
        const states = await Promise.all(ids.map((id) => ctx.ms.registry.read.modelOf([id])));
        const models = ids
          .map((id, i) => {
            const m = states[i]!;
            return {
              modelId: id.toString(),
              owner: m.owner,
              shareToken: m.shares,
              price: ctx.format(m.pricePerCall),
              priceUnits: m.pricePerCall.toString(),
              operatorFeeBps: m.operatorFeeBps,
              upstreamBps: m.upstreamBps,
              latestVersion: m.latestVersion,
              paused: m.paused,
            };
          })
          .filter((m) => opts.owner === undefined || isAddressEqual(m.owner, getAddress(opts.owner)));
        const unit = raw ? "units" : "";
        out.result(
          { chainId: ctx.chainId, count: models.length, models },
          models.length === 0
            ? "no models"
            : [
                "id    price/call      version  owner                                       share token",
                ...models.map(
                  (m) =>
                    `${`#${m.modelId}`.padEnd(5)} ${`${m.price}${unit}`.padEnd(15)} ${`v${m.latestVersion}`.padEnd(8)} ${m.owner}  ${m.shareToken}${m.paused ? "  (paused)" : ""}`,
                ),
              ],
        );
      }),
    );
}
