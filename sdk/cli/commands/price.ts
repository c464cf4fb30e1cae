// `modelshare price <id> <amount>`: sets the price per call (and optionally the operator fee) of a model you own.
import type { Command } from "commander";
import { isAddressEqual } from "viem";
import { modelRegistryAbi } from "../../contracts.ts";
import { action } from "../action.ts";
import { connectChain, execute, loadProtocol, withWallet } from "../context.ts";
import { requireModel } from "../model-info.ts";
import { CliError, EXIT } from "../output.ts";
import { LIMITS, parseBps, parseModelId } from "../parse.ts";

interface Options {
  operatorFee?: string;
}

export function register(program: Command) {
  program
    .command("price")
    .description("set a model's price per call (stablecoin amount, e.g. 0.002)")
    .argument("<id>", "model id")
    .argument("<amount>", "new price per call")
    .option("--operator-fee <bps>", `also set the operator fee (0-${LIMITS.maxOperatorFeeBps} bps)`)
    .action(
      action<Options, [string, string]>(async ({ opts, config, out, raw }, idText, amountText) => {
        const modelId = parseModelId(idText);
        const fee = opts.operatorFee === undefined ? undefined : parseBps(opts.operatorFee, "--operator-fee", LIMITS.maxOperatorFeeBps);
        const ctx = await withWallet(await loadProtocol(await connectChain(config, out, raw)));
        const price = ctx.amount(amountText, "price");
        if (price === 0n || price > LIMITS.maxPrice) throw new CliError(`price must be above 0 and at most ${ctx.format(LIMITS.maxPrice)}`);
        const state = await requireModel(ctx, modelId);
        if (!isAddressEqual(state.owner, ctx.account.address)) {
          throw new CliError(`model #${modelId} is managed by its NFT owner ${state.owner}, not by ${ctx.account.address}`, EXIT.rejected);
        }
        const registry = ctx.deployment.contracts.registry;
        const { hash, receipt } = await execute(ctx, { address: registry, abi: modelRegistryAbi, functionName: "setPrice", args: [modelId, price] }, "set price");
        let feeTx;
        if (fee !== undefined) {
          feeTx = await execute(ctx, { address: registry, abi: modelRegistryAbi, functionName: "setOperatorFee", args: [modelId, fee] }, "set operator fee");
        }
        out.result(
          {
            modelId: modelId.toString(),
            price: ctx.format(price),
            priceUnits: price.toString(),
            previousPrice: ctx.format(state.pricePerCall),
            operatorFeeBps: fee ?? state.operatorFeeBps,
            txHash: hash,
            gasUsed: receipt.gasUsed,
            ...(feeTx ? { operatorFeeTxHash: feeTx.hash, operatorFeeGasUsed: feeTx.receipt.gasUsed } : {}),
          },
          [
            `model #${modelId}: price ${ctx.format(state.pricePerCall)} → ${ctx.format(price)} per call (tx ${hash}, gas ${receipt.gasUsed})`,
            ...(feeTx ? [`operator fee ${state.operatorFeeBps} → ${fee} bps (tx ${feeTx.hash}, gas ${feeTx.receipt.gasUsed})`] : []),
          ],
        );
      }),
    );
}
