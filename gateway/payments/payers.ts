// What the chain says about each payer the gateway has seen: escrow, pending withdrawal, session keys, and whether
// the payer is a contract (ERC-1271). Read once on first sight, then kept fresh by the chain watcher; the request
// path only reads the cache, so a known payer's voucher is checked without a round trip to the RPC.
import { decodeFunctionResult, encodeFunctionData, type Address, type Hex, type PublicClient } from "viem";
import { vaultAbi } from "../../sdk/contracts.ts";

export interface Escrow {
  balance: bigint;
  pendingWithdrawal: bigint;
  unlockAt: bigint;
}

export interface Session {
  cap: bigint;
  spent: bigint;
  /** Unix seconds; 0 when `signer` is not a session key of the payer. */
  expiry: bigint;
}

interface PayerEntry {
  escrow: Escrow;
  isContract: boolean;
  sessions: Map<string, { session: Session; fetchedAt: number }>;
  fetchedAt: number;
}

const ERC1271_ABI = [
  {
    type: "function",
    name: "isValidSignature",
    stateMutability: "view",
    inputs: [{ type: "bytes32" }, { type: "bytes" }],
    outputs: [{ type: "bytes4" }],
  },
] as const;
const ERC1271_MAGIC = "0x1626ba7e";
/** The vault gives a contract payer's check this much gas; the gateway's eth_call gets the same, to agree with it. */
const ERC1271_GAS = 300_000n;
/** A key that is not a session key may become one; look again after this long (SessionSignerSet also refreshes). */
const NEGATIVE_SESSION_TTL_MS = 5_000;

export class PayerBook {
  readonly #entries = new Map<string, PayerEntry>();
  readonly #loading = new Map<string, Promise<PayerEntry>>();

  readonly #client: PublicClient;
  readonly #vault: Address;
  readonly #now: () => number;

  constructor(client: PublicClient, vault: Address, now: () => number = Date.now) {
    this.#client = client;
    this.#vault = vault;
    this.#now = now;
  }

  /** The cached escrow, or undefined for a payer never seen (the caller then awaits `load`). */
  escrow(payer: Address): Escrow | undefined {
    return this.#entries.get(payer.toLowerCase())?.escrow;
  }

  isKnown(payer: Address): boolean {
    return this.#entries.has(payer.toLowerCase());
  }

  /** Reads the payer from the chain (once at a time per payer). Throws when the RPC cannot be reached. */
  async load(payer: Address): Promise<Escrow> {
    return (await this.#load(payer)).escrow;
  }

  /** Re-reads a known payer (the watcher saw an event about it). Unknown payers are ignored. */
  async refresh(payer: Address): Promise<void> {
    const key = payer.toLowerCase();
    if (!this.#entries.has(key)) return;
    const entry = await this.#read(payer);
    const old = this.#entries.get(key);
    if (old) entry.sessions = old.sessions;
    this.#entries.set(key, entry);
  }

  /** Forgets cached session data of a payer's key (SessionSignerSet/Revoked seen). */
  forgetSession(payer: Address, signer: Address): void {
    this.#entries.get(payer.toLowerCase())?.sessions.delete(signer.toLowerCase());
  }

  /** The session of `signer` for `payer`: cached when fresh enough, else read from the chain. */
  async session(payer: Address, signer: Address): Promise<Session> {
    const entry = await this.#load(payer);
    const key = signer.toLowerCase();
    const cached = entry.sessions.get(key);
    if (cached && (cached.session.expiry !== 0n || this.#now() - cached.fetchedAt < NEGATIVE_SESSION_TTL_MS)) return cached.session;
    const [cap, spent, expiry] = await this.#client.readContract({ address: this.#vault, abi: vaultAbi, functionName: "sessionOf", args: [payer, signer] });
    const session = { cap, spent, expiry: BigInt(expiry) };
    entry.sessions.set(key, { session, fetchedAt: this.#now() });
    return session;
  }

  /** Known sessions only, synchronously (for the hot path); undefined when the chain must be asked. */
  cachedSession(payer: Address, signer: Address): Session | undefined {
    const cached = this.#entries.get(payer.toLowerCase())?.sessions.get(signer.toLowerCase());
    if (!cached) return undefined;
    if (cached.session.expiry === 0n && this.#now() - cached.fetchedAt >= NEGATIVE_SESSION_TTL_MS) return undefined;
    return cached.session;
  }

  /** The vault's ERC-1271 check, done with an eth_call: only for contract payers whose key is not a session key. */
  async isValidContractSignature(payer: Address, digest: Hex, signature: Hex): Promise<boolean> {
    const entry = await this.#load(payer);
    if (!entry.isContract) return false;
    try {
      const { data } = await this.#client.call({
        to: payer,
        data: encodeFunctionData({ abi: ERC1271_ABI, functionName: "isValidSignature", args: [digest, signature] }),
        gas: ERC1271_GAS,
      });
      if (!data) return false;
      return decodeFunctionResult({ abi: ERC1271_ABI, functionName: "isValidSignature", data }) === ERC1271_MAGIC;
    } catch {
      return false;
    }
  }

  /** Payers currently known, for the watcher. */
  known(): Address[] {
    return [...this.#entries.keys()] as Address[];
  }

  async #load(payer: Address): Promise<PayerEntry> {
    const key = payer.toLowerCase();
    const entry = this.#entries.get(key);
    if (entry) return entry;
    let loading = this.#loading.get(key);
    if (!loading) {
      loading = this.#read(payer).finally(() => this.#loading.delete(key));
      this.#loading.set(key, loading);
    }
    const loaded = await loading;
    if (!this.#entries.has(key)) this.#entries.set(key, loaded);
    return this.#entries.get(key)!;
  }

  async #read(payer: Address): Promise<PayerEntry> {
    const [[balance, pendingWithdrawal, unlockAt], code] = await Promise.all([
      this.#client.readContract({ address: this.#vault, abi: vaultAbi, functionName: "escrowOf", args: [payer] }),
      this.#client.getCode({ address: payer }),
    ]);
    // EIP-7702 accounts carry a delegation designator (0xef0100…) but sign with their own key, like an EOA.
    const isContract = code !== undefined && code !== "0x" && !code.startsWith("0xef0100");
    return { escrow: { balance, pendingWithdrawal, unlockAt: BigInt(unlockAt) }, isContract, sessions: new Map(), fetchedAt: this.#now() };
  }
}
