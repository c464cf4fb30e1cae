// `modelshare claim [ids…]`: pulls the royalties of the given models (default: every model the account has
// royalties in) in one transaction; `--fees` also claims operator/treasury fees.
import type { Command } from "commander";
import { vaultAbi } from "../../contracts.ts";
import { action } from "../action.ts";
import { connectChain, execute, loadProtocol, withWallet } from "../context.ts";
import { holdingsOf } from "../model-info.ts";
import { parseModelId } from "../parse.ts";

interface Options {
  fees?: boolean;
}

export function register(program: Command) {
  program
    .command("claim")
    .description("claim royalties (default: from every model you hold shares of)")
    .argument("[ids...]", "model ids")
    .option("--fees", "also claim operator / treasury fees")
    .action(
      action<Options, [string[]]>(async ({ opts, config, out, raw }, idTexts) => {
        const ids = idTexts.length ? [...new Set(idTexts.map((t) => parseModelId(t)))] : undefined;
        const ctx = await withWallet(await loadProtocol(await connectChain(config, out, raw)));
        const me = ctx.account.address;
        const claimable = (await holdingsOf(ctx, me, ids)).filter((h) => h.claimable > 0n);
        const fees = opts.fees ? await ctx.ms.vault.read.feesOf([me]) : 0n;
        const vault = ctx.deployment.contracts.vault;

        const royalties = claimable.length
          ? await execute(ctx, { address: vault, abi: vaultAbi, functionName: "claim", args: [claimable.map((h) => h.modelId)] }, "claim")
          : undefined;
        const feeTx = fees > 0n ? await execute(ctx, { address: vault, abi: vaultAbi, functionName: "claimFees", args: [] }, "claim fees") : undefined;

        const total = claimable.reduce((sum, h) => sum + h.claimable, 0n);
        const data = {
          account: me,
          claimed: ctx.format(total),
          claimedUnits: total.toString(),
          models: claimable.map((h) => ({ modelId: h.modelId.toString(), amount: ctx.format(h.claimable) })),
          txHash: royalties?.hash ?? null,
          gasUsed: royalties?.receipt.gasUsed ?? null,
          ...(opts.fees ? { fees: ctx.format(fees), feesTxHash: feeTx?.hash ?? null, feesGasUsed: feeTx?.receipt.gasUsed ?? null } : {}),
        };
        const lines: string[] = [];
        if (royalties) {
          lines.push(`claimed ${data.claimed} from ${claimable.length} model(s) (tx ${royalties.hash}, gas ${royalties.receipt.gasUsed})`);
          lines.push(...data.models.map((m) => `  #${m.modelId}  ${m.amount}`));
        } else lines.push(ids ? `nothing to claim from model(s) ${ids.map((i) => `#${i}`).join(", ")}` : "nothing to claim");
        if (opts.fees) lines.push(feeTx ? `claimed fees ${data.fees} (tx ${feeTx.hash})` : "no fees to claim");
        out.result(data, lines);
      }),
    );
}
