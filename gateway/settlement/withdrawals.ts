// Which payers have a pending withdrawal: their vouchers are settled right away, before the delay runs out and the
// escrow leaves. A payer is read once with `escrowOf` the first time it owes something; from then on the vault's
// WithdrawalRequested / WithdrawalCancelled / Withdrawn events keep the picture current (scanned in block ranges
// from where the previous scan stopped, so nothing is missed while the RPC is down).
import { getAbiItem, type Address, type PublicClient } from "viem";
import { vaultAbi } from "../../sdk/contracts.ts";

const EVENTS = [
  getAbiItem({ abi: vaultAbi, name: "WithdrawalRequested" }),
  getAbiItem({ abi: vaultAbi, name: "WithdrawalCancelled" }),
  getAbiItem({ abi: vaultAbi, name: "Withdrawn" }),
];

export interface PendingWithdrawal {
  amount: bigint;
  unlockAt: bigint;
}

export class WithdrawalWatcher {
  readonly #client: PublicClient;
  readonly #vault: Address;
  readonly #maxRange: bigint;
  readonly #pending = new Map<string, PendingWithdrawal & { payer: Address }>();
  readonly #checked = new Set<string>();
  /** Last block whose events are applied; undefined until the first refresh. */
  #cursor: bigint | undefined;

  constructor(client: PublicClient, vault: Address, options: { maxBlockRange?: number } = {}) {
    this.#client = client;
    this.#vault = vault;
    this.#maxRange = BigInt(options.maxBlockRange ?? 2_000);
  }

  /** Applies new events, then reads the escrow of any payer in `payers` not seen before. */
  async refresh(payers: readonly Address[]): Promise<void> {
    const head = await this.#client.getBlockNumber({ cacheTime: 0 });
    // The first time, start following from here; payers already owing are read directly below.
    let cursor: bigint = this.#cursor ?? head;
    this.#cursor = cursor;
    while (cursor < head) {
      const from: bigint = cursor + 1n;
      const to: bigint = head < from + this.#maxRange - 1n ? head : from + this.#maxRange - 1n;
      const logs = await this.#client.getLogs({ address: this.#vault, events: EVENTS, fromBlock: from, toBlock: to, strict: true });
      for (const log of logs) {
        const payer = log.args.payer;
        if (log.eventName === "WithdrawalRequested") {
          this.#pending.set(payer.toLowerCase(), { payer, amount: log.args.amount, unlockAt: log.args.unlockAt });
        } else {
          this.#pending.delete(payer.toLowerCase());
        }
        this.#checked.add(payer.toLowerCase());
      }
      this.#cursor = cursor = to;
    }
    const unseen = payers.filter((p) => !this.#checked.has(p.toLowerCase()));
    const escrows = await Promise.all(
      unseen.map((payer) => this.#client.readContract({ address: this.#vault, abi: vaultAbi, functionName: "escrowOf", args: [payer] })),
    );
    unseen.forEach((payer, i) => {
      const [, pendingWithdrawal, unlockAt] = escrows[i]!;
      if (pendingWithdrawal > 0n) this.#pending.set(payer.toLowerCase(), { payer, amount: pendingWithdrawal, unlockAt });
      this.#checked.add(payer.toLowerCase());
    });
  }

  /** Payers with a pending withdrawal, as of the last refresh. */
  payers(): Address[] {
    return [...this.#pending.values()].map((p) => p.payer);
  }

  pending(payer: Address): PendingWithdrawal | undefined {
    return this.#pending.get(payer.toLowerCase());
  }
}
