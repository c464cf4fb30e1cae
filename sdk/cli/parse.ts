// Off-chain validation of command arguments, mirroring the registry's limits so a bad mint fails before any
// upload or transaction. The contract stays the authority: simulation catches anything missed here.
import { getAddress, isAddress, parseUnits, type Address } from "viem";
import { CliError } from "./output.ts";

/** The registry's limits (ModelRegistry constants). */
export const LIMITS = {
  maxParents: 8,
  maxUpstreamBps: 5_000,
  maxOperatorFeeBps: 3_000,
  maxRecipients: 64,
  maxSupply: 2n ** 96n - 1n,
  maxPrice: 2n ** 96n - 1n,
} as const;

/** Share tokens have 18 decimals, like most ERC-20s. */
export const SHARE_DECIMALS = 18;

export function parseModelId(text: string, what = "model id"): bigint {
  if (!/^\d+$/.test(text.trim()) || BigInt(text.trim()) === 0n) throw new CliError(`${what} must be a positive integer, got "${text}"`);
  return BigInt(text.trim());
}

export function parseBps(text: string, what: string, max = 10_000): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n > max) throw new CliError(`${what} must be an integer from 0 to ${max} bps, got "${text}"`);
  return n;
}

/** A share count: whole shares as a decimal ("1000", "0.5"), or base units with --raw. */
export function parseShares(text: string, what: string, raw: boolean): bigint {
  const value = text.trim();
  let units: bigint;
  if (raw) {
    if (!/^\d+$/.test(value)) throw new CliError(`${what} must be a whole number of base units with --raw, got "${text}"`);
    units = BigInt(value);
  } else {
    const m = /^(0|[1-9]\d*)(?:\.(\d+))?$/.exec(value);
    if (!m) throw new CliError(`${what} must be a positive number of shares like 1000, got "${text}"`);
    if ((m[2] ?? "").length > SHARE_DECIMALS) throw new CliError(`${what} "${text}" has more than ${SHARE_DECIMALS} decimals`);
    units = parseUnits(value, SHARE_DECIMALS);
  }
  if (units === 0n) throw new CliError(`${what} must be above zero`);
  return units;
}

export interface SplitEntry {
  address: Address;
  amount: bigint;
}

/**
 * `--split <address>=<shares>` entries. The amounts must add up to exactly `--shares`: nothing is implied, so a
 * creator who keeps part lists itself. Only without any --split does the creator receive the whole supply.
 */
export function parseSplit(entries: string[], supply: bigint, creator: Address, raw: boolean): SplitEntry[] {
  if (supply > LIMITS.maxSupply) throw new CliError(`--shares is too large: at most ${LIMITS.maxSupply} base units`);
  if (entries.length === 0) return [{ address: creator, amount: supply }];
  if (entries.length > LIMITS.maxRecipients) throw new CliError(`--split names ${entries.length} recipients; at most ${LIMITS.maxRecipients}`);
  const seen = new Set<string>();
  const split = entries.map((entry) => {
    const [who, amount, extra] = entry.split("=");
    if (!who || amount === undefined || extra !== undefined) throw new CliError(`--split must look like <address>=<shares>, got "${entry}"`);
    if (!isAddress(who, { strict: false })) throw new CliError(`--split "${entry}": "${who}" is not an address`);
    const address = getAddress(who);
    if (address === "0x0000000000000000000000000000000000000000") throw new CliError(`--split "${entry}": the zero address cannot hold shares`);
    if (seen.has(address)) throw new CliError(`--split names ${address} twice`);
    seen.add(address);
    return { address, amount: parseShares(amount, `--split amount for ${address}`, raw) };
  });
  const total = split.reduce((sum, e) => sum + e.amount, 0n);
  if (total !== supply) {
    const show = (n: bigint) => (raw ? n.toString() : formatShares(n));
    throw new CliError(
      `--split adds up to ${show(total)} shares but --shares is ${show(supply)}: the split must account for every share (list the creator too if it keeps some)`,
    );
  }
  return split;
}

export interface ParentEntry {
  modelId: bigint;
  bps: number;
}

/** `--parent <modelId>=<bps>` entries, checked against the registry's count, per-parent and total limits. */
export function parseParents(entries: string[]): ParentEntry[] {
  if (entries.length > LIMITS.maxParents) throw new CliError(`${entries.length} parents declared; a model may declare at most ${LIMITS.maxParents}`);
  const seen = new Set<bigint>();
  const parents = entries.map((entry) => {
    const [id, bps, extra] = entry.split("=");
    if (!id || bps === undefined || extra !== undefined) throw new CliError(`--parent must look like <modelId>=<bps>, got "${entry}"`);
    const modelId = parseModelId(id, "--parent model id");
    const value = parseBps(bps, `--parent ${modelId} royalty`, LIMITS.maxUpstreamBps);
    if (value === 0) throw new CliError(`--parent ${modelId} royalty must be above 0 bps`);
    if (seen.has(modelId)) throw new CliError(`--parent ${modelId} is listed twice`);
    seen.add(modelId);
    return { modelId, bps: value };
  });
  const total = parents.reduce((sum, p) => sum + p.bps, 0);
  if (total > LIMITS.maxUpstreamBps) throw new CliError(`parent royalties add up to ${total} bps; at most ${LIMITS.maxUpstreamBps} bps (50%)`);
  return parents;
}

export function formatShares(units: bigint): string {
  const whole = units / 10n ** BigInt(SHARE_DECIMALS);
  const fraction = (units % 10n ** BigInt(SHARE_DECIMALS)).toString().padStart(SHARE_DECIMALS, "0").replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : whole.toString();
}
