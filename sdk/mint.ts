// Minting from code: checks an ONNX file (it must load in onnxruntime), stores its weights and model card through a
// storage adapter (CIDs computed locally, identical whatever stores the bytes), registers the model on-chain and
// returns its id and share token. The `modelshare mint` command does the same with more checks up front for people
// at a terminal; this is the library form for apps and scripts.
import { readFile } from "node:fs/promises";
import { parseEventLogs, type Account, type Address, type Chain, type Hash, type Hex, type PublicClient, type Transport, type WalletClient } from "viem";
import type { Deployment } from "../deploy/deployment.ts";
import { modelRegistryAbi } from "./contracts.ts";
import { buildModelCard, encodeModelCard, type ModelCard } from "./model-card.ts";
import { inspectOnnx } from "./onnx.ts";
import { cidToBytes } from "./storage/cid.ts";
import type { StorageAdapter } from "./storage/types.ts";

export interface MintModelOptions {
  publicClient: PublicClient;
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  deployment: Deployment;
  storage: StorageAdapter;
  /** Path of the ONNX file. */
  file: string;
  name: string;
  description?: string;
  license?: string;
  tags?: string[];
  /** Price per call, in stablecoin base units. */
  price: bigint;
  operatorFeeBps?: number;
  /** Who gets the shares (18 decimals); default: the minter gets `1,000,000` shares. */
  split?: { address: Address; amount: bigint }[];
  /** Parent models and the royalty (bps) each gets from every payment. */
  parents?: { modelId: bigint; bps: number }[];
}

export interface MintedModel {
  modelId: bigint;
  shares: Address;
  weightsCid: string;
  metadataCid: string;
  weightsSha256: Hex;
  card: ModelCard;
  transaction: Hash;
  gasUsed: bigint;
}

export async function mintModel(options: MintModelOptions): Promise<MintedModel> {
  const { publicClient, walletClient, deployment, storage } = options;
  const onnx = await inspectOnnx(options.file);
  const weights = await storage.put(new Uint8Array(await readFile(options.file)));
  const parents = options.parents ?? [];
  const card = buildModelCard({
    name: options.name,
    description: options.description,
    license: options.license,
    tags: options.tags,
    parents,
    onnx,
    weightsCid: weights.cid,
  });
  const metadata = await storage.put(encodeModelCard(card));
  const split = options.split ?? [{ address: walletClient.account.address, amount: 1_000_000n * 10n ** 18n }];
  const hash = await walletClient.writeContract({
    address: deployment.contracts.registry,
    abi: modelRegistryAbi,
    functionName: "mint",
    args: [
      {
        weightsSha256: onnx.sha256,
        weightsCid: `0x${Buffer.from(cidToBytes(weights.cid)).toString("hex")}`,
        metadataCid: `0x${Buffer.from(cidToBytes(metadata.cid)).toString("hex")}`,
        pricePerCall: options.price,
        operatorFeeBps: options.operatorFeeBps ?? 500,
        parentIds: parents.map((p) => p.modelId),
        parentBps: parents.map((p) => p.bps),
        recipients: split.map((s) => s.address),
        amounts: split.map((s) => s.amount),
      },
    ],
    account: walletClient.account,
    chain: walletClient.chain,
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`the mint of "${options.name}" reverted (${hash})`);
  const [event] = parseEventLogs({ abi: modelRegistryAbi, eventName: "ModelMinted", logs: receipt.logs });
  if (!event) throw new Error(`the mint of "${options.name}" emitted no ModelMinted event`);
  return {
    modelId: event.args.modelId,
    shares: event.args.shares,
    weightsCid: weights.cid,
    metadataCid: metadata.cid,
    weightsSha256: onnx.sha256,
    card,
    transaction: hash,
    gasUsed: receipt.gasUsed,
  };
}
