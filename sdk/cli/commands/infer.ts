// `modelshare infer <modelId>`: one paid inference through a gateway. Pays with a voucher from the account's escrow
// (default) or with one x402 `exact` transfer from its wallet, checks the operator's receipt against the inputs sent
// and the outputs received, and prints the outputs, the payment and the receipt check. Voucher lane states are kept
// in a file (./.modelshare/lanes.json), so consecutive runs continue their tab without a corrective 402.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { createPublicClient, http, type LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { readDeployment, type Deployment } from "../../../deploy/deployment.ts";
import { HARDHAT_DEFAULT_KEY, LOCAL_CHAIN_IDS } from "../../../deploy/deploy-to-chain.ts";
import { formatAmount } from "../../amounts.ts";
import { showDims, type JsonTensor } from "../../tensors.ts";
import { GatewayError, GatewayUnreachableError, PriceTooHighError, ReceiptError, VoucherResyncError, VoucherStateError } from "../../x402/errors.ts";
import { JsonFileLaneStore } from "../../x402/lane-store.ts";
import { fetchModelInfo, ModelInfoError, type GatewayModelInfo } from "../../x402/model-info.ts";
import { chainIdOf } from "../../x402/networks.ts";
import { createPayingFetch, type InferResult } from "../../x402/paying-fetch.ts";
import { action } from "../action.ts";
import type { CliConfig } from "../config.ts";
import { parseUserAmount } from "../context.ts";
import { readKeystore } from "../keystore.ts";
import { CliError, EXIT } from "../output.ts";
import { parseModelId } from "../parse.ts";

interface Options {
  gateway?: string;
  input?: string;
  data?: string;
  scheme: string;
  modelVersion?: string;
  maxPrice?: string;
  lanes?: string;
}

export const DEFAULT_GATEWAY_URL = "http://127.0.0.1:8402";
export const DEFAULT_LANES_FILE = path.join(".modelshare", "lanes.json");

/** Decimals assumed when no deployment file names the stablecoin (USDC's). */
const DEFAULT_DECIMALS = 6;

export function register(program: Command) {
  program
    .command("infer")
    .description("run one paid inference through a gateway and check its receipt")
    .argument("<modelId>", "model id")
    .option("--gateway <url>", `gateway URL (default ${DEFAULT_GATEWAY_URL}) [env MODELSHARE_GATEWAY_URL]`)
    .option("--input <file>", 'JSON file with the inputs: { "<name>": { "dims": [...], "data": [...] } } or { "inputs": {...}, "version": n }')
    .option("--data <json>", "the same JSON, inline")
    .option("--scheme <scheme>", "voucher (from your escrow) or exact (one transfer from your wallet)", "voucher")
    // Not --version: the program's own --version (print the CLI's version) is recognised anywhere on the line.
    .option("--model-version <n>", "run this model version instead of the latest")
    .option("--max-price <amount>", "refuse to pay more per call than this (default: the price the gateway lists)")
    .option("--lanes <file>", `where voucher lane states are kept (default ${DEFAULT_LANES_FILE})`)
    .action(
      action<Options, [string]>(async ({ opts, config, out, raw }, idText) => {
        const modelId = parseModelId(idText);
        if (opts.scheme !== "voucher" && opts.scheme !== "exact") throw new CliError(`--scheme must be voucher or exact, got "${opts.scheme}"`);
        const request = await readRequest(opts);
        const gateway = gatewayUrl(opts.gateway ?? process.env.MODELSHARE_GATEWAY_URL ?? DEFAULT_GATEWAY_URL);

        const info = await describe(gateway, modelId, request.version);
        const chainId = info.accepts.map((a) => chainIdOf(a.network)).find((id) => id !== undefined);
        if (chainId === undefined) throw new CliError(`the gateway at ${gateway} offers no payment on an eip155 network for model ${modelId}`, EXIT.environment);
        const deployment = await readDeployment(chainId, config.deploymentsDir).catch(() => undefined);
        const decimals = deployment?.stablecoin.decimals ?? DEFAULT_DECIMALS;
        const format = (units: bigint) => (raw ? units.toString() : formatAmount(units, decimals));
        const price = BigInt(info.pricePerCall);
        const maxPrice = opts.maxPrice === undefined ? price : parseUserAmount(opts.maxPrice, decimals, "--max-price", raw);

        const account = await payingAccount(config, chainId, out.note.bind(out));
        const laneStore = new JsonFileLaneStore(opts.lanes ?? DEFAULT_LANES_FILE);
        const pay = createPayingFetch({
          account,
          gateway,
          prefer: opts.scheme as "voucher" | "exact",
          maxPricePerCall: maxPrice,
          laneStore,
          ...(deployment ? { vault: deployment.contracts.vault } : {}),
          // Only read when a gateway offers a lane state without a signature.
          publicClient: createPublicClient({ transport: http(config.rpcUrl, { retryCount: 0, timeout: 10_000 }) }),
        });

        let result: InferResult;
        try {
          result = await pay.infer(modelId, request.inputs, request.version === undefined ? {} : { version: request.version });
        } catch (error) {
          throw explain(error, { gateway, modelId, price: format(price), deployment });
        } finally {
          await laneStore.flush().catch((error: Error) => out.note(`warning: ${error.message}`));
        }
        report(out, result, format);
      }),
    );
}

interface InferRequest {
  inputs: Record<string, unknown>;
  version: number | undefined;
}

/** The inputs from --input or --data: the named tensors, or a whole request body `{ inputs, version }`. */
async function readRequest(opts: Options): Promise<InferRequest> {
  if ((opts.input === undefined) === (opts.data === undefined)) throw new CliError("give the inputs with either --input <file.json> or --data '<json>'");
  let text: string;
  let source: string;
  if (opts.input !== undefined) {
    source = `--input ${opts.input}`;
    try {
      text = await readFile(opts.input, "utf8");
    } catch {
      throw new CliError(`cannot read the input file ${opts.input}`);
    }
  } else {
    source = "--data";
    text = opts.data!;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${source} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new CliError(`${source} must be a JSON object of named tensors`);
  const body = json as Record<string, unknown>;
  const wrapped = "inputs" in body;
  const inputs = wrapped ? body.inputs : body;
  if (typeof inputs !== "object" || inputs === null || Array.isArray(inputs)) throw new CliError(`${source}: "inputs" must be a JSON object of named tensors`);
  let version: number | undefined;
  if (wrapped) {
    const extra = Object.keys(body).filter((key) => key !== "inputs" && key !== "version");
    if (extra.length > 0) throw new CliError(`${source} has ${extra.map((k) => JSON.stringify(k)).join(", ")} next to "inputs"; a request has only "inputs" and "version"`);
    if (body.version !== undefined) {
      if (typeof body.version !== "number" || !Number.isSafeInteger(body.version) || body.version < 1) throw new CliError(`${source}: "version" must be a positive integer`);
      version = body.version;
    }
  }
  if (opts.modelVersion !== undefined) {
    if (!/^[1-9]\d{0,9}$/.test(opts.modelVersion)) throw new CliError(`--model-version must be a positive integer, got "${opts.modelVersion}"`);
    version = Number(opts.modelVersion);
  }
  return { inputs: inputs as Record<string, unknown>, version };
}

function gatewayUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(`--gateway is not a URL: "${text}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new CliError(`--gateway must be an http(s) URL, got "${text}"`);
  return url.href.replace(/\/+$/, "");
}

async function describe(gateway: string, modelId: bigint, version: number | undefined): Promise<GatewayModelInfo> {
  try {
    return await fetchModelInfo(fetch, gateway, modelId.toString(), version);
  } catch (error) {
    if (!(error instanceof ModelInfoError)) throw error;
    if (error.status === undefined) throw new CliError(`cannot reach the gateway at ${gateway}: is it running? (start one with \`modelshare gateway\`)`, EXIT.environment);
    if (error.status === 404 || error.status === 400) throw new CliError(error.message, EXIT.usage);
    throw new CliError(`${error.message} (HTTP ${error.status})`, EXIT.environment);
  }
}

/** The key that pays: from the configuration, or Hardhat's well-known first account on a local chain. */
async function payingAccount(config: CliConfig, chainId: number, note: (message: string) => void): Promise<LocalAccount> {
  if (config.privateKey) return privateKeyToAccount(config.privateKey);
  if (config.keystore) return privateKeyToAccount(await readKeystore(config.keystore, config.keystorePassword));
  if (LOCAL_CHAIN_IDS.has(chainId)) {
    note("no key configured: paying with Hardhat's first default account (local chain only)");
    return privateKeyToAccount(HARDHAT_DEFAULT_KEY);
  }
  throw new CliError(`no account to pay with on chain ${chainId}: set --private-key, MODELSHARE_PRIVATE_KEY or --keystore`);
}

/** Turns a failed call into one line and the exit code that classifies it. */
function explain(error: unknown, ctx: { gateway: string; modelId: bigint; price: string; deployment: Deployment | undefined }): unknown {
  if (error instanceof GatewayUnreachableError) return new CliError(`${error.message}; is it running? (start one with \`modelshare gateway\`)`, EXIT.environment);
  if (error instanceof PriceTooHighError) return new CliError(`${error.message}; raise --max-price to pay it`, EXIT.usage);
  if (error instanceof ReceiptError) return new CliError(`${error.message}; the answer is not trusted (the payment was made)`, EXIT.failure);
  if (error instanceof VoucherResyncError || error instanceof VoucherStateError) return new CliError(error.message, EXIT.failure);
  if (!(error instanceof GatewayError)) return error;
  const { code } = error;
  if (code === "insufficient_escrow") {
    return new CliError(`the gateway refused the voucher: ${error.detail}. Deposit first: modelshare deposit <amount> (model ${ctx.modelId} costs ${ctx.price} per call)`, EXIT.environment);
  }
  if (code === "insufficient_balance") {
    return new CliError(`the wallet cannot pay an exact transfer: ${error.detail}. Fund it, or pay from escrow with --scheme voucher`, EXIT.environment);
  }
  if (error.status === 402 || error.status === 409 || error.status === 403) return new CliError(`the gateway refused the payment (${error.message})`, EXIT.rejected);
  if (error.status >= 400 && error.status < 500) return new CliError(`the gateway refused the request (${error.message})`, EXIT.usage);
  const charged = error.payment?.charged === false ? "; nothing was charged" : "";
  return new CliError(`the gateway failed (${error.message})${charged}`, error.status === 503 ? EXIT.environment : EXIT.failure);
}

function report(out: { result(data: Record<string, unknown>, human?: string[]): void }, result: InferResult, format: (units: bigint) => string): void {
  const { model, outputs, payment } = result;
  const receipt = payment.receipt;
  const data = {
    modelId: model.id,
    version: model.version,
    weightsSha256: model.weightsSha256,
    outputs,
    payment: {
      scheme: payment.scheme,
      payer: payment.payer,
      amount: format(payment.amount),
      ...(payment.lane === undefined ? {} : { lane: payment.lane, cumulativeAmount: format(payment.cumulativeAmount), cumulativeCalls: payment.cumulativeCalls?.toString() }),
      ...(payment.transaction ? { transaction: payment.transaction } : {}),
      replay: payment.replay,
    },
    receipt: { verified: payment.receiptVerified, operator: receipt.operator, signature: receipt.signature, ...receipt.receipt },
  };
  const paid =
    payment.scheme === "exact"
      ? `paid ${format(payment.amount)} with an x402 exact transfer (${payment.transaction})`
      : `paid ${format(payment.amount)} with a voucher: lane ${payment.lane}, cumulative ${format(payment.cumulativeAmount)} after ${payment.cumulativeCalls} calls` +
        (payment.replay ? " (an identical retry, not charged again)" : "");
  out.result(data, [
    `model #${model.id} version ${model.version} (weights ${model.weightsSha256.slice(0, 10)}…)`,
    "outputs",
    ...Object.entries(outputs).map(([name, tensor]) => `  ${name}  ${describeTensor(tensor)}`),
    paid,
    `receipt checked: signed by operator ${receipt.operator}, input and output hashes match`,
  ]);
}

function describeTensor(tensor: JsonTensor): string {
  const shown = tensor.data.slice(0, 8).map((v) => (typeof v === "number" ? Number(v.toPrecision(6)) : v));
  const more = tensor.data.length > 8 ? `, … ${tensor.data.length - 8} more` : "";
  return `${tensor.type} ${showDims(tensor.dims)}  [${shown.join(", ")}${more}]`;
}
