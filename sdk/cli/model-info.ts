// Reads a model's on-chain record for the commands that show or manage it: state, latest version, lineage and
// the initial share split (the last two from the registry's events, which keep what storage does not).
import { hexToBytes, type Address, type Hex } from "viem";
import { CID } from "multiformats/cid";
import { CliError } from "./output.ts";
import type { ProtocolContext } from "./context.ts";

export interface ModelState {
  owner: Address;
  shares: Address;
  pricePerCall: bigint;
  operatorFeeBps: number;
  upstreamBps: number;
  latestVersion: number;
  paused: boolean;
}

/** The model's state, or a one-line error naming the chain when there is no such model. */
export async function requireModel(ctx: ProtocolContext, modelId: bigint, what = "model"): Promise<ModelState> {
  try {
    return await ctx.ms.registry.read.modelOf([modelId]);
  } catch {
    const next = await ctx.ms.registry.read.nextModelId();
    throw new CliError(`unknown ${what} #${modelId}: chain ${ctx.chainId} has models #1 to #${next - 1n}`);
  }
}

/** Binary CID (as the registry returns it) → the usual text form (bafy…). */
export function cidToString(cid: Hex): string {
  return CID.decode(hexToBytes(cid)).toString();
}

export interface ModelVersion {
  version: number;
  weightsSha256: Hex;
  weightsCid: string;
  metadataCid: string;
}

export async function latestVersion(ctx: ProtocolContext, modelId: bigint, version = 0): Promise<ModelVersion> {
  const state = version === 0 ? await requireModel(ctx, modelId) : undefined;
  const [weightsSha256, weightsCid, metadataCid] = await ctx.ms.registry.read.versionOf([modelId, version]);
  return { version: version || state!.latestVersion, weightsSha256, weightsCid: cidToString(weightsCid), metadataCid: cidToString(metadataCid) };
}

export interface Lineage {
  /** The parents the creator declared, with the bps it gave each. */
  parents: { modelId: bigint; bps: number }[];
  /** The flattened ancestry every payment is split over. */
  ancestors: { modelId: bigint; bps: number }[];
}

export async function lineageOf(ctx: ProtocolContext, modelId: bigint): Promise<Lineage> {
  const fromBlock = BigInt(ctx.deployment.startBlock);
  const [declared, ancestors] = await Promise.all([
    ctx.ms.registry.getEvents.ParentDeclared({ modelId }, { fromBlock }),
    ctx.ms.registry.read.ancestorsOf([modelId]),
  ]);
  return {
    parents: declared.map((e) => ({ modelId: e.args.parentId!, bps: Number(e.args.bps!) })),
    ancestors: ancestors.map((a) => ({ modelId: a.modelId, bps: a.bps })),
  };
}

/** The split recorded at mint (recipients and amounts), from the ModelMinted event. */
export async function initialSplit(ctx: ProtocolContext, modelId: bigint): Promise<{ address: Address; amount: bigint }[]> {
  const [minted] = await ctx.ms.registry.getEvents.ModelMinted({ modelId }, { fromBlock: BigInt(ctx.deployment.startBlock) });
  if (!minted) return [];
  const { recipients = [], amounts = [] } = minted.args;
  return recipients.map((address, i) => ({ address, amount: amounts[i]! }));
}

export interface Holding {
  modelId: bigint;
  shareToken: Address;
  shares: bigint;
  claimable: bigint;
}

/** Every model in which `holder` has shares or unclaimed royalties (royalties stay claimable after selling). */
export async function holdingsOf(ctx: ProtocolContext, holder: Address, ids?: bigint[]): Promise<Holding[]> {
  const next = await ctx.ms.registry.read.nextModelId();
  const all = ids ?? Array.from({ length: Number(next - 1n) }, (_, i) => BigInt(i + 1));
  const rows = await Promise.all(
    all.map(async (modelId) => {
      const shareToken = (await requireModel(ctx, modelId)).shares;
      const token = ctx.ms.shares(shareToken);
      const [shares, claimable] = await Promise.all([token.read.balanceOf([holder]), token.read.claimable([holder])]);
      return { modelId, shareToken, shares, claimable };
    }),
  );
  return ids ? rows : rows.filter((r) => r.shares > 0n || r.claimable > 0n);
}
