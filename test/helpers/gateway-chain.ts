// A real chain for gateway tests: a `hardhat node` subprocess with the protocol deployed (test/cli/harness.ts), a real
// local content-addressed store, models minted through the registry with the CID and sha256 of real ONNX weights
// (so a gateway can fetch, verify and run them), and the few chain actions the tests need: funding payers' escrow,
// withdrawals, session keys, pausing, and reading back tabs, escrow, fees and claimable royalties.
import path from "node:path";
import { createPublicClient, http, toHex, type Abi, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { modelRegistryAbi, testStablecoinAbi, vaultAbi } from "../../sdk/contracts.ts";
import { cidToBytes, sha256Hex } from "../../sdk/storage/cid.ts";
import { LocalStorage } from "../../sdk/storage/local.ts";
import { KEYS, startHarness, type Harness } from "../cli/harness.ts";
import { buildTinyClassifier } from "./onnx.ts";

export interface MintSpec {
  /** ONNX bytes (default: the tiny 4-feature classifier). */
  weights?: Uint8Array;
  price: bigint;
  operatorFeeBps?: number;
  parents?: { id: bigint; bps: number }[];
  /** Share split (default: all to the minter). */
  holders?: { address: Address; amount: bigint }[];
  /** Who mints and so manages the model (default: account #0). */
  ownerKey?: Hex;
}

export interface MintedModel {
  modelId: bigint;
  /** The model's share token: where x402 `exact` payments must go. */
  shares: Address;
  price: bigint;
  weightsSha256: Hex;
}

export interface GatewayChain {
  harness: Harness;
  rpcUrl: string;
  chainId: number;
  vault: Address;
  stablecoin: Address;
  /** The local store minted weights live in (also MODELSHARE_STORAGE_DIR for gateway processes). */
  storeDir: string;
  storage: LocalStorage;
  /** A client on the node itself, no retries: for the test's own reads. */
  client: PublicClient;
  mint(spec: MintSpec): Promise<MintedModel>;
  /** Sends a contract call from `key` and waits for it to be mined; throws if it reverts. */
  send(key: Hex, call: { address: Address; abi: Abi; functionName: string; args: readonly unknown[] }): Promise<void>;
  /** Gives `payer` `amount` of escrow (minted stablecoin, deposited for it by account #0). */
  deposit(payer: Address, amount: bigint): Promise<void>;
  /** Mints stablecoin straight to `to` (x402 `exact` payers pay from their balance). */
  mintStablecoin(to: Address, amount: bigint): Promise<void>;
  /** Gives `address` native currency for gas. */
  fundGas(address: Address): Promise<void>;
  setPaused(modelId: bigint, paused: boolean, ownerKey?: Hex): Promise<void>;
  escrow(payer: Address): Promise<{ balance: bigint; pendingWithdrawal: bigint }>;
  /** The vault's high-water mark of one lane. */
  tab(payer: Address, operator: Address, modelId: bigint, lane: number): Promise<{ settledAmount: bigint; settledCalls: bigint }>;
  balanceOf(address: Address): Promise<bigint>;
  fees(account: Address): Promise<bigint>;
  claimable(holder: Address, modelIds: bigint[]): Promise<bigint>;
  protocolFeeBps(): Promise<number>;
  treasury(): Promise<Address>;
  /** The latest block's timestamp (what the vault and the EIP-3009 checks compare against). */
  now(): Promise<bigint>;
  stop(): Promise<void>;
}

export async function startGatewayChain(): Promise<GatewayChain> {
  const harness = await startHarness();
  const { deployment } = harness;
  const storeDir = path.join(harness.dir, "store");
  const storage = new LocalStorage(storeDir);
  const client = createPublicClient({ chain: hardhat, transport: http(harness.rpcUrl, { retryCount: 0, timeout: 30_000 }), pollingInterval: 50 }) as PublicClient;
  const registry = deployment.contracts.registry;
  const vault = deployment.contracts.vault;
  const stablecoin = deployment.stablecoin.address;
  const card = toHex(cidToBytes((await storage.put(new TextEncoder().encode('{"name":"gateway test model"}'))).cid));
  // Transactions from one key go one at a time: the node hands out nonces as they are mined.
  const queues = new Map<Hex, Promise<unknown>>();

  const send: GatewayChain["send"] = (key, call) => {
    const run = (queues.get(key) ?? Promise.resolve()).then(async () => {
      const account = privateKeyToAccount(key);
      const hash = await harness.wallet(key).writeContract({ ...call, account, chain: hardhat } as never);
      const receipt = await client.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error(`${call.functionName} reverted (${hash})`);
    });
    queues.set(key, run.catch(() => undefined));
    return run;
  };

  const chain: GatewayChain = {
    harness,
    rpcUrl: harness.rpcUrl,
    chainId: deployment.chainId,
    vault,
    stablecoin,
    storeDir,
    storage,
    client,
    send,
    async mint(spec) {
      const weights = spec.weights ?? buildTinyClassifier();
      const ownerKey = spec.ownerKey ?? KEYS[0];
      const owner = privateKeyToAccount(ownerKey).address;
      const { cid } = await storage.put(weights);
      const modelId = await client.readContract({ address: registry, abi: modelRegistryAbi, functionName: "nextModelId" });
      const parents = spec.parents ?? [];
      const holders = spec.holders ?? [{ address: owner, amount: 1_000n * 10n ** 18n }];
      await send(ownerKey, {
        address: registry,
        abi: modelRegistryAbi,
        functionName: "mint",
        args: [
          {
            weightsSha256: sha256Hex(weights),
            weightsCid: toHex(cidToBytes(cid)),
            metadataCid: card,
            pricePerCall: spec.price,
            operatorFeeBps: spec.operatorFeeBps ?? 500,
            parentIds: parents.map((p) => p.id),
            parentBps: parents.map((p) => p.bps),
            recipients: holders.map((h) => h.address),
            amounts: holders.map((h) => h.amount),
          },
        ],
      });
      const shares = await client.readContract({ address: registry, abi: modelRegistryAbi, functionName: "sharesOf", args: [modelId] });
      return { modelId, shares, price: spec.price, weightsSha256: sha256Hex(weights) };
    },
    async mintStablecoin(to, amount) {
      await send(KEYS[0], { address: stablecoin, abi: testStablecoinAbi, functionName: "mint", args: [to, amount] });
    },
    async deposit(payer, amount) {
      const funder = privateKeyToAccount(KEYS[0]).address;
      await chain.mintStablecoin(funder, amount);
      await send(KEYS[0], { address: stablecoin, abi: testStablecoinAbi, functionName: "approve", args: [vault, amount] });
      await send(KEYS[0], { address: vault, abi: vaultAbi, functionName: "depositFor", args: [payer, amount] });
    },
    async fundGas(address) {
      await harness.rpc("hardhat_setBalance", [address, toHex(10n ** 20n)]);
    },
    async setPaused(modelId, paused, ownerKey = KEYS[0]) {
      await send(ownerKey, { address: registry, abi: modelRegistryAbi, functionName: "setPaused", args: [modelId, paused] });
    },
    async escrow(payer) {
      const [balance, pendingWithdrawal] = await client.readContract({ address: vault, abi: vaultAbi, functionName: "escrowOf", args: [payer] });
      return { balance, pendingWithdrawal };
    },
    async tab(payer, operator, modelId, lane) {
      const [settledAmount, settledCalls] = await client.readContract({ address: vault, abi: vaultAbi, functionName: "tabOf", args: [payer, operator, modelId, lane] });
      return { settledAmount, settledCalls: BigInt(settledCalls) };
    },
    balanceOf: (address) => client.readContract({ address: stablecoin, abi: testStablecoinAbi, functionName: "balanceOf", args: [address] }),
    fees: (account) => client.readContract({ address: vault, abi: vaultAbi, functionName: "feesOf", args: [account] }),
    claimable: (holder, modelIds) => client.readContract({ address: vault, abi: vaultAbi, functionName: "claimableOf", args: [holder, modelIds] }),
    protocolFeeBps: () => client.readContract({ address: vault, abi: vaultAbi, functionName: "protocolFeeBps" }),
    treasury: () => client.readContract({ address: vault, abi: vaultAbi, functionName: "treasury" }),
    async now() {
      return (await client.getBlock({ blockTag: "latest" })).timestamp;
    },
    stop: () => harness.stop(),
  };
  return chain;
}
