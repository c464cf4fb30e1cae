// Sends settlement transactions so that a nonce is never used twice: a nonce comes from the key's one nonce source,
// the transaction is signed locally, its raw bytes and nonce are recorded in the ledger, and only then broadcast. After a crash or an
// RPC outage, `finish` takes a recorded transaction to its end: its receipt if it was mined, `failed` if another
// transaction took its nonce, otherwise the *same* raw bytes broadcast again (which can never become a second
// transaction).
import {
  BaseError,
  encodeFunctionData,
  HttpRequestError,
  keccak256,
  TimeoutError,
  TransactionReceiptNotFoundError,
  WaitForTransactionReceiptTimeoutError,
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
  type TransactionReceipt,
} from "viem";
import { vaultAbi } from "../../sdk/contracts.ts";
import type { LaneRecord, Ledger, Submission } from "../ledger/types.ts";
import { signedVoucher } from "./batches.ts";
import type { Logger } from "./logger.ts";

/**
 * Hands out the operator key's nonces one at a time; a nonce is consumed only when `use` resolves. The gateway
 * passes the sender its `exact` payments also go through (gateway/chain/sender.ts), so the two never race.
 */
export interface NonceSource {
  withNonce<T>(use: (nonce: number) => Promise<T>): Promise<T>;
}

/** The worker's own nonce source when it has the key to itself (the `modelshare settle` command). */
export class AccountNonces implements NonceSource {
  readonly #client: PublicClient;
  readonly #address: Address;
  #next: number | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(client: PublicClient, address: Address) {
    this.#client = client;
    this.#address = address;
  }

  withNonce<T>(use: (nonce: number) => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      this.#next ??= await this.#client.getTransactionCount({ address: this.#address, blockTag: "pending" });
      try {
        const result = await use(this.#next);
        this.#next += 1;
        return result;
      } catch (error) {
        if (isNonceTaken(error)) this.#next = undefined;
        throw error;
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Re-reads the chain before the next nonce (call when none of our transactions is in flight). */
  resync(): void {
    this.#next = undefined;
  }
}

export interface SenderOptions {
  client: PublicClient;
  account: LocalAccount;
  vault: Address;
  ledger: Ledger;
  nonces: NonceSource;
  logger: Logger;
  /** How long to wait for a receipt before leaving the transaction for the next round. */
  receiptTimeoutMs: number;
  /** Gas limit = estimate × (1 + margin): state may move between estimate and inclusion. */
  gasMargin?: number;
}

/** How a recorded transaction ended (or did not, yet). */
export type Finished =
  | { state: "mined"; receipt: TransactionReceipt }
  | { state: "reverted"; receipt: TransactionReceipt }
  | { state: "replaced" }
  | { state: "pending" };

export class Sender {
  readonly #o: SenderOptions;
  #chainId: number | undefined;

  constructor(options: SenderOptions) {
    this.#o = options;
  }

  get address(): Address {
    return this.#o.account.address;
  }

  /** Estimates, signs, records (durably) and broadcasts one `settle` of `lanes`. */
  async send(lanes: readonly LaneRecord[]): Promise<Submission> {
    const { client, account, vault, ledger } = this.#o;
    const data = encodeFunctionData({ abi: vaultAbi, functionName: "settle", args: [lanes.map(signedVoucher)] });
    // A revert here (paused vault…) throws before anything is recorded or sent.
    const estimate = await client.estimateGas({ account: account.address, to: vault, data });
    const gas = estimate + (estimate * BigInt(Math.round((this.#o.gasMargin ?? 0.2) * 100))) / 100n;
    const fees = await client.estimateFeesPerGas();
    this.#chainId ??= await client.getChainId();
    const chainId = this.#chainId;
    let lost: unknown;
    const submission = await this.#o.nonces.withNonce(async (nonce) => {
      const raw = await account.signTransaction({
        type: "eip1559",
        chainId,
        to: vault,
        data,
        gas,
        nonce,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      });
      const submission: Submission = {
        hash: keccak256(raw),
        nonce,
        raw,
        lanes: lanes.map((l) => ({ payer: l.payer, operator: l.operator, modelId: l.modelId, lane: l.lane, cumulativeAmount: l.cumulativeAmount })),
        status: "sent",
        sentAt: Date.now(),
        from: account.address,
      };
      // Recorded before it can exist anywhere else: after a crash, the ledger knows every transaction we may have sent.
      await ledger.recordSubmission(submission);
      this.#o.logger.info({ hash: submission.hash, nonce, vouchers: lanes.length, gas: gas.toString() }, "settlement: sending batch");
      try {
        await this.#o.client.sendRawTransaction({ serializedTransaction: raw });
      } catch (error) {
        if (isNonceTaken(error)) {
          // A fresh transaction refused for its nonce can never be mined: drop it, and let the nonce source re-read.
          await ledger.updateSubmission(submission.hash, "failed");
          throw error;
        }
        // Recorded means the nonce is ours, whatever became of the broadcast: the next round finishes it.
        lost = error;
      }
      return submission;
    });
    if (lost !== undefined) {
      if (isTransportError(lost)) throw lost;
      this.#o.logger.warn({ hash: submission.hash, nonce: submission.nonce, error: describe(lost) }, "settlement: node refused the broadcast");
    }
    return submission;
  }

  /** Broadcasts the recorded raw transaction; a node that already has it (or already mined it) is not an error. */
  async broadcast(submission: Submission): Promise<void> {
    try {
      await this.#o.client.sendRawTransaction({ serializedTransaction: submission.raw });
    } catch (error) {
      if (isTransportError(error)) throw error;
      // "already known", "nonce too low", "replacement underpriced"…: the receipt or the nonce will tell what happened.
      this.#o.logger.debug({ hash: submission.hash, nonce: submission.nonce, error: describe(error) }, "settlement: node refused the broadcast");
    }
  }

  /** Waits for the receipt of a transaction we (may have) broadcast. */
  async wait(submission: Submission): Promise<Finished> {
    try {
      const receipt = await this.#o.client.waitForTransactionReceipt({ hash: submission.hash, timeout: this.#o.receiptTimeoutMs });
      return receipt.status === "success" ? { state: "mined", receipt } : { state: "reverted", receipt };
    } catch (error) {
      if (error instanceof WaitForTransactionReceiptTimeoutError) return this.finish(submission, false);
      throw error;
    }
  }

  /**
   * Takes a transaction recorded as `sent` (maybe by a process that died) to its end: mined, reverted, replaced (its
   * nonce was used by another transaction), or — when it is nowhere — broadcast again, byte for byte, and awaited.
   */
  async finish(submission: Submission, rebroadcast = true): Promise<Finished> {
    const found = await this.#receipt(submission.hash);
    if (found) return found;
    // Read the nonce first, then the receipt again: if the nonce is used and still no receipt of ours, it was not us.
    const used = await this.#o.client.getTransactionCount({ address: this.address, blockTag: "latest" });
    if (used > submission.nonce) {
      const late = await this.#receipt(submission.hash);
      if (late) return late;
      return { state: "replaced" };
    }
    if (!rebroadcast) return { state: "pending" };
    this.#o.logger.info({ hash: submission.hash, nonce: submission.nonce }, "settlement: broadcasting a recorded transaction again");
    await this.broadcast(submission);
    return this.wait(submission);
  }

  async #receipt(hash: Hex): Promise<Finished | undefined> {
    try {
      const receipt = await this.#o.client.getTransactionReceipt({ hash });
      return receipt.status === "success" ? { state: "mined", receipt } : { state: "reverted", receipt };
    } catch (error) {
      if (error instanceof TransactionReceiptNotFoundError) return undefined;
      throw error;
    }
  }
}

/** The node says another transaction already used this nonce. */
export function isNonceTaken(error: unknown): boolean {
  const text = error instanceof BaseError ? `${error.shortMessage} ${error.details ?? ""}` : String((error as Error)?.message ?? error);
  return /nonce too low|nonce has already been used|replacement transaction underpriced/i.test(text);
}

/** The RPC could not be reached or did not answer (as opposed to answering with an error). */
export function isTransportError(error: unknown): boolean {
  // A JSON-RPC error answer is an RpcRequestError; no answer at all (refused, reset, timed out) is one of these.
  return error instanceof BaseError && error.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError) != null;
}

export function describe(error: unknown): string {
  if (error instanceof BaseError) return error.shortMessage;
  return error instanceof Error ? error.message : String(error);
}
