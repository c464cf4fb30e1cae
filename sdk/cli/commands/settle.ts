// `modelshare settle`: settles the vouchers a gateway collected, now. With --gateway, the running gateway does it
// (POST /v1/admin/settle, loopback only), so its worker stays the only sender on the operator key. Without, the
// command opens the voucher ledger and runs one settlement round itself with the operator key, holding the ledger's
// settlement lock: it refuses to run while a gateway's worker holds it.
import type { Command } from "commander";
import type { LocalAccount } from "viem";
import { createLedger, DEFAULT_LEDGER_URL, LedgerError } from "../../../gateway/ledger/index.ts";
import type { Ledger } from "../../../gateway/ledger/types.ts";
import { SettlementLockedError } from "../../../gateway/settlement/errors.ts";
import type { Logger } from "../../../gateway/settlement/logger.ts";
import { roundFromJson, type SettlementRound } from "../../../gateway/settlement/result.ts";
import { SettlementWorker } from "../../../gateway/settlement/worker.ts";
import { describeError } from "../../errors.ts";
import { action } from "../action.ts";
import type { CliConfig } from "../config.ts";
import { connectChain, loadProtocol, withWallet } from "../context.ts";
import { CliError, EXIT, type Output } from "../output.ts";

interface Options {
  gateway?: string;
  ledger?: string;
  threshold?: string;
  maxBatch?: string;
}

export const SETTLE_PATH = "/v1/admin/settle";

export function register(program: Command) {
  program
    .command("settle")
    .description("settle collected vouchers on-chain now (through a running gateway, or from the ledger with the operator key)")
    .option("--gateway <url>", "ask this running gateway to settle (its admin endpoint answers on loopback only) [env MODELSHARE_GATEWAY_URL]")
    .option("--ledger <url>", `voucher ledger: sqlite:<path> or postgres://… (default ${DEFAULT_LEDGER_URL}) [env MODELSHARE_LEDGER]`)
    .option("--threshold <amount>", "only settle lanes owing at least this much (default: every lane that owes anything)")
    .option("--max-batch <n>", "vouchers per settle transaction (default 100)")
    .action(
      action<Options, []>(async ({ opts, config, out, raw }) => {
        const gateway = opts.gateway ?? process.env.MODELSHARE_GATEWAY_URL;
        const ledgerUrl = opts.ledger ?? process.env.MODELSHARE_LEDGER;
        if (gateway && opts.ledger) throw new CliError("use either --gateway (the gateway settles) or --ledger (this command settles), not both");
        if (gateway && (opts.threshold || opts.maxBatch)) throw new CliError("--threshold and --max-batch apply only without --gateway");
        if (gateway) return settleThroughGateway(gateway, config, out, raw);
        return settleFromLedger(ledgerUrl ?? DEFAULT_LEDGER_URL, opts, config, out, raw);
      }),
    );
}

async function settleThroughGateway(gateway: string, config: CliConfig, out: Output, raw: boolean): Promise<void> {
  let target: URL;
  try {
    target = new URL(SETTLE_PATH, gateway);
  } catch {
    throw new CliError(`--gateway must be a URL like http://127.0.0.1:8080, got "${gateway}"`);
  }
  const spinner = out.spinner(`asking the gateway at ${target.origin} to settle`);
  let response: Response;
  try {
    response = await fetch(target, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ all: true }),
      // A round waits for receipts; give it as long as a receipt may take, and some.
      signal: AbortSignal.timeout(config.receiptTimeout * 1000 + 60_000),
    });
  } catch (error) {
    spinner.stop();
    const timedOut = (error as Error).name === "TimeoutError";
    throw new CliError(timedOut ? `the gateway at ${target.origin} did not answer in time` : `cannot reach the gateway at ${target.origin}: is it running?`, EXIT.environment);
  }
  const text = await response.text();
  spinner.stop();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CliError(`the gateway at ${target.origin} answered ${response.status} with something that is not JSON`, EXIT.failure);
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } }).error;
    throw new CliError(
      `the gateway did not settle (${response.status}${error?.code ? ` ${error.code}` : ""}): ${error?.message ?? text.slice(0, 200)}`,
      response.status === 404 ? EXIT.environment : EXIT.failure,
    );
  }
  let round: SettlementRound;
  try {
    round = roundFromJson(body);
  } catch (error) {
    throw new CliError(`the gateway's answer is ${(error as Error).message}`, EXIT.failure);
  }
  report(out, { via: "gateway", gateway: target.origin }, round, await amountFormatter(config, out, raw));
}

async function settleFromLedger(url: string, opts: Options, config: CliConfig, out: Output, raw: boolean): Promise<void> {
  const maxBatch = opts.maxBatch === undefined ? undefined : Number(opts.maxBatch);
  if (maxBatch !== undefined && (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > 1_000)) {
    throw new CliError(`--max-batch must be a whole number from 1 to 1000, got "${opts.maxBatch}"`);
  }
  const ctx = await withWallet(await loadProtocol(await connectChain(config, out, raw)));
  const threshold = opts.threshold === undefined ? undefined : ctx.amount(opts.threshold, "--threshold");
  if (threshold === 0n) throw new CliError("--threshold must be above zero");
  if (ctx.account.type !== "local") throw new CliError("settling needs the operator's key (--private-key, MODELSHARE_PRIVATE_KEY or --keystore)");
  const ledger = await openLedger(url);
  const worker = new SettlementWorker({
    ledger,
    client: ctx.publicClient,
    account: ctx.account as LocalAccount,
    vault: ctx.deployment.contracts.vault,
    threshold,
    maxBatch,
    receiptTimeoutMs: config.receiptTimeout * 1000,
    owner: `modelshare settle (pid ${process.pid})`,
    logger: notes(out),
  });
  const spinner = out.spinner(`settling vouchers of operator ${ctx.account.address}`);
  let round: SettlementRound;
  let remaining: { amount: bigint; lanes: number };
  try {
    round = await worker.runOnce({ all: threshold === undefined });
    remaining = await ledger.unsettledTotal(ctx.account.address);
  } catch (error) {
    if (error instanceof SettlementLockedError) {
      throw new CliError(`${error.message}. A gateway is settling with this key: ask it with \`modelshare settle --gateway <url>\``, EXIT.environment);
    }
    if (error instanceof LedgerError) throw new CliError(`the ledger failed: ${error.message}`, EXIT.environment);
    throw new CliError(`settlement failed: ${describeError(error)}`, EXIT.failure);
  } finally {
    spinner.stop();
    await worker.stop();
    await ledger.close();
  }
  report(out, { via: "ledger", ledger: ledger.kind, operator: ctx.account.address }, round, ctx.format, remaining);
}

async function openLedger(url: string): Promise<Ledger> {
  try {
    return await createLedger(url);
  } catch (error) {
    if (error instanceof LedgerError) throw new CliError(error.message, error.code === "bad_url" ? EXIT.usage : EXIT.environment);
    throw error;
  }
}

/** Base units → decimals when the deployment (and so the stablecoin's decimals) can be read; else base units. */
async function amountFormatter(config: CliConfig, out: Output, raw: boolean): Promise<(units: bigint) => string> {
  if (raw) return (units) => units.toString();
  try {
    return (await loadProtocol(await connectChain(config, out, raw))).format;
  } catch {
    out.note("(amounts in base units: the chain's deployment could not be read)");
    return (units) => units.toString();
  }
}

/** The worker's warnings as notes on stderr; its info and debug lines stay quiet. */
function notes(out: Output): Logger {
  const quiet = () => {};
  const note = (obj: object, msg?: string) => {
    const fields = Object.entries(obj).map(([k, v]) => `${k}=${String(v)}`).join(" ");
    out.note(`${msg ?? "settlement"}${fields ? ` (${fields})` : ""}`);
  };
  return { debug: quiet, info: quiet, warn: note, error: note };
}

function report(
  out: Output,
  source: Record<string, string>,
  round: SettlementRound,
  format: (units: bigint) => string,
  remaining?: { amount: bigint; lanes: number },
): void {
  const data = {
    ...source,
    batches: round.batches,
    vouchers: round.vouchers,
    settled: round.settled,
    charged: format(round.charged),
    chargedUnits: round.charged.toString(),
    shortfall: format(round.shortfall),
    shortfallUnits: round.shortfall.toString(),
    rejected: round.rejected.map((r) => ({
      payer: r.payer,
      modelId: r.modelId.toString(),
      lane: r.lane,
      reason: r.reason,
      unsettled: format(r.unsettled),
      unsettledUnits: r.unsettled.toString(),
    })),
    transactions: round.transactions,
    recovered: round.recovered,
    pending: round.pending,
    replaced: round.replaced,
    reverted: round.reverted,
    ...(remaining ? { remaining: format(remaining.amount), remainingUnits: remaining.amount.toString(), remainingLanes: remaining.lanes } : {}),
  };
  const lines: string[] = [];
  if (round.batches === 0 && round.pending === 0) lines.push("nothing to settle");
  else {
    const txs = round.batches === 1 ? "1 transaction" : `${round.batches} transactions`;
    lines.push(`settled ${round.vouchers} voucher(s) in ${txs}: charged ${data.charged}${round.shortfall > 0n ? `, ${data.shortfall} short` : ""}`);
  }
  if (round.recovered > 0) lines.push(`  finished ${round.recovered} transaction(s) left in flight earlier`);
  if (round.pending > 0) lines.push(`  ${round.pending} transaction(s) not mined yet: run again to finish them`);
  for (const r of data.rejected) lines.push(`  rejected: payer ${r.payer} model #${r.modelId} lane ${r.lane}: ${r.reason} (${r.unsettled} unpaid)`);
  for (const hash of round.transactions) lines.push(`  tx ${hash}`);
  if (remaining && remaining.lanes > 0) lines.push(`still owed: ${data.remaining} on ${remaining.lanes} lane(s)`);
  out.result(data, lines);
}
