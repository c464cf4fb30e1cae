// The local stack's sample clients. An agent pays with vouchers signed by a session key its owner registered with a
// cap (many calls in flight, each on its own lane); an unmodified x402 client (@x402/fetch with @x402/evm's exact
// scheme) pays a few calls with one EIP-3009 transfer each. They ask the sample models to read noisy digit glyphs and
// count how often the models are right.
import { x402Client } from "@x402/core/client";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { wrapFetchWithPayment } from "@x402/fetch";
import type { Account, Address, Chain, LocalAccount, PublicClient, Transport, WalletClient } from "viem";
import type { Deployment } from "../../deploy/deployment.ts";
import { testStablecoinAbi, vaultAbi } from "../contracts.ts";
import { digitInput } from "../samples/digits.ts";
import { createPayingFetch } from "../x402/paying-fetch.ts";
import { caip2 } from "../x402/networks.ts";
import { setSessionSigner } from "../x402/session-keys.ts";
import type { DevModel } from "./stack.ts";

type Wallet = WalletClient<Transport, Chain | undefined, Account>;

async function mined(publicClient: PublicClient, hash: `0x${string}`) {
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
}

/** Test USDC for a payer: minted to it, optionally deposited into its escrow, optionally with a session key. */
export async function fundPayer(o: {
  publicClient: PublicClient;
  wallet: Wallet;
  deployment: Deployment;
  mint: bigint;
  deposit?: bigint;
  session?: { key: Address; cap: bigint };
}) {
  const { publicClient, wallet, deployment } = o;
  const write = async (address: Address, abi: typeof vaultAbi | typeof testStablecoinAbi, functionName: string, args: unknown[]) =>
    mined(publicClient, await wallet.writeContract({ address, abi, functionName, args, account: wallet.account, chain: wallet.chain } as never));
  await write(deployment.stablecoin.address, testStablecoinAbi, "mint", [wallet.account.address, o.mint]);
  if (o.deposit) {
    await write(deployment.stablecoin.address, testStablecoinAbi, "approve", [deployment.contracts.vault, o.deposit]);
    await write(deployment.contracts.vault, vaultAbi, "deposit", [o.deposit]);
  }
  if (o.session) {
    const { timestamp } = await publicClient.getBlock();
    await mined(
      publicClient,
      await setSessionSigner({ publicClient, walletClient: wallet, vault: deployment.contracts.vault }, o.session.key, o.session.cap, timestamp + 86_400n),
    );
  }
}

export async function claimRoyalties(o: { publicClient: PublicClient; wallet: Wallet; deployment: Deployment; modelIds: bigint[] }) {
  const hash = await o.wallet.writeContract({
    address: o.deployment.contracts.vault,
    abi: vaultAbi,
    functionName: "claim",
    args: [o.modelIds],
    account: o.wallet.account,
    chain: o.wallet.chain,
  });
  await mined(o.publicClient, hash);
}

export interface ModelTraffic {
  modelId: bigint;
  voucherCalls: number;
  exactCalls: number;
  /** Answers whose predicted digit was the one drawn. */
  correct: number;
}

export interface TrafficSummary {
  models: ModelTraffic[];
  /** What the agent's vouchers and the x402 payer's transfers paid, in base units. */
  voucherSpent: bigint;
  exactSpent: bigint;
  /** Every voucher answer's receipt was checked against the inputs sent and outputs received. */
  receiptsVerified: number;
}

/** The digit an answer names: the "digit" output when the model has one, else the most probable class. */
function predicted(outputs: Record<string, { data: unknown[] }>): number {
  const label = outputs.digit?.data[0];
  if (label !== undefined) return Number(label);
  const p = (outputs.probabilities?.data ?? []) as number[];
  return p.indexOf(Math.max(...p));
}

export async function runTraffic(o: {
  gatewayUrl: string;
  models: DevModel[];
  voucherCalls: number;
  exactCalls: number;
  agent: { session: LocalAccount; payer: Address };
  x402Payer: LocalAccount;
  publicClient: PublicClient;
  concurrency?: number;
  progress?: (line: string) => void;
}): Promise<TrafficSummary> {
  const summary = new Map<bigint, ModelTraffic>(o.models.map((m) => [m.modelId, { modelId: m.modelId, voucherCalls: 0, exactCalls: 0, correct: 0 }]));
  let seed = 1;
  const draw = () => {
    const digit = seed % 10;
    return { digit, pixels: digitInput(digit, { noise: "light", seed: seed++ }) };
  };
  const body = (model: DevModel, pixels: number[]) => ({ [model.inputName]: { dims: [1, pixels.length], data: pixels } });

  // The agent: vouchers signed by its session key, up to `concurrency` calls in flight (one lane each).
  const agent = createPayingFetch({ account: o.agent.session, payer: o.agent.payer, maxPricePerCall: 10_000n, gateway: o.gatewayUrl, publicClient: o.publicClient });
  let voucherSpent = 0n;
  let receiptsVerified = 0;
  let next = 0;
  const worker = async () => {
    while (next < o.voucherCalls) {
      const i = next++;
      // Two calls in three go to the base model, one to its derivative.
      const model = o.models[i % 3 === 2 && o.models.length > 1 ? 1 : 0]!;
      const { digit, pixels } = draw();
      const answer = await agent.infer(model.modelId, body(model, pixels));
      const t = summary.get(model.modelId)!;
      t.voucherCalls++;
      if (predicted(answer.outputs as never) === digit) t.correct++;
      voucherSpent += answer.payment.amount;
      if (answer.payment.receiptVerified) receiptsVerified++;
      if ((i + 1) % 100 === 0) o.progress?.(`  ${i + 1} voucher-paid calls answered`);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 8 }, worker));

  // An unmodified x402 client: @x402/fetch with @x402/evm's exact scheme (it may pay in the local test USDC).
  const x402 = new x402Client();
  registerExactEvmScheme(x402, { signer: o.x402Payer });
  const first = o.models[0]!;
  const info = (await (await fetch(`${o.gatewayUrl}/v1/models/${first.modelId}`)).json()) as { accepts: { scheme: string; asset: string; network: string }[] };
  const exactOffer = info.accepts.find((a) => a.scheme === "exact")!;
  x402.setSpendControls({ allowedAssets: [{ network: exactOffer.network as ReturnType<typeof caip2>, asset: exactOffer.asset }] });
  const pay = wrapFetchWithPayment(fetch, x402);
  let exactSpent = 0n;
  for (let i = 0; i < o.exactCalls; i++) {
    const model = o.models[i % o.models.length]!;
    const { digit, pixels } = draw();
    const response = await pay(`${o.gatewayUrl}/v1/models/${model.modelId}/infer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs: body(model, pixels) }),
    });
    if (response.status !== 200) throw new Error(`the x402 client's call to model ${model.modelId} failed: HTTP ${response.status} ${await response.text()}`);
    const answer = (await response.json()) as { outputs: Record<string, { data: unknown[] }>; payment: { amount: string } };
    const t = summary.get(model.modelId)!;
    t.exactCalls++;
    if (predicted(answer.outputs) === digit) t.correct++;
    exactSpent += BigInt(answer.payment.amount);
  }
  o.progress?.(`  ${o.exactCalls} x402 exact calls answered`);
  return { models: [...summary.values()], voucherSpent, exactSpent, receiptsVerified };
}
