// The gateway's own settings: the `gateway` section of the config file (./.modelshare/config.json by default),
// overridden by MODELSHARE_GATEWAY_* environment variables, with defaults that run a local gateway out of the box.
// Connection settings (RPC URL, operator key, deployment, storage) are the CLI's (sdk/cli/config.ts). Everything is
// validated at start; an invalid setting stops the gateway with a message naming it.
import { availableParallelism } from "node:os";
import { z } from "zod";
import { parseAmount } from "../sdk/amounts.ts";

const decimal = z.string().regex(/^(0|[1-9]\d*)(\.\d+)?$/, "must be a decimal amount like 0.5");
const seconds = z.number().positive();

export const gatewaySettingsSchema = z
  .object({
    host: z.string().default("127.0.0.1"),
    port: z.number().int().min(0).max(65535).default(8402),
    /** The URL clients reach the gateway at, if not the one they used (behind a proxy): x402's resource.url. */
    publicUrl: z.url().optional(),
    /** `sqlite:<file>` or `postgres://…`. */
    ledger: z.string().default("sqlite:.modelshare/ledger.sqlite"),
    /** "all", or the model ids to serve. */
    models: z.union([z.literal("all"), z.array(z.number().int().nonnegative()).min(1)]).default("all"),
    /** How long a model's price, fees and pause state are used before they are read again. */
    termsTtlSeconds: seconds.default(30),
    maxSessions: z.number().int().positive().default(16),
    /** Lanes a payer may use per model: how many calls it can have in flight. */
    maxLanes: z.number().int().min(1).max(4096).default(64),
    /** A voucher (and a session key) must stay settleable at least this long. */
    voucherMinLifetimeSeconds: seconds.default(3600),
    /** Answer calls that carry no payment, free (private deployments, benchmarks); paid calls are still charged. */
    serveUnpaid: z.boolean().default(false),
    /** x402 maxTimeoutSeconds: how long a client has to pay; also the EIP-3009 window `exact` clients sign. */
    paymentTimeoutSeconds: seconds.default(120),
    exact: z
      .object({
        enabled: z.boolean().default(true),
        /** Concurrent exact payments wait up to this long to share one payExactBatch transaction. */
        batchWindowMs: z.number().int().nonnegative().default(5),
        maxBatch: z.number().int().positive().max(500).default(50),
        /** An authorization must stay valid this long after it arrives to be accepted. */
        minValiditySeconds: seconds.default(15),
      })
      .prefault({}),
    credit: z
      .object({
        /** While the chain cannot be read, a known payer's unsettled amount may not exceed this (stablecoin). */
        limit: decimal.default("1"),
        /** The chain counts as unreadable after this long without a successful poll. */
        staleAfterSeconds: seconds.default(15),
      })
      .prefault({}),
    settlement: z
      .object({
        intervalSeconds: seconds.default(5),
        /** Settle a lane once this much is unsettled (stablecoin)… */
        minUnsettled: decimal.default("0.5"),
        /** …or once its oldest unsettled voucher is this old. */
        maxAgeSeconds: seconds.default(300),
        maxBatch: z.number().int().positive().max(500).default(100),
      })
      .prefault({}),
    inference: z
      .object({
        timeoutMs: z.number().int().positive().default(10_000),
        maxElements: z.number().int().positive().default(1 << 20),
        maxBatch: z.number().int().positive().default(256),
      })
      .prefault({}),
    /**
     * Worker threads for the request path's secp256k1 work (voucher signer recovery, receipt signing) while the event
     * loop is busy; 0 keeps it all on the event loop. Default: one per core beyond the first, at most 4.
     */
    cryptoThreads: z.number().int().min(0).max(64).default(Math.max(0, Math.min(4, availableParallelism() - 1))),
    /** Largest request body, e.g. "1mb". */
    bodyLimit: z.string().default("1mb"),
    chainPollSeconds: seconds.default(1),
    shutdownTimeoutSeconds: seconds.default(10),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  })
  .strict();

export type GatewaySettings = z.output<typeof gatewaySettingsSchema>;
export type GatewaySettingsInput = z.input<typeof gatewaySettingsSchema>;

/** Environment variables that override the file; each maps to one setting. */
const ENV: Record<string, (value: string, into: Record<string, unknown>) => void> = {
  MODELSHARE_GATEWAY_HOST: (v, s) => (s.host = v),
  MODELSHARE_GATEWAY_PORT: (v, s) => (s.port = Number(v)),
  MODELSHARE_GATEWAY_PUBLIC_URL: (v, s) => (s.publicUrl = v),
  MODELSHARE_LEDGER: (v, s) => (s.ledger = v),
  MODELSHARE_GATEWAY_MODELS: (v, s) => (s.models = v.trim() === "all" ? "all" : v.split(",").map((id) => Number(id.trim()))),
  MODELSHARE_GATEWAY_MAX_LANES: (v, s) => (s.maxLanes = Number(v)),
  MODELSHARE_GATEWAY_CREDIT_LIMIT: (v, s) => (s.credit = { ...(s.credit as object), limit: v }),
  MODELSHARE_GATEWAY_SETTLE_MIN: (v, s) => (s.settlement = { ...(s.settlement as object), minUnsettled: v }),
  MODELSHARE_GATEWAY_SETTLE_INTERVAL: (v, s) => (s.settlement = { ...(s.settlement as object), intervalSeconds: Number(v) }),
  MODELSHARE_GATEWAY_SERVE_UNPAID: (v, s) => (s.serveUnpaid = v === "true" || v === "1"),
  MODELSHARE_GATEWAY_CRYPTO_THREADS: (v, s) => (s.cryptoThreads = Number(v)),
  MODELSHARE_LOG_LEVEL: (v, s) => (s.logLevel = v),
};

export class GatewayConfigError extends Error {}

/** Merges the file's `gateway` section, the environment and `overrides` (flags), then validates. */
export function resolveGatewaySettings(
  fromFile: unknown,
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Record<string, unknown>> = {},
): GatewaySettings {
  if (fromFile !== undefined && (typeof fromFile !== "object" || fromFile === null || Array.isArray(fromFile))) {
    throw new GatewayConfigError("the config file's `gateway` section must be an object");
  }
  const merged: Record<string, unknown> = structuredClone((fromFile as Record<string, unknown> | undefined) ?? {});
  for (const [name, apply] of Object.entries(ENV)) {
    const value = env[name];
    if (value !== undefined && value !== "") apply(value, merged);
  }
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) merged[key] = value;
  const parsed = gatewaySettingsSchema.safeParse(merged);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => (i.code === "unrecognized_keys" ? `${["gateway", ...i.path].join(".")}: unknown setting(s) ${i.keys.join(", ")}` : `${["gateway", ...i.path].join(".")}: ${i.message}`))
      .join("; ");
    throw new GatewayConfigError(`invalid gateway settings: ${issues}`);
  }
  return parsed.data;
}

/** The settings' stablecoin amounts in base units. */
export function baseUnitAmounts(settings: GatewaySettings, decimals: number) {
  return {
    creditLimit: parseAmount(settings.credit.limit, decimals, "gateway.credit.limit"),
    minUnsettled: parseAmount(settings.settlement.minUnsettled, decimals, "gateway.settlement.minUnsettled"),
  };
}
