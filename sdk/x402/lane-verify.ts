// Checks a lane state a gateway offers in a corrective 402 before the client adopts it. The client will sign its
// next voucher on top of that state, so it must be a state the payer really agreed to: a voucher signed by the payer
// or one of its session keys (EIP-712, the vault's own digest) — or, for a state without a signature, exactly what
// the vault's tab has settled. Anything else would let a gateway make the payer sign for calls it never made.
import { isAddressEqual, recoverTypedDataAddress, type Address, type PublicClient } from "viem";
import { vaultAbi } from "../contracts.ts";
import { VOUCHER_TYPES, voucherDomain, type Voucher } from "../vouchers.ts";
import { VoucherResyncError } from "./errors.ts";
import type { LaneState } from "./voucher-scheme.ts";

export interface LaneCheckContext {
  chainId: number;
  vault: Address;
  payer: Address;
  operator: Address;
  modelId: bigint;
  /** Keys whose signature is accepted without asking the chain: the payer and the key this client signs with. */
  knownSigners: readonly Address[];
  /** Reads the vault: tabs (for unsigned states) and the payer's other session keys. */
  publicClient: PublicClient | undefined;
}

export async function checkOfferedLane(state: LaneState, ctx: LaneCheckContext): Promise<void> {
  const where = `lane ${state.lane} of model ${ctx.modelId} with operator ${ctx.operator}`;
  if (state.signature) {
    const voucher: Voucher = {
      payer: ctx.payer,
      operator: ctx.operator,
      modelId: ctx.modelId,
      lane: state.lane,
      cumulativeAmount: BigInt(state.cumulativeAmount),
      cumulativeCalls: BigInt(state.cumulativeCalls),
      expiry: BigInt(state.expiry),
    };
    let signer: Address;
    try {
      signer = await recoverTypedDataAddress({
        domain: voucherDomain(ctx.chainId, ctx.vault),
        types: VOUCHER_TYPES,
        primaryType: "Voucher",
        message: voucher,
        signature: state.signature,
      });
    } catch {
      throw new VoucherResyncError(`the gateway's state of ${where} carries a malformed signature`);
    }
    if (ctx.knownSigners.some((known) => isAddressEqual(known, signer))) return;
    if (ctx.publicClient) {
      const [, , expiry] = await readChain(ctx, () =>
        ctx.publicClient!.readContract({ address: ctx.vault, abi: vaultAbi, functionName: "sessionOf", args: [ctx.payer, signer] }),
      );
      if (expiry !== 0n) return;
    }
    throw new VoucherResyncError(
      `the gateway's state of ${where} (${state.cumulativeAmount} after ${state.cumulativeCalls} calls) is signed by ${signer}, ` +
        `which is neither the payer ${ctx.payer} nor one of its session keys`,
    );
  }
  if (!ctx.publicClient) {
    throw new VoucherResyncError(`the gateway's state of ${where} is unsigned and cannot be checked against the vault without an RPC client (publicClient)`);
  }
  const [settledAmount, settledCalls] = await readChain(ctx, () =>
    ctx.publicClient!.readContract({ address: ctx.vault, abi: vaultAbi, functionName: "tabOf", args: [ctx.payer, ctx.operator, ctx.modelId, state.lane] }),
  );
  if (settledAmount !== BigInt(state.cumulativeAmount) || BigInt(settledCalls) !== BigInt(state.cumulativeCalls)) {
    throw new VoucherResyncError(
      `the gateway says ${where} is at ${state.cumulativeAmount} after ${state.cumulativeCalls} calls without a signature, ` +
        `but the vault has settled ${settledAmount} after ${settledCalls} calls`,
    );
  }
}

async function readChain<T>(ctx: LaneCheckContext, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new VoucherResyncError(`cannot check the gateway's lane state against the vault ${ctx.vault}: ${(error as Error).message.split("\n")[0]}`);
  }
}
