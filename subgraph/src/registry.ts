// ModelRegistry: models, versions, lineage, terms and NFT ownership.
import {
  AncestorRecorded,
  ModelMinted,
  ModelPausedSet,
  OperatorFeeChanged,
  ParentDeclared,
  PriceChanged,
  Transfer,
  VersionPublished,
} from "../generated/ModelRegistry/ModelRegistry";
import { LineageEdge, Model, ModelVersion, ShareToken } from "../generated/schema";
import { ModelShares } from "../generated/templates";
import { ZERO, model, modelId, protocol } from "./entities";

export function handleModelMinted(event: ModelMinted): void {
  const key = modelId(event.params.modelId);
  const token = new ShareToken(event.params.shares);
  token.model = key;
  token.totalSupply = ZERO; // counted from the token's own mint transfers
  token.revenuePerShare = ZERO;
  token.totalRevenue = ZERO;
  token.save();
  ModelShares.create(event.params.shares);

  const m = new Model(key);
  m.modelId = event.params.modelId;
  m.owner = event.params.owner;
  m.shareToken = event.params.shares;
  m.pricePerCall = event.params.pricePerCall;
  m.operatorFeeBps = event.params.operatorFeeBps;
  m.paused = false;
  m.latestVersion = 0;
  m.createdAt = event.block.timestamp;
  m.grossRevenue = ZERO;
  m.holderRevenue = ZERO;
  m.royaltiesReceived = ZERO;
  m.royaltiesPaid = ZERO;
  m.paidCalls = ZERO;
  m.save();

  const p = protocol();
  p.models += 1;
  p.save();
}

export function handleVersionPublished(event: VersionPublished): void {
  const key = modelId(event.params.modelId);
  const v = new ModelVersion(key + "-" + event.params.version.toString());
  v.model = key;
  v.version = event.params.version.toI32();
  v.weightsSha256 = event.params.weightsSha256;
  v.weightsCid = event.params.weightsCid;
  v.metadataCid = event.params.metadataCid;
  v.timestamp = event.block.timestamp;
  v.transaction = event.transaction.hash;
  v.save();
  const m = model(event.params.modelId);
  m.latestVersion = v.version;
  m.save();
}

function edge(child: string, ancestor: string, bps: i32, direct: boolean): void {
  const e = new LineageEdge(child + "-" + ancestor + (direct ? "-parent" : "-ancestor"));
  e.child = child;
  e.ancestor = ancestor;
  e.bps = bps;
  e.direct = direct;
  e.save();
}

export function handleParentDeclared(event: ParentDeclared): void {
  edge(modelId(event.params.modelId), modelId(event.params.parentId), event.params.bps, true);
}

export function handleAncestorRecorded(event: AncestorRecorded): void {
  edge(modelId(event.params.modelId), modelId(event.params.ancestorId), event.params.bps, false);
}

export function handlePriceChanged(event: PriceChanged): void {
  const m = model(event.params.modelId);
  m.pricePerCall = event.params.pricePerCall;
  m.save();
}

export function handleOperatorFeeChanged(event: OperatorFeeChanged): void {
  const m = model(event.params.modelId);
  m.operatorFeeBps = event.params.operatorFeeBps;
  m.save();
}

export function handleModelPausedSet(event: ModelPausedSet): void {
  const m = model(event.params.modelId);
  m.paused = event.params.paused;
  m.save();
}

/** NFT transfers move management of the model; the mint itself is recorded by ModelMinted. */
export function handleModelTransfer(event: Transfer): void {
  const m = Model.load(modelId(event.params.tokenId));
  if (m == null) return;
  m.owner = event.params.to;
  m.save();
}
