// `modelshare deposit <amount>`: moves stablecoin into the account's vault escrow, which pays for inference calls.
// One transaction with an EIP-2612 permit when the stablecoin supports it (USDC does), else approve + deposit.
import type { Command } from "commander";
import { parseSignature, type LocalAccount } from "viem";
import { testStablecoinAbi, vaultAbi } from "../../contracts.ts";
import { action } from "../action.ts";
import { chainTime, connectChain, execute, loadProtocol, withWallet, type WalletContext } from "../context.ts";
import { CliError, EXIT } from "../output.ts";
import { PERMIT_TYPES } from "../../typed-data.ts";

export function register(program: Command) {
  program
    .command("deposit")
    .description("deposit stablecoin into your escrow (e.g. 10.5)")
    .argument("<amount>", "stablecoin amount")
    .action(
      action<object, [string]>(async ({ config, out, raw }, amountText) => {
        const ctx = await withWallet(await loadProtocol(await connectChain(config, out, raw)));
        const amount = ctx.amount(amountText, "deposit amount");
        if (amount === 0n) throw new CliError("deposit amount must be above zero");
        const me = ctx.account.address;
        const [held, allowance, symbol] = await Promise.all([
          ctx.ms.stablecoin.read.balanceOf([me]),
          ctx.ms.stablecoin.read.allowance([me, ctx.deployment.contracts.vault]),
          ctx.ms.stablecoin.read.symbol(),
        ]);
        if (held < amount) {
          throw new CliError(`account ${me} holds ${ctx.format(held)} ${symbol}; cannot deposit ${ctx.format(amount)}`, EXIT.environment);
        }
        const txs = allowance >= amount ? [await plainDeposit(ctx, amount)] : await depositWithApproval(ctx, amount);
        const [escrow] = await ctx.ms.vault.read.escrowOf([me]);
        const last = txs[txs.length - 1]!;
        out.result(
          {
            account: me,
            deposited: ctx.format(amount),
            depositedUnits: amount.toString(),
            escrow: ctx.format(escrow),
            method: txs.length === 2 ? "approve+deposit" : last.method,
            txHash: last.hash,
            gasUsed: txs.reduce((sum, t) => sum + t.receipt.gasUsed, 0n),
            transactions: txs.map((t) => ({ method: t.method, txHash: t.hash, gasUsed: t.receipt.gasUsed })),
          },
          `deposited ${ctx.format(amount)} ${symbol}; escrow now ${ctx.format(escrow)} ${symbol} (${txs.map((t) => `${t.method} ${t.hash} gas ${t.receipt.gasUsed}`).join(", ")})`,
        );
      }),
    );
}

async function plainDeposit(ctx: WalletContext, amount: bigint) {
  const r = await execute(ctx, { address: ctx.deployment.contracts.vault, abi: vaultAbi, functionName: "deposit", args: [amount] }, "deposit");
  return { method: "deposit", ...r };
}

async function depositWithApproval(ctx: WalletContext, amount: bigint) {
  const signature = await signPermit(ctx, amount);
  if (signature) {
    const { v, r, s, deadline } = signature;
    const tx = await execute(
      ctx,
      { address: ctx.deployment.contracts.vault, abi: vaultAbi, functionName: "depositWithPermit", args: [amount, deadline, Number(v), r, s] },
      "deposit",
    );
    return [{ method: "depositWithPermit", ...tx }];
  }
  const approve = await execute(
    ctx,
    { address: ctx.deployment.stablecoin.address, abi: testStablecoinAbi, functionName: "approve", args: [ctx.deployment.contracts.vault, amount] },
    "approve",
  );
  return [{ method: "approve", ...approve }, await plainDeposit(ctx, amount)];
}

/** An EIP-2612 permit for the vault, or undefined when the token does not publish its EIP-712 domain (ERC-5267). */
async function signPermit(ctx: WalletContext, amount: bigint) {
  const account = ctx.account as LocalAccount;
  if (typeof account.signTypedData !== "function") return undefined;
  let domain;
  try {
    const [, name, version, chainId, verifyingContract] = await ctx.ms.stablecoin.read.eip712Domain();
    domain = { name, version, chainId, verifyingContract };
  } catch {
    return undefined;
  }
  const nonce = await ctx.ms.stablecoin.read.nonces([account.address]);
  const deadline = (await chainTime(ctx)) + 3_600n;
  const signature = await account.signTypedData({
    domain,
    types: PERMIT_TYPES,
    primaryType: "Permit",
    message: { owner: account.address, spender: ctx.deployment.contracts.vault, value: amount, nonce, deadline },
  });
  const { r, s, v, yParity } = parseSignature(signature);
  return { r, s, v: v ?? BigInt(yParity + 27), deadline };
}
