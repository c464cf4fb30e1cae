// `modelshare withdraw request|execute|cancel|status`: escrow withdrawals are delayed so operators can settle the
// vouchers they already served; each subcommand shows when the request unlocks on the chain's clock.
import type { Command } from "commander";
import { vaultAbi } from "../../contracts.ts";
import { action } from "../action.ts";
import { chainTime, connectChain, execute, loadProtocol, resolveAccount, withWallet, type ProtocolContext } from "../context.ts";
import { CliError, EXIT } from "../output.ts";
import { describeUnlock } from "../time.ts";
import type { Address } from "viem";

async function status(ctx: ProtocolContext, who: Address) {
  const [[balance, pending, unlockAt], now, delay] = await Promise.all([
    ctx.ms.vault.read.escrowOf([who]),
    chainTime(ctx),
    ctx.ms.vault.read.withdrawalDelay(),
  ]);
  return { balance, pending, unlockAt, now, delay };
}

function fields(ctx: ProtocolContext, who: Address, s: Awaited<ReturnType<typeof status>>) {
  return {
    account: who,
    escrow: ctx.format(s.balance),
    pendingWithdrawal: ctx.format(s.pending),
    unlockAt: s.pending > 0n ? Number(s.unlockAt) : null,
    unlockAtIso: s.pending > 0n ? new Date(Number(s.unlockAt) * 1000).toISOString() : null,
    unlocked: s.pending > 0n && s.unlockAt <= s.now,
    withdrawalDelay: Number(s.delay),
  };
}

export function register(program: Command) {
  const withdraw = program.command("withdraw").description("request, execute or cancel a delayed escrow withdrawal");

  withdraw
    .command("status", { isDefault: true })
    .description("show the escrow and any pending withdrawal")
    .action(
      action<object, []>(async ({ config, out, raw }) => {
        const ctx = await loadProtocol(await connectChain(config, out, raw));
        const who = (await resolveAccount(ctx)).address;
        const s = await status(ctx, who);
        out.result(
          fields(ctx, who, s),
          s.pending > 0n
            ? `escrow ${ctx.format(s.balance)}; withdrawal of ${ctx.format(s.pending)} unlocks ${describeUnlock(s.unlockAt, s.now)}`
            : `escrow ${ctx.format(s.balance)}; no pending withdrawal`,
        );
      }),
    );

  withdraw
    .command("request")
    .description("ask to withdraw an amount from escrow (replaces any earlier request and restarts the delay)")
    .argument("<amount>", "stablecoin amount")
    .action(
      action<object, [string]>(async ({ config, out, raw }, amountText) => {
        const ctx = await withWallet(await loadProtocol(await connectChain(config, out, raw)));
        const amount = ctx.amount(amountText, "withdrawal amount");
        if (amount === 0n) throw new CliError("withdrawal amount must be above zero");
        const before = await status(ctx, ctx.account.address);
        if (amount > before.balance) {
          throw new CliError(`escrow holds ${ctx.format(before.balance)}; cannot withdraw ${ctx.format(amount)}`, EXIT.rejected);
        }
        if (before.pending > 0n) out.note(`replacing the pending request of ${ctx.format(before.pending)}; the delay starts again`);
        const { hash, receipt } = await execute(
          ctx,
          { address: ctx.deployment.contracts.vault, abi: vaultAbi, functionName: "requestWithdrawal", args: [amount] },
          "request withdrawal",
        );
        const after = await status(ctx, ctx.account.address);
        out.result(
          { ...fields(ctx, ctx.account.address, after), txHash: hash, gasUsed: receipt.gasUsed },
          `requested withdrawal of ${ctx.format(amount)}; unlocks ${describeUnlock(after.unlockAt, after.now)} — then run \`modelshare withdraw execute\` (tx ${hash})`,
        );
      }),
    );

  withdraw
    .command("execute")
    .description("withdraw the requested amount once the delay has passed")
    .action(
      action<object, []>(async ({ config, out, raw }) => {
        const ctx = await withWallet(await loadProtocol(await connectChain(config, out, raw)));
        const s = await status(ctx, ctx.account.address);
        if (s.pending === 0n) throw new CliError("no withdrawal request: run `modelshare withdraw request <amount>` first", EXIT.rejected);
        // The next block's timestamp is at least now + 1 on Hardhat; on other chains, wait for the block clock.
        if (s.unlockAt > s.now) throw new CliError(`the withdrawal is locked until ${describeUnlock(s.unlockAt, s.now)}`, EXIT.rejected);
        const { hash, receipt, result } = await execute(
          ctx,
          { address: ctx.deployment.contracts.vault, abi: vaultAbi, functionName: "withdraw", args: [] },
          "withdraw",
        );
        const amount = result as bigint;
        const after = await status(ctx, ctx.account.address);
        out.result(
          { ...fields(ctx, ctx.account.address, after), withdrawn: ctx.format(amount), withdrawnUnits: amount.toString(), txHash: hash, gasUsed: receipt.gasUsed },
          `withdrew ${ctx.format(amount)}; escrow now ${ctx.format(after.balance)} (tx ${hash}, gas ${receipt.gasUsed})`,
        );
      }),
    );

  withdraw
    .command("cancel")
    .description("cancel the pending withdrawal request")
    .action(
      action<object, []>(async ({ config, out, raw }) => {
        const ctx = await withWallet(await loadProtocol(await connectChain(config, out, raw)));
        const s = await status(ctx, ctx.account.address);
        if (s.pending === 0n) throw new CliError("no withdrawal request to cancel", EXIT.rejected);
        const { hash, receipt } = await execute(
          ctx,
          { address: ctx.deployment.contracts.vault, abi: vaultAbi, functionName: "cancelWithdrawal", args: [] },
          "cancel withdrawal",
        );
        const after = await status(ctx, ctx.account.address);
        out.result(
          { ...fields(ctx, ctx.account.address, after), cancelled: ctx.format(s.pending), txHash: hash, gasUsed: receipt.gasUsed },
          `cancelled the withdrawal of ${ctx.format(s.pending)} (tx ${hash})`,
        );
      }),
    );
}
