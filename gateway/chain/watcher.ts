// Follows the vault's events so the request path's caches stay true without asking the chain per call: escrow
// changes refresh a payer, session-key changes drop cached sessions, and settlements of this operator's vouchers
// (by its own worker or anyone else) raise lane high-water marks. Its last successful poll also tells the request
// path whether the chain can currently be read, which decides when credit limits apply. It reads the registry's
// term changes in the same eth_getLogs, so model prices and versions are fresh without a watch of their own.
import type { Address, PublicClient } from "viem";
import { modelRegistryAbi, vaultAbi } from "../../sdk/contracts.ts";
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
  /** The model registry, and what to tell when a model's terms change or a model is minted (modelId undefined). */
  registry?: { address: Address; changed(modelId: bigint | undefined): Promise<void> };
  onError?: (error: unknown) => void;
  now?: () => number;
}

const PAYER_EVENTS = new Set(["Deposited", "WithdrawalRequested", "WithdrawalCancelled", "Withdrawn"]);
const WATCHED = vaultAbi.filter(
  (item) =>
    item.type === "event" &&
    (PAYER_EVENTS.has(item.name) || ["VoucherSettled", "SessionSignerSet", "SessionSignerRevoked"].includes(item.name)),
);

const REGISTRY_EVENTS = new Set(["PriceChanged", "OperatorFeeChanged", "ModelPausedSet", "VersionPublished", "ModelMinted"]);
const REGISTRY_WATCHED = modelRegistryAbi.filter((item) => item.type === "event" && REGISTRY_EVENTS.has(item.name));

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
      this.#next = (await this.#o.client.getBlockNumber({ cacheTime: 0 })) + 1n;
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
      // viem caches the block number for the client's polling interval; a poll must see the head as it is now.
      const head = await o.client.getBlockNumber({ cacheTime: 0 });
      const range = o.maxBlockRange ?? 2_000n;
      let from = this.#next ?? head + 1n;
      while (from <= head) {
        const to: bigint = head - from > range ? from + range : head;
        const logs = await o.client.getLogs({
          address: o.registry ? [o.vault, o.registry.address] : o.vault,
          events: o.registry ? [...WATCHED, ...REGISTRY_WATCHED] : WATCHED,
          fromBlock: from,
          toBlock: to,
          strict: true,
        });
        const dirty = new Set<Address>();
        const reread: Promise<void>[] = [];
        for (const log of logs) {
          const args = log.args as Record<string, unknown>;
          if (o.registry && log.address.toLowerCase() === o.registry.address.toLowerCase()) {
            reread.push(o.registry.changed(log.eventName === "ModelMinted" ? undefined : (args.modelId as bigint)));
          } else if (log.address.toLowerCase() !== o.vault.toLowerCase()) continue;
          else if (PAYER_EVENTS.has(log.eventName)) dirty.add(args.payer as Address);
          else if (log.eventName === "VoucherSettled") {
            if ((args.operator as string).toLowerCase() !== o.operator.toLowerCase()) continue;
            o.lanes.settle(args.payer as Address, args.modelId as bigint, Number(args.lane), args.settledAmount as bigint, BigInt(args.settledCalls as bigint));
            dirty.add(args.payer as Address);
          } else o.payers.forgetSession(args.payer as Address, args.signer as Address);
        }
        // A poll ends once what it invalidated has been read again, so `await poll()` means "caught up".
        await Promise.all([...reread, ...[...dirty].map((payer) => o.payers.refresh(payer))]);
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
