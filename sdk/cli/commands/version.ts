// `modelshare version <id> <model.onnx>`: publishes new weights for a model you own. The new card keeps the
// previous card's name, description, license and tags unless flags replace them; the lineage comes from the chain.
import type { Command } from "commander";
import { isAddressEqual, parseEventLogs, type Hex } from "viem";
import { modelRegistryAbi } from "../../contracts.ts";
import { buildModelCard, encodeModelCard } from "../../model-card.ts";
import { action, collect } from "../action.ts";
import { checkModel, readChecked } from "../model-file.ts";
import { connectChain, loadProtocol, prepare, withWallet } from "../context.ts";
import { latestVersion, lineageOf, requireModel } from "../model-info.ts";
import { CliError, EXIT } from "../output.ts";
import { parseModelId } from "../parse.ts";
import { fetchCard, PLACEHOLDER_CID, storeBytes } from "../store.ts";

interface Options {
  name?: string;
  description?: string;
  license?: string;
  image?: string;
  tag: string[];
}


export function register(program: Command) {
  program
    .command("version")
    .description("publish new ONNX weights for a model you own")
    .argument("<id>", "model id")
    .argument("<model>", "ONNX model file")
    .option("--name <name>", "model name (default: the previous card's)")
    .option("--description <text>", "description (default: the previous card's)")
    .option("--license <spdx>", "license (default: the previous card's)")
    .option("--image <uri>", "image URI (default: the previous card's)")
    .option("--tag <tag>", "tag (repeatable; replaces the previous card's tags)", collect, [])
    .action(
      action<Options, [string, string]>(async ({ opts, config, out, raw }, idText, file) => {
        const modelId = parseModelId(idText);
        const onnx = await checkModel(file, config.maxModelBytes, out);
        const ctx = await withWallet(await loadProtocol(await connectChain(config, out, raw)));
        const state = await requireModel(ctx, modelId);
        if (!isAddressEqual(state.owner, ctx.account.address)) {
          throw new CliError(`model #${modelId} is managed by its NFT owner ${state.owner}, not by ${ctx.account.address}`, EXIT.rejected);
        }
        const previous = await latestVersion(ctx, modelId);
        if (previous.weightsSha256.toLowerCase() === onnx.sha256) out.note(`note: these weights are the same as version ${previous.version}'s`);
        const call = (weightsCid: Hex, metadataCid: Hex) => ({
          address: ctx.deployment.contracts.registry,
          abi: modelRegistryAbi,
          functionName: "publishVersion" as const,
          args: [modelId, onnx.sha256, weightsCid, metadataCid] as const,
        });
        await prepare(ctx, call(PLACEHOLDER_CID, PLACEHOLDER_CID));

        const [oldCard, lineage] = await Promise.all([fetchCard(config, previous.metadataCid), lineageOf(ctx, modelId)]);
        const name = opts.name ?? oldCard?.name;
        if (!name) throw new CliError(`the previous model card (${previous.metadataCid}) is not in ${config.storage.kind} storage: pass --name`);
        const weights = await storeBytes(config, out, await readChecked(onnx), "weights");
        const card = buildModelCard({
          name,
          description: opts.description ?? oldCard?.description,
          image: opts.image ?? oldCard?.image,
          license: opts.license ?? oldCard?.license,
          tags: opts.tag.length ? opts.tag : oldCard?.tags,
          parents: lineage.parents,
          onnx,
          weightsCid: weights.cid,
        });
        const metadata = await storeBytes(config, out, encodeModelCard(card), "model card");

        const { hash, receipt } = await (await prepare(ctx, call(weights.cidBytes, metadata.cidBytes))).send("publish version");
        const [event] = parseEventLogs({ abi: modelRegistryAbi, eventName: "VersionPublished", logs: receipt.logs });
        const version = event?.args.version ?? previous.version + 1;
        out.result(
          {
            modelId: modelId.toString(),
            version,
            previousVersion: previous.version,
            weightsCid: weights.cid,
            metadataCid: metadata.cid,
            weightsSha256: onnx.sha256,
            sizeBytes: onnx.sizeBytes,
            txHash: hash,
            blockNumber: receipt.blockNumber,
            gasUsed: receipt.gasUsed,
          },
          [
            `model #${modelId}: published version ${version}`,
            `  weights     ${weights.cid}`,
            `  sha256      ${onnx.sha256}`,
            `  model card  ${metadata.cid}`,
            `  tx          ${hash} (block ${receipt.blockNumber}, gas ${receipt.gasUsed})`,
          ],
        );
      }),
    );
}
