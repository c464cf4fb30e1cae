// Everything a command needs to talk to the chain, built in the order things can go wrong — endpoint, chain id,
// deployment, account, gas money — so each failure is caught before anything is sent and reported as one line.
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  formatEther,
  http,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Hash,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { deploymentPath, readDeployment, type Deployment } from "../../deploy/deployment.ts";
import { HARDHAT_DEFAULT_KEY, LOCAL_CHAIN_IDS } from "../../deploy/deploy-to-chain.ts";
import { formatAmount, parseAmount } from "../amounts.ts";
import { connect, type Modelshare } from "../contracts.ts";
import { describeError } from "../errors.ts";
import type { CliConfig } from "./config.ts";
import { readKeystore } from "./keystore.ts";
import { CliError, EXIT, type Output } from "./output.ts";

export interface ChainContext {
  config: CliConfig;
  out: Output;
  /** Amounts typed and shown as stablecoin base units instead of decimals. */
  raw: boolean;
  chainId: number;
  chain: Chain;
  publicClient: PublicClient;
}

export interface ProtocolContext extends ChainContext {
  deployment: Deployment;
  ms: Modelshare;
  /** "0.002" → 2000n (or a base-unit integer with --raw), with a message naming `what` when it is malformed. */
  amount(text: string, what: string): bigint;
  /** 2000n → "0.002" (or "2000" with --raw). */
  format(units: bigint): string;
}

export interface WalletContext extends ProtocolContext {
  account: Account;
  walletClient: WalletClient<Transport, Chain, Account>;
  msw: Modelshare;
}

/** Reaches the RPC endpoint and checks it serves the expected chain. */
export async function connectChain(config: CliConfig, out: Output, raw = false): Promise<ChainContext> {
  // No retries: an endpoint that is down should fail in a second, not after viem's backoff.
  const probe = createPublicClient({ transport: http(config.rpcUrl, { retryCount: 0, timeout: 10_000 }) });
  let chainId: number;
  try {
    chainId = await probe.getChainId();
  } catch {
    throw new CliError(`cannot reach the RPC endpoint ${config.rpcUrl}: is the node running?`, EXIT.environment);
  }
  if (config.chainId !== undefined && config.chainId !== chainId) {
    throw new CliError(`wrong chain: expected chain id ${config.chainId} (--chain-id) but ${config.rpcUrl} is on chain ${chainId}`, EXIT.environment);
  }
  const chain = defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  });
  const local = LOCAL_CHAIN_IDS.has(chainId);
  const publicClient = createPublicClient({
    chain,
    // Batched: `models`, `balance` and `claim` read every model, which is one request per model otherwise.
    transport: http(config.rpcUrl, { retryCount: local ? 0 : 3, timeout: 30_000, batch: { batchSize: 100 } }),
    pollingInterval: local ? 100 : 1_000,
  }) as PublicClient;
  return { config, out, raw, chainId, chain, publicClient };
}

/** Loads the deployment for the connected chain and checks it is live there. */
export async function loadProtocol(ctx: ChainContext): Promise<ProtocolContext> {
  const { config, chainId } = ctx;
  const file = config.deploymentFile ?? deploymentPath(chainId, config.deploymentsDir);
  let deployment: Deployment | undefined;
  try {
    deployment = await readDeployment(config.deploymentFile ?? chainId, config.deploymentsDir);
  } catch (error) {
    throw new CliError((error as Error).message.split("\n")[0]!, EXIT.environment);
  }
  if (!deployment) throw new CliError(`no Modelshare deployment for chain ${chainId} (${file}): run \`modelshare deploy\` first`, EXIT.environment);
  if (deployment.chainId !== chainId) {
    throw new CliError(`the deployment file ${file} is for chain ${deployment.chainId}, but the RPC endpoint is on chain ${chainId}`, EXIT.environment);
  }
  const code = await ctx.publicClient.getCode({ address: deployment.contracts.registry });
  if (!code || code === "0x") {
    throw new CliError(
      `no Modelshare deployment for chain ${chainId}: ${file} names a registry with no code (was the chain reset?); run \`modelshare deploy --force\``,
      EXIT.environment,
    );
  }
  const decimals = deployment.stablecoin.decimals;
  return {
    ...ctx,
    deployment,
    ms: connect({ publicClient: ctx.publicClient }, deployment),
    amount: (text, what) => parseUserAmount(text, decimals, what, ctx.raw),
    format: (units) => (ctx.raw ? units.toString() : formatAmount(units, decimals)),
  };
}

export function parseUserAmount(text: string, decimals: number, what: string, raw: boolean): bigint {
  if (raw) {
    if (!/^\d+$/.test(text.trim())) throw new CliError(`${what} must be a whole number of base units with --raw, got "${text}"`);
    return BigInt(text.trim());
  }
  try {
    return parseAmount(text, decimals, what);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}

/** The account from key or keystore; on a local dev chain with neither, Hardhat's well-known first account. */
export async function resolveAccount(ctx: ChainContext): Promise<Account> {
  const { config } = ctx;
  if (config.privateKey) return privateKeyToAccount(config.privateKey);
  if (config.keystore) return privateKeyToAccount(await readKeystore(config.keystore, config.keystorePassword));
  if (LOCAL_CHAIN_IDS.has(ctx.chainId)) {
    ctx.out.note("no key configured: using Hardhat's first default account (local chain only)");
    return privateKeyToAccount(HARDHAT_DEFAULT_KEY);
  }
  throw new CliError(`no account for chain ${ctx.chainId}: set --private-key, MODELSHARE_PRIVATE_KEY or --keystore`);
}

/** Adds the signing account and refuses an account that cannot pay for any gas at all. */
export async function withWallet(ctx: ProtocolContext): Promise<WalletContext> {
  const account = await resolveAccount(ctx);
  const balance = await ctx.publicClient.getBalance({ address: account.address });
  if (balance === 0n) throw unfunded(account.address, ctx.chainId);
  const walletClient = createWalletClient({ account, chain: ctx.chain, transport: http(ctx.config.rpcUrl, { retryCount: 0 }) });
  return { ...ctx, account, walletClient, msw: connect({ publicClient: ctx.publicClient, walletClient }, ctx.deployment) };
}

function unfunded(address: Address, chainId: number, detail = "") {
  return new CliError(`account ${address} has no ETH on chain ${chainId} to pay for gas${detail}`, EXIT.environment);
}

export interface ContractCall<abi extends Abi, name extends ContractFunctionName<abi, "nonpayable" | "payable">> {
  address: Address;
  abi: abi;
  functionName: name;
  args: ContractFunctionArgs<abi, "nonpayable" | "payable", name>;
}

export interface Prepared<result> {
  /** What the call returns, as simulated on the current state. */
  result: result;
  gas: bigint;
  /** Sends the simulated call and waits for its receipt. */
  send(label: string): Promise<{ hash: Hash; receipt: TransactionReceipt }>;
}

/**
 * Simulates a call (a contract revert becomes a one-line error, nothing sent), estimates its gas and checks the
 * account can pay for it; `send` then submits it and waits for the receipt. Split in two so a command can do slow
 * off-chain work (uploads) between the check and the transaction.
 */
export async function prepare<const abi extends Abi, name extends ContractFunctionName<abi, "nonpayable" | "payable">>(
  ctx: WalletContext,
  call: ContractCall<abi, name>,
): Promise<Prepared<unknown>> {
  const { publicClient, account } = ctx;
  const base = { address: call.address, abi: call.abi, functionName: call.functionName, args: call.args, account } as never;
  let result: unknown;
  let gas: bigint;
  try {
    ({ result } = (await publicClient.simulateContract(base)) as { result: unknown });
    gas = await publicClient.estimateContractGas(base);
  } catch (error) {
    throw new CliError(`${String(call.functionName)} would fail: ${describeError(error)}`, EXIT.rejected);
  }
  // A 20% margin: the state may move a little between estimate and inclusion.
  const gasLimit = gas + gas / 5n;
  const fees = await publicClient.estimateFeesPerGas().catch(() => undefined);
  const perGas = fees?.maxFeePerGas ?? (await publicClient.getGasPrice());
  const balance = await publicClient.getBalance({ address: account.address });
  if (balance < gasLimit * perGas) {
    throw unfunded(account.address, ctx.chainId, ` (holds ${formatEther(balance)}, needs about ${formatEther(gasLimit * perGas)})`);
  }
  return {
    result,
    gas,
    async send(label: string) {
      let hash: Hash;
      try {
        hash = await ctx.walletClient.writeContract({ ...(base as object), gas: gasLimit } as never);
      } catch (error) {
        throw new CliError(`${String(call.functionName)} failed: ${describeError(error)}`, EXIT.rejected);
      }
      const receipt = await waitForReceipt(ctx, hash, label);
      return { hash, receipt };
    },
  };
}

/** Simulate, check, send, wait: the usual path for a single transaction. */
export async function execute<const abi extends Abi, name extends ContractFunctionName<abi, "nonpayable" | "payable">>(
  ctx: WalletContext,
  call: ContractCall<abi, name>,
  label: string,
) {
  const prepared = await prepare(ctx, call);
  return { result: prepared.result, ...(await prepared.send(label)) };
}

export async function waitForReceipt(ctx: ChainContext, hash: Hash, label: string): Promise<TransactionReceipt> {
  const spinner = ctx.out.spinner(`${label}: waiting for ${hash.slice(0, 10)}…`);
  let receipt: TransactionReceipt;
  try {
    receipt = await ctx.publicClient.waitForTransactionReceipt({ hash, timeout: ctx.config.receiptTimeout * 1000 });
  } catch (error) {
    spinner.stop();
    throw new CliError(`${label}: no receipt for ${hash} yet (${describeError(error)}); it may still be mined`, EXIT.failure);
  }
  spinner.stop(`${label}: mined in block ${receipt.blockNumber} (gas ${receipt.gasUsed})`);
  if (receipt.status !== "success") throw new CliError(`${label}: transaction ${hash} reverted`, EXIT.rejected);
  return receipt;
}

/** The latest block's timestamp: the chain's clock, which is what withdrawal delays are measured against. */
export async function chainTime(ctx: ChainContext): Promise<bigint> {
  return (await ctx.publicClient.getBlock({ blockTag: "latest" })).timestamp;
}
