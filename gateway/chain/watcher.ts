// Follows the vault's events so the request path's caches stay true without asking the chain per call: escrow
// changes refresh a payer, session-key changes drop cached sessions, and settlements of this operator's vouchers
// (by its own worker or anyone else) raise lane high-water marks. Its last successful poll also tells the request
// path whether the chain can currently be read, which decides when credit limits apply.
import type { Address, PublicClient } from "viem";
import { vaultAbi } from "../../sdk/contracts.ts";
import type { LaneBook } from "../payments/lanes.ts";
import type { PayerBook } from "../payments/payers.ts";

export interface WatcherOptions {
  client: PublicClient;
  vault: Address;
  operator: Address;
  payers: PayerBook;
  lanes: LaneBook;
  intervalMs: number;
  /** The chain counts as unreadable once no poll has succeeded for this long. */
  staleAfterMs: number;
  maxBlockRange?: bigint;
  onError?: (error: unknown) => void;
  now?: () => number;
}

const PAYER_EVENTS = new Set(["Deposited", "WithdrawalRequested", "WithdrawalCancelled", "Withdrawn"]);
const WATCHED = vaultAbi.filter(
  (item) =>
    item.type === "event" &&
    (PAYER_EVENTS.has(item.name) || ["VoucherSettled", "SessionSignerSet", "SessionSignerRevoked"].includes(item.name)),
);

export class ChainWatcher {
  readonly #o: WatcherOptions;
  readonly #now: () => number;
  #next: bigint | undefined;
  #lastSuccess = 0;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #stopped = false;

  constructor(options: WatcherOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Reads the chain head once (so `fresh()` is true from the start) and starts polling. */
  async start(): Promise<void> {
    try {
      this.#next = (await this.#o.client.getBlockNumber()) + 1n;
      this.#lastSuccess = this.#now();
    } catch (error) {
      this.#o.onError?.(error);
    }
    this.#schedule();
  }

  fresh(): boolean {
    return this.#now() - this.#lastSuccess < this.#o.staleAfterMs;
  }

  lastSuccess(): number {
    return this.#lastSuccess;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#polling;
  }

  /** One poll now (tests, and after the gateway sends a transaction it wants reflected quickly). */
  poll(): Promise<void> {
    this.#polling ??= this.#poll().finally(() => (this.#polling = undefined));
    return this.#polling;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.poll().finally(() => this.#schedule());
    }, this.#o.intervalMs);
    this.#timer.unref();
  }

  async #poll(): Promise<void> {
    const o = this.#o;
    try {
      const head = await o.client.getBlockNumber();
      const range = o.maxBlockRange ?? 2_000n;
      let from = this.#next ?? head + 1n;
      while (from <= head) {
        const to: bigint = head - from > range ? from + range : head;
        const logs = await o.client.getLogs({ address: o.vault, events: WATCHED, fromBlock: from, toBlock: to, strict: true });
        const dirty = new Set<Address>();
        for (const log of logs) {
          const args = log.args as Record<string, unknown>;
          if (PAYER_EVENTS.has(log.eventName)) dirty.add(args.payer as Address);
          else if (log.eventName === "VoucherSettled") {
            if ((args.operator as string).toLowerCase() !== o.operator.toLowerCase()) continue;
            o.lanes.settle(args.payer as Address, args.modelId as bigint, Number(args.lane), args.settledAmount as bigint, BigInt(args.settledCalls as bigint));
            dirty.add(args.payer as Address);
          } else o.payers.forgetSession(args.payer as Address, args.signer as Address);
        }
        await Promise.all([...dirty].map((payer) => o.payers.refresh(payer)));
        from = to + 1n;
        this.#next = from;
      }
      this.#next = from;
      this.#lastSuccess = this.#now();
    } catch (error) {
      o.onError?.(error);
    }
  }
}
