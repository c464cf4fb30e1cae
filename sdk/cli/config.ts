// Where the CLI finds its connection settings. Each setting comes from the first of: command-line flag,
// environment variable, config file (--config, $MODELSHARE_CONFIG, or ./.modelshare/config.json when present),
// built-in default. Nothing here touches the network.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { isHex, type Hex } from "viem";
import { z } from "zod";
import { DEFAULT_DEPLOYMENTS_DIR } from "../../deploy/deployment.ts";
import { DEFAULT_MAX_MODEL_BYTES } from "../onnx.ts";
import { CliError, EXIT } from "./output.ts";

export const DEFAULT_RPC_URL = "http://127.0.0.1:8545";
export const DEFAULT_CONFIG_FILE = path.join(".modelshare", "config.json");
export const DEFAULT_STORE_DIR = path.join(".modelshare", "store");

/** The storage adapter settings, handed to the SDK's `createStorage`. */
export interface StorageSettings {
  kind: "local" | "nft.storage" | "kubo";
  /** local: directory of the content-addressed store. */
  dir?: string;
  /** nft.storage-compatible endpoint or Kubo RPC API URL. */
  url?: string;
  /** nft.storage token. */
  token?: string;
}

export interface CliConfig {
  rpcUrl: string;
  /** The chain the user expects; the CLI refuses to act when the endpoint is on another one. */
  chainId?: number;
  privateKey?: Hex;
  keystore?: string;
  keystorePassword?: string;
  deploymentsDir: string;
  /** An explicit deployment file, instead of `<deploymentsDir>/<chainId>.json`. */
  deploymentFile?: string;
  storage: StorageSettings;
  maxModelBytes: number;
  /** Seconds to wait for a receipt before giving up (the transaction may still be mined). */
  receiptTimeout: number;
  /** The config file's `gateway` section, as written (validated by the gateway command). */
  gateway: Record<string, unknown> | undefined;
  /** The directory the config file's relative paths are resolved against. */
  configDir: string;
}

/** The global flags, as commander parses them. */
export interface GlobalFlags {
  config?: string;
  rpcUrl?: string;
  chainId?: string;
  privateKey?: string;
  keystore?: string;
  passwordFile?: string;
  deployments?: string;
  deployment?: string;
  storage?: string;
  storageDir?: string;
  storageUrl?: string;
  storageToken?: string;
  maxSize?: string;
  json?: boolean;
  raw?: boolean;
  progress?: boolean;
}

const fileSchema = z
  .object({
    rpcUrl: z.string().optional(),
    chainId: z.number().int().positive().optional(),
    privateKey: z.string().optional(),
    keystore: z.string().optional(),
    passwordFile: z.string().optional(),
    deploymentsDir: z.string().optional(),
    deployment: z.string().optional(),
    storage: z
      .object({
        kind: z.enum(["local", "nft.storage", "kubo"]).optional(),
        dir: z.string().optional(),
        url: z.string().optional(),
        token: z.string().optional(),
      })
      .strict()
      .optional(),
    maxModelSize: z.union([z.string(), z.number()]).optional(),
    receiptTimeout: z.number().positive().optional(),
    /** Set by `modelshare dev` on the file it writes, so a later run knows it may replace it. */
    generatedBy: z.string().optional(),
    /** The gateway's own settings, validated by `modelshare gateway` (gateway/config.ts). */
    gateway: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

type FileConfig = z.infer<typeof fileSchema>;

/** Merges flags, environment and config file. Paths in the config file are relative to the file. */
export async function loadConfig(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): Promise<CliConfig> {
  const { file, dir: fileDir } = await readConfigFile(flags.config ?? env.MODELSHARE_CONFIG);
  const fromFile = (p: string | undefined) => (p === undefined ? undefined : path.resolve(fileDir, p));
  const pick = <T>(...values: (T | undefined | "")[]): T | undefined => values.find((v) => v !== undefined && v !== "") as T | undefined;

  const chainIdText = pick(flags.chainId, env.MODELSHARE_CHAIN_ID, file.chainId?.toString());
  const keyText = pick(flags.privateKey, env.MODELSHARE_PRIVATE_KEY, file.privateKey);
  const passwordFile = pick(flags.passwordFile, env.MODELSHARE_PASSWORD_FILE, fromFile(file.passwordFile));
  const kind = pick(flags.storage, env.MODELSHARE_STORAGE, file.storage?.kind) ?? "local";
  if (kind !== "local" && kind !== "nft.storage" && kind !== "kubo") {
    throw new CliError(`unknown storage "${kind}": use local, nft.storage or kubo`);
  }
  const storage: StorageSettings = {
    kind,
    dir: pick(flags.storageDir, env.MODELSHARE_STORAGE_DIR, fromFile(file.storage?.dir)) ?? path.resolve(DEFAULT_STORE_DIR),
    url: pick(flags.storageUrl, env.MODELSHARE_STORAGE_URL, file.storage?.url),
    token: pick(flags.storageToken, env.MODELSHARE_STORAGE_TOKEN, file.storage?.token),
  };
  if (kind !== "local" && !storage.url) throw new CliError(`storage ${kind} needs a URL (--storage-url or MODELSHARE_STORAGE_URL)`);

  return {
    rpcUrl: pick(flags.rpcUrl, env.MODELSHARE_RPC_URL, file.rpcUrl) ?? DEFAULT_RPC_URL,
    chainId: chainIdText === undefined ? undefined : parseChainId(chainIdText),
    privateKey: keyText === undefined ? undefined : parsePrivateKey(keyText),
    keystore: pick(flags.keystore, env.MODELSHARE_KEYSTORE, fromFile(file.keystore)),
    keystorePassword: passwordFile ? await readPassword(passwordFile) : env.MODELSHARE_KEYSTORE_PASSWORD,
    deploymentsDir: pick(flags.deployments, env.MODELSHARE_DEPLOYMENTS_DIR, fromFile(file.deploymentsDir)) ?? DEFAULT_DEPLOYMENTS_DIR,
    deploymentFile: pick(flags.deployment, env.MODELSHARE_DEPLOYMENT, fromFile(file.deployment)),
    storage,
    maxModelBytes: parseSize(pick(flags.maxSize, env.MODELSHARE_MAX_MODEL_SIZE, file.maxModelSize?.toString()) ?? String(DEFAULT_MAX_MODEL_BYTES)),
    receiptTimeout: file.receiptTimeout ?? 300,
    gateway: file.gateway,
    configDir: fileDir,
  };
}

async function readConfigFile(explicit: string | undefined): Promise<{ file: FileConfig; dir: string }> {
  const name = explicit ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  if (!name) return { file: {}, dir: process.cwd() };
  let text: string;
  try {
    text = await readFile(name, "utf8");
  } catch {
    throw new CliError(`config file not found: ${name}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(`config file ${name} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) throw new CliError(`invalid config file ${name}: ${z.prettifyError(parsed.error).replace(/\n/g, " ")}`);
  return { file: parsed.data, dir: path.dirname(path.resolve(name)) };
}

async function readPassword(file: string): Promise<string> {
  try {
    return (await readFile(file, "utf8")).replace(/\r?\n$/, "");
  } catch {
    throw new CliError(`password file not found: ${file}`);
  }
}

export function parseChainId(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new CliError(`chain id must be a positive integer, got "${text}"`);
  return n;
}

export function parsePrivateKey(text: string): Hex {
  const key = text.startsWith("0x") ? text : `0x${text}`;
  if (!isHex(key) || key.length !== 66) throw new CliError("the private key must be 32 bytes of hex", EXIT.usage);
  return key;
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib|tb|tib)?$/i;
const UNITS: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3, tb: 1e12, tib: 1024 ** 4 };

/** "2GiB", "500MB", "1048576" → bytes. */
export function parseSize(text: string): number {
  const m = SIZE.exec(text.trim());
  if (!m) throw new CliError(`size must look like 2GiB, 500MB or a byte count, got "${text}"`);
  return Math.floor(Number(m[1]) * UNITS[(m[2] ?? "b").toLowerCase()]!);
}
