// `modelshare show <id>`: one model's full record — state, latest version, lineage, initial split, card.
import type { Command } from "commander";
import { action } from "../action.ts";
import { connectChain, loadProtocol } from "../context.ts";
import { initialSplit, latestVersion, lineageOf, requireModel } from "../model-info.ts";
import { formatShares, parseModelId } from "../parse.ts";
import { fetchCard } from "../store.ts";

export function register(program: Command) {
  program
    .command("show")
    .description("show a model: price, fees, version, weights, lineage, share split and model card")
    .argument("<id>", "model id")
    .action(
      action<object, [string]>(async ({ config, out, raw }, idText) => {
        const modelId = parseModelId(idText);
        const ctx = await loadProtocol(await connectChain(config, out, raw));
        const state = await requireModel(ctx, modelId);
        const [version, lineage, split, tokenURI, supply] = await Promise.all([
          latestVersion(ctx, modelId),
          lineageOf(ctx, modelId),
          initialSplit(ctx, modelId),
          ctx.ms.registry.read.tokenURI([modelId]),
          ctx.ms.shares(state.shares).read.totalSupply(),
        ]);
        const card = await fetchCard(config, version.metadataCid);
        const shares = (n: bigint) => (raw ? n.toString() : formatShares(n));
        const data = {
          modelId: modelId.toString(),
          name: card?.name,
          description: card?.description,
          owner: state.owner,
          shareToken: state.shares,
          shareSupply: shares(supply),
          price: ctx.format(state.pricePerCall),
          priceUnits: state.pricePerCall.toString(),
          operatorFeeBps: state.operatorFeeBps,
          upstreamBps: state.upstreamBps,
          paused: state.paused,
          version: version.version,
          weightsSha256: version.weightsSha256,
          weightsCid: version.weightsCid,
          metadataCid: version.metadataCid,
          tokenURI,
          parents: lineage.parents.map((p) => ({ modelId: p.modelId.toString(), bps: p.bps })),
          ancestors: lineage.ancestors.map((a) => ({ modelId: a.modelId.toString(), bps: a.bps })),
          split: split.map((s) => ({ address: s.address, amount: shares(s.amount) })),
          card: card ?? null,
        };
        out.result(data, [
          `model #${data.modelId}${card ? `  ${card.name}` : ""}`,
          ...(card?.description ? [`  ${card.description}`] : []),
          `  owner          ${data.owner}`,
          `  share token    ${data.shareToken} (${data.shareSupply} shares)`,
          `  price/call     ${data.price}${raw ? " units" : ""}`,
          `  operator fee   ${data.operatorFeeBps} bps`,
          `  upstream       ${data.upstreamBps} bps${data.paused ? "\n  paused" : ""}`,
          `  version        v${data.version}`,
          `  weights        ${data.weightsCid} (sha256 ${data.weightsSha256})`,
          `  card           ${data.metadataCid}`,
          ...(card
            ? [
                `  format         ONNX opset ${card.model.opset}`,
                ...card.model.inputs.map((t) => `  input          ${t.name} ${t.type}[${t.shape.join(", ")}]`),
                ...card.model.outputs.map((t) => `  output         ${t.name} ${t.type}[${t.shape.join(", ")}]`),
                ...(card.license ? [`  license        ${card.license}`] : []),
                ...(card.tags.length ? [`  tags           ${card.tags.join(", ")}`] : []),
              ]
            : []),
          ...data.parents.map((p) => `  parent         #${p.modelId} (${p.bps} bps)`),
          ...data.split.map((s) => `  holder at mint ${s.address} ${s.amount}`),
        ]);
      }),
    );
}
