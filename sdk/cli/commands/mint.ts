// `modelshare mint <model.onnx>`: checks the model, stores weights and card, and registers the model with its
// share split, lineage, price and operator fee. Everything that can be checked is checked before the upload, and
// the mint is simulated twice — with placeholder CIDs before uploading, with the real ones before sending — so a
// mint that would revert costs neither an upload nor a transaction.
import type { Command } from "commander";
import { parseEventLogs, type Hex } from "viem";
import { modelRegistryAbi } from "../../contracts.ts";
import { buildModelCard, encodeModelCard } from "../../model-card.ts";
import { action, collect } from "../action.ts";
import { checkModel, readChecked } from "../model-file.ts";
import { connectChain, loadProtocol, prepare, withWallet, type WalletContext } from "../context.ts";
import { requireModel } from "../model-info.ts";
import { CliError } from "../output.ts";
import { formatShares, LIMITS, parseBps, parseParents, parseShares, parseSplit } from "../parse.ts";
import { PLACEHOLDER_CID, storeBytes } from "../store.ts";

interface Options {
  name: string;
  description?: string;
  license?: string;
  image?: string;
  tag: string[];
  price: string;
  shares: string;
  split: string[];
  parent: string[];
  operatorFee: string;
}


export function register(program: Command) {
  program
    .command("mint")
    .description("mint a model: store its ONNX weights and model card, register it and create its share token")
    .argument("<model>", "ONNX model file")
    .requiredOption("--name <name>", "model name")
    .option("--description <text>", "model description")
    .option("--license <spdx>", "license of the weights, e.g. Apache-2.0")
    .option("--image <uri>", "image URI for the model card")
    .option("--tag <tag>", "free-form tag (repeatable)", collect, [])
    .requiredOption("--price <amount>", "price per call in stablecoin, e.g. 0.002")
    .requiredOption("--shares <n>", "total share supply, in whole shares (18 decimals)")
    .option("--split <address=shares>", "share recipient (repeatable); the amounts must add up to --shares. Without --split the creator gets every share", collect, [])
    .option("--parent <modelId=bps>", "parent model and its royalty in bps (repeatable; at most 8, 5000 bps in total)", collect, [])
    .option("--operator-fee <bps>", `operator fee in bps (0-${LIMITS.maxOperatorFeeBps})`, "500")
    .action(
      action<Options, [string]>(async ({ opts, config, out, raw }, file) => {
        // 1. Arguments and file, off-chain.
        const supply = parseShares(opts.shares, "--shares", raw);
        if (supply > LIMITS.maxSupply) throw new CliError(`--shares is too large: at most ${formatShares(LIMITS.maxSupply)} shares`);
        const parents = parseParents(opts.parent);
        const operatorFeeBps = parseBps(opts.operatorFee, "--operator-fee", LIMITS.maxOperatorFeeBps);
        if (!opts.name.trim()) throw new CliError("--name must not be empty");
        const onnx = await checkModel(file, config.maxModelBytes, out);

        // 2. Chain, deployment, account; then what needs the chain to check.
        const ctx = await withWallet(await loadProtocol(await connectChain(config, out, raw)));
        const price = ctx.amount(opts.price, "--price");
        if (price === 0n) throw new CliError("--price must be above zero");
        if (price > LIMITS.maxPrice) throw new CliError(`--price is too large: at most ${ctx.format(LIMITS.maxPrice)}`);
        const split = parseSplit(opts.split, supply, ctx.account.address, raw);
        for (const p of parents) await requireModel(ctx, p.modelId, "parent model");

        const params = (weightsCid: Hex, metadataCid: Hex) => ({
          weightsSha256: onnx.sha256,
          weightsCid,
          metadataCid,
          pricePerCall: price,
          operatorFeeBps,
          parentIds: parents.map((p) => p.modelId),
          parentBps: parents.map((p) => p.bps),
          recipients: split.map((s) => s.address),
          amounts: split.map((s) => s.amount),
        });
        const mintCall = (weightsCid: Hex, metadataCid: Hex) => ({
          address: ctx.deployment.contracts.registry,
          abi: modelRegistryAbi,
          functionName: "mint" as const,
          args: [params(weightsCid, metadataCid)] as const,
        });
        await prepare(ctx, mintCall(PLACEHOLDER_CID, PLACEHOLDER_CID));

        // 3. Storage: weights, then the card that names the weights' CID.
        const weights = await storeBytes(config, out, await readChecked(onnx), "weights");
        const card = buildModelCard({
          name: opts.name,
          description: opts.description,
          image: opts.image,
          license: opts.license,
          tags: opts.tag,
          parents: parents.map((p) => ({ modelId: p.modelId, bps: p.bps })),
          onnx,
          weightsCid: weights.cid,
        });
        const metadata = await storeBytes(config, out, encodeModelCard(card), "model card");

        // 4. The transaction.
        const prepared = await prepare(ctx, mintCall(weights.cidBytes, metadata.cidBytes));
        const { hash, receipt } = await prepared.send("mint");
        const minted = minedModel(ctx, receipt.logs);
        const tokenURI = await ctx.ms.registry.read.tokenURI([minted.modelId]);
        const shares = (n: bigint) => (raw ? n.toString() : formatShares(n));
        out.result(
          {
            modelId: minted.modelId.toString(),
            shareToken: minted.shares,
            owner: ctx.account.address,
            name: card.name,
            weightsCid: weights.cid,
            metadataCid: metadata.cid,
            tokenURI,
            weightsSha256: onnx.sha256,
            sizeBytes: onnx.sizeBytes,
            opset: onnx.opset,
            price: ctx.format(price),
            priceUnits: price.toString(),
            operatorFeeBps,
            shares: shares(supply),
            split: split.map((s) => ({ address: s.address, amount: shares(s.amount) })),
            parents: parents.map((p) => ({ modelId: p.modelId.toString(), bps: p.bps })),
            txHash: hash,
            blockNumber: receipt.blockNumber,
            gasUsed: receipt.gasUsed,
          },
          [
            `minted model #${minted.modelId} "${card.name}"`,
            `  share token  ${minted.shares} (${shares(supply)} shares to ${split.length} holder(s))`,
            `  weights      ${weights.cid}`,
            `  sha256       ${onnx.sha256}`,
            `  model card   ${metadata.cid}`,
            `  price/call   ${ctx.format(price)}, operator fee ${operatorFeeBps} bps${parents.length ? `, parents ${parents.map((p) => `#${p.modelId}=${p.bps}bps`).join(" ")}` : ""}`,
            `  tx           ${hash} (block ${receipt.blockNumber}, gas ${receipt.gasUsed})`,
          ],
        );
      }),
    );
}

/** The model id and share token from the receipt's ModelMinted event (not the simulation: another mint may land first). */
function minedModel(ctx: WalletContext, logs: Parameters<typeof parseEventLogs>[0]["logs"]) {
  const [event] = parseEventLogs({ abi: modelRegistryAbi, eventName: "ModelMinted", logs }).filter(
    (e) => e.address.toLowerCase() === ctx.deployment.contracts.registry.toLowerCase(),
  );
  if (!event) throw new CliError("the mint transaction succeeded but emitted no ModelMinted event");
  return { modelId: event.args.modelId, shares: event.args.shares };
}
