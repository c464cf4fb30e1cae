// Every transaction the operator's key sends goes through one sender, so nonces are handed out one at a time and
// never twice: the `exact` payment submitter and the settlement worker share it. A nonce is consumed only when the
// callback that uses it succeeds; after a "nonce too low" the sender re-reads the account's nonce from the chain.
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";

export class OperatorSender {
  readonly #client: PublicClient;
  readonly #wallet: WalletClient<Transport, Chain | undefined, Account>;
  #nonce: number | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(client: PublicClient, wallet: WalletClient<Transport, Chain | undefined, Account>) {
    this.#client = client;
    this.#wallet = wallet;
  }

  get address(): Address {
    return this.#wallet.account.address;
  }

  /** Runs `use` with the next nonce, after every earlier call finished; the nonce advances only if `use` resolves. */
  withNonce<T>(use: (nonce: number) => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      this.#nonce ??= await this.#client.getTransactionCount({ address: this.address, blockTag: "pending" });
      try {
        const result = await use(this.#nonce);
        this.#nonce += 1;
        return result;
      } catch (error) {
        if (/nonce too low|nonce has already been used|replacement transaction underpriced/i.test(String((error as Error)?.message))) {
          this.#nonce = undefined;
        }
        throw error;
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Estimates, signs and broadcasts a call; resolves with its hash (throws, consuming no nonce, if it would revert). */
  send(call: { to: Address; data: Hex }): Promise<Hex> {
    return this.withNonce(async (nonce) => {
      const gas = await this.#client.estimateGas({ account: this.#wallet.account, to: call.to, data: call.data });
      return this.#wallet.sendTransaction({
        account: this.#wallet.account,
        chain: this.#wallet.chain,
        to: call.to,
        data: call.data,
        nonce,
        // A margin over the estimate: state may move a little before inclusion.
        gas: gas + gas / 5n,
      });
    });
  }
}
