// Submits x402 `exact` payments through the vault, batching the ones that arrive together into one payExactBatch
// (one transaction, one wait for many calls). A batch the chain would refuse (one bad authorization reverts it all)
// is split and each payment submitted alone, so one payer's failure never fails another's.
import { encodeFunctionData, type Address, type Hex, type PublicClient } from "viem";
import { vaultAbi } from "../../sdk/contracts.ts";
import { describeError } from "../../sdk/errors.ts";
import type { OperatorSender } from "../chain/sender.ts";
import type { ExactPayment, ExactSubmitter } from "./exact-payments.ts";

interface Pending {
  payment: ExactPayment;
  resolve: (value: { transaction: Hex }) => void;
  reject: (error: Error) => void;
}

export function createExactSubmitter(options: {
  client: PublicClient;
  sender: OperatorSender;
  vault: Address;
  windowMs: number;
  maxBatch: number;
}): ExactSubmitter {
  const { client, sender, vault } = options;
  const queue: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;

  async function mined(hash: Hex): Promise<void> {
    const receipt = await client.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
  }

  async function submitAlone(p: Pending): Promise<void> {
    try {
      const hash = await sender.send({ to: vault, data: encodeFunctionData({ abi: vaultAbi, functionName: "payExact", args: [p.payment] }) });
      await mined(hash);
      p.resolve({ transaction: hash });
    } catch (error) {
      p.reject(new Error(describeError(error)));
    }
  }

  async function flush(): Promise<void> {
    clearTimeout(timer);
    timer = undefined;
    const batch = queue.splice(0, options.maxBatch);
    if (queue.length) timer = setTimeout(flush, 0);
    if (batch.length === 0) return;
    if (batch.length === 1) return submitAlone(batch[0]!);
    let hash: Hex;
    try {
      hash = await sender.send({
        to: vault,
        data: encodeFunctionData({ abi: vaultAbi, functionName: "payExactBatch", args: [batch.map((p) => p.payment)] }),
      });
    } catch {
      // The batch would revert: some authorization in it is bad. Each goes alone; the good ones still pay.
      await Promise.all(batch.map(submitAlone));
      return;
    }
    try {
      await mined(hash);
      for (const p of batch) p.resolve({ transaction: hash });
    } catch (error) {
      for (const p of batch) p.reject(new Error(describeError(error)));
    }
  }

  return (payment) =>
    new Promise((resolve, reject) => {
      queue.push({ payment, resolve, reject });
      if (queue.length >= options.maxBatch) void flush();
      else timer ??= setTimeout(() => void flush(), options.windowMs);
    });
}
