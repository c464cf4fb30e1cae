// `modelshare balance`: what an account has in the protocol — wallet, escrow, pending withdrawal, royalties per
// model, fees. Read-only: works for any address with --address, no key needed.
import type { Command } from "commander";
import { formatEther, getAddress, isAddress, type Address } from "viem";
import { action } from "../action.ts";
import { chainTime, connectChain, loadProtocol, resolveAccount } from "../context.ts";
import { holdingsOf } from "../model-info.ts";
import { CliError } from "../output.ts";
import { formatShares } from "../parse.ts";
import { describeUnlock } from "../time.ts";

interface Options {
  address?: string;
}

export function register(program: Command) {
  program
    .command("balance")
    .description("stablecoin, escrow, pending withdrawal, claimable royalties per model and fees")
    .option("--address <address>", "another account (default: yours)")
    .action(
      action<Options, []>(async ({ opts, config, out, raw }) => {
        if (opts.address !== undefined && !isAddress(opts.address, { strict: false })) throw new CliError(`--address is not an address: ${opts.address}`);
        const ctx = await loadProtocol(await connectChain(config, out, raw));
        const who: Address = opts.address ? getAddress(opts.address) : (await resolveAccount(ctx)).address;
        const [eth, wallet, symbol, [escrow, pending, unlockAt], fees, holdings, now] = await Promise.all([
          ctx.publicClient.getBalance({ address: who }),
          ctx.ms.stablecoin.read.balanceOf([who]),
          ctx.ms.stablecoin.read.symbol(),
          ctx.ms.vault.read.escrowOf([who]),
          ctx.ms.vault.read.feesOf([who]),
          holdingsOf(ctx, who),
          chainTime(ctx),
        ]);
        const claimable = holdings.reduce((sum, h) => sum + h.claimable, 0n);
        const shares = (n: bigint) => (raw ? n.toString() : formatShares(n));
        const data = {
          account: who,
          chainId: ctx.chainId,
          symbol,
          eth: formatEther(eth),
          stablecoin: ctx.format(wallet),
          escrow: ctx.format(escrow),
          pendingWithdrawal: ctx.format(pending),
          unlockAt: pending > 0n ? Number(unlockAt) : null,
          claimable: ctx.format(claimable),
          fees: ctx.format(fees),
          models: holdings.map((h) => ({
            modelId: h.modelId.toString(),
            shareToken: h.shareToken,
            shares: shares(h.shares),
            claimable: ctx.format(h.claimable),
          })),
        };
        out.result(data, [
          `account ${who} on chain ${ctx.chainId}`,
          `  ETH (gas)           ${data.eth}`,
          `  ${symbol.padEnd(18)}  ${data.stablecoin}`,
          `  escrow              ${data.escrow}`,
          `  pending withdrawal  ${data.pendingWithdrawal}${pending > 0n ? `, unlocks ${describeUnlock(unlockAt, now)}` : ""}`,
          `  claimable royalties ${data.claimable}`,
          ...data.models.map((m) => `    #${m.modelId.padEnd(5)} ${m.claimable} (${m.shares} shares)`),
          `  fees                ${data.fees}`,
        ]);
      }),
    );
}
