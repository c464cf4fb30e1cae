// The models a gateway serves: a model id (and optionally a version) in, a validated, running ONNX session and the
// model's current terms out.
//
// Request path: `peek(id, version?)` answers synchronously from memory when the session is loaded and the terms are
// fresh; on a miss the server awaits `load(id, version?)`, which serves stale terms while they refresh in the
// background, and touches the chain or storage only for what it has never seen. Loading a version reads its record
// from the registry once (versions are immutable), fetches the weights by CID, checks their sha256 against the
// registry before any session exists, and shares one load between concurrent callers. Loaded sessions live in an LRU
// bounded by count and by weight bytes.
import type { Address } from "viem";
import type { Modelshare } from "../../sdk/contracts.ts";
import type { TensorSignature } from "../../sdk/onnx.ts";
import type { StorageAdapter } from "../../sdk/storage/types.ts";
import type { Tensor, Tensors } from "../../sdk/tensors.ts";
import { ModelError } from "./errors.ts";
import { silentLogger, type Logger } from "./logger.ts";
import { BoundedLru } from "./lru.ts";
import { RegistryReader, type ModelTerms, type VersionRecord } from "./registry.ts";
import { DEFAULT_SESSION_OPTIONS, ModelSession, SessionReleasedError, type SessionOptions, type Signature } from "./session.ts";
import { fetchWeights } from "./weights.ts";

export interface ModelCatalogOptions {
  /** The SDK's contract handle (`connect()` from sdk/contracts.ts); only the registry is read. */
  contracts: Pick<Modelshare, "registry">;
  storage: StorageAdapter;
  /** Model ids this gateway serves, or "all" for every model on the registry. */
  serve: "all" | readonly (bigint | number)[];
  /** Loaded sessions kept at most (default 16). */
  maxSessions?: number;
  /** Bytes of weights kept loaded at most (default 4 GiB); one model larger than this is still served alone. */
  maxSessionBytes?: number;
  /** How long price, fees, paused, shares and latest version are served without asking the chain (default 30 s). */
  termsTtlMs?: number;
  /** After a failed registry read, how long background refreshes wait before the next try (default 2 s). */
  termsRetryMs?: number;
  /** How long a model whose weights mismatch or do not load is refused without trying again (default 5 min). */
  failureTtlMs?: number;
  /** Default deadline of one inference run (default 10 s). */
  runTimeoutMs?: number;
  /** onnxruntime session options, over DEFAULT_SESSION_OPTIONS. */
  sessionOptions?: SessionOptions;
  logger?: Logger;
  /** Clock in ms (tests move it). */
  now?: () => number;
}

export interface RunOptions {
  timeoutMs?: number;
}

/** One version of one model, ready to run, with the model's terms as last read. Immutable: terms changes make new ones. */
export interface ServedModel {
  readonly modelId: bigint;
  readonly version: number;
  readonly latestVersion: number;
  readonly weightsSha256: `0x${string}`;
  readonly weightsCid: string;
  readonly metadataCid: string;
  readonly owner: Address;
  /** The model's payment address: its share token. */
  readonly shares: Address;
  readonly pricePerCall: bigint;
  readonly operatorFeeBps: number;
  readonly upstreamBps: number;
  readonly paused: boolean;
  /** When the terms were read from the chain (catalog clock, ms). */
  readonly termsFetchedAt: number;
  readonly inputs: readonly TensorSignature[];
  readonly outputs: readonly TensorSignature[];
  /** Runs inputs validated by `parseInputs` (tensors.ts). Many runs may be in flight at once. */
  run(feeds: Tensors, options?: RunOptions): Promise<Record<string, Tensor>>;
}

export interface ModelSummary {
  modelId: bigint;
  version: number;
  latestVersion: number;
  pricePerCall: bigint;
  operatorFeeBps: number;
  paused: boolean;
  shares: Address;
  weightsSha256: `0x${string}`;
  weightsCid: string;
  inputs: TensorSignature[];
  outputs: TensorSignature[];
}

/** One row of `list()`: a served model's summary, or why it cannot be served right now. */
export type ModelListing = ModelSummary | { modelId: bigint; error: { code: string; message: string } };

interface Loaded {
  readonly record: VersionRecord;
  readonly session: ModelSession;
  readonly bytes: number;
  retire(): void;
  /** The last snapshot handed out and the terms it was built from; rebuilt when the terms change. */
  snapshot?: { terms: ModelTerms; model: ServedModel };
}

const DEFAULTS = {
  maxSessions: 16,
  maxSessionBytes: 4 * 1024 ** 3,
  termsTtlMs: 30_000,
  termsRetryMs: 2_000,
  failureTtlMs: 5 * 60_000,
  runTimeoutMs: 10_000,
};

const sessionKey = (modelId: bigint, version: number) => `${modelId}:${version}`;

export class ModelCatalog {
  readonly #registry: RegistryReader;
  readonly #storage: StorageAdapter;
  readonly #allowed: ReadonlySet<bigint> | "all";
  readonly #sessions: BoundedLru<Loaded>;
  readonly #loading = new Map<string, Promise<Loaded>>();
  readonly #failures = new Map<string, { error: ModelError; until: number }>();
  /** Signatures outlive evicted sessions, so listing models does not reload them. */
  readonly #signatures = new Map<string, Signature>();
  readonly #sessionOptions: SessionOptions;
  readonly #failureTtlMs: number;
  readonly #retryMs: number;
  readonly #runTimeoutMs: number;
  readonly #now: () => number;
  readonly #log: Logger;
  #closed = false;

  constructor(options: ModelCatalogOptions) {
    const maxSessions = options.maxSessions ?? DEFAULTS.maxSessions;
    const maxSessionBytes = options.maxSessionBytes ?? DEFAULTS.maxSessionBytes;
    const termsTtlMs = options.termsTtlMs ?? DEFAULTS.termsTtlMs;
    this.#retryMs = options.termsRetryMs ?? DEFAULTS.termsRetryMs;
    this.#failureTtlMs = options.failureTtlMs ?? DEFAULTS.failureTtlMs;
    this.#runTimeoutMs = options.runTimeoutMs ?? DEFAULTS.runTimeoutMs;
    const durations = { termsTtlMs, termsRetryMs: this.#retryMs, failureTtlMs: this.#failureTtlMs, runTimeoutMs: this.#runTimeoutMs };
    for (const [name, value] of Object.entries(durations)) {
      if (!(value >= 0)) throw new Error(`${name} must be a non-negative number of milliseconds, got ${value}`);
    }
    if (!(this.#runTimeoutMs > 0)) throw new Error(`runTimeoutMs must be above zero, got ${this.#runTimeoutMs}`);
    this.#now = options.now ?? Date.now;
    this.#log = options.logger ?? silentLogger;
    this.#storage = options.storage;
    this.#allowed = options.serve === "all" ? "all" : new Set(options.serve.map((id) => toModelId(id)));
    this.#sessionOptions = { ...DEFAULT_SESSION_OPTIONS, ...options.sessionOptions };
    this.#registry = new RegistryReader({
      registry: options.contracts.registry,
      ttlMs: termsTtlMs,
      retryMs: this.#retryMs,
      now: this.#now,
      logger: this.#log,
    });
    this.#sessions = new BoundedLru<Loaded>(maxSessions, maxSessionBytes, (key) => this.#log.debug({ model: key }, "session evicted"));
  }

  /** Whether this gateway serves the model at all (no chain access). */
  serves(modelId: bigint): boolean {
    return this.#allowed === "all" || this.#allowed.has(modelId);
  }

  /** The loaded model with fresh terms, from memory only; undefined means: await `load`. */
  peek(modelId: bigint, version?: number): ServedModel | undefined {
    if (this.#closed || !this.serves(modelId)) return undefined;
    const terms = this.#registry.peek(modelId);
    if (!terms) return undefined;
    const v = version ?? terms.latestVersion;
    if (v > terms.latestVersion) return undefined;
    const loaded = this.#sessions.get(sessionKey(modelId, v));
    return loaded && this.#snapshot(loaded, terms);
  }

  /** The model at `version` (default: latest), loading its session if needed. Rejects with a ModelError. */
  async load(modelId: bigint, version?: number): Promise<ServedModel> {
    this.#checkOpen();
    if (!this.serves(modelId)) throw new ModelError("model_not_served", `model ${modelId} is not served by this gateway`);
    let terms = await this.#registry.get(modelId);
    if (version !== undefined) {
      if (!Number.isSafeInteger(version) || version < 1) throw new ModelError("unknown_version", `model ${modelId} has no version ${version}`);
      if (version > terms.latestVersion) {
        // Perhaps published since the terms were read.
        terms = await this.#registry.refreshIfOlder(modelId, this.#retryMs);
        if (version > terms.latestVersion) {
          throw new ModelError("unknown_version", `model ${modelId} has no version ${version} (the latest is ${terms.latestVersion})`);
        }
      }
    }
    const loaded = await this.#loaded(modelId, version ?? terms.latestVersion);
    return this.#snapshot(loaded, this.#registry.current(modelId) ?? terms);
  }

  /** The model's terms: cached for `termsTtlMs`, then refreshed in the background; the last known during an outage. */
  async terms(modelId: bigint): Promise<ModelTerms> {
    this.#checkOpen();
    if (!this.serves(modelId)) throw new ModelError("model_not_served", `model ${modelId} is not served by this gateway`);
    return this.#registry.get(modelId);
  }

  /** Reads the terms from the chain now; rejects when the registry cannot be read. */
  refreshTerms(modelId: bigint): Promise<ModelTerms> {
    this.#checkOpen();
    return this.#registry.refresh(modelId);
  }

  /** Every served model's latest version, loading sessions as needed; a model that fails gets its own error row. */
  async list(): Promise<ModelListing[]> {
    this.#checkOpen();
    const rows: ModelListing[] = [];
    // One at a time: a listing must not load more sessions at once than the LRU would keep.
    for (const modelId of await this.#servedIds()) rows.push(await this.#describe(modelId));
    return rows;
  }

  /** Loads every served model's latest version (at start, so first calls do not wait); returns what `list` does. */
  warmUp(): Promise<ModelListing[]> {
    return this.list();
  }

  /** Loaded (model:version) keys, least recently used first. */
  loadedKeys(): string[] {
    return this.#sessions.keys();
  }

  /**
   * A registry event changed a model's terms (price, fee, pause, new version), or minted one when `modelId` is
   * undefined: read it again now instead of waiting for the TTL; resolves once read. The gateway's ChainWatcher calls
   * this for every such event it reads.
   */
  registryChanged(modelId: bigint | undefined): Promise<void> {
    return modelId === undefined ? this.#registry.invalidateCount() : this.#registry.invalidate(modelId);
  }

  /** Releases every session (after the runs in flight). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sessions.clear();
  }

  async #describe(modelId: bigint): Promise<ModelListing> {
    try {
      const terms = await this.#registry.get(modelId);
      const version = terms.latestVersion;
      const record = await this.#registry.version(modelId, version);
      const signature = this.#signatures.get(sessionKey(modelId, version)) ?? (await this.#loaded(modelId, version)).session.signature;
      return {
        modelId,
        version,
        latestVersion: terms.latestVersion,
        pricePerCall: terms.pricePerCall,
        operatorFeeBps: terms.operatorFeeBps,
        paused: terms.paused,
        shares: terms.shares,
        weightsSha256: record.weightsSha256,
        weightsCid: record.weightsCid,
        inputs: signature.inputs,
        outputs: signature.outputs,
      };
    } catch (error) {
      if (!(error instanceof ModelError)) throw error;
      return { modelId, error: { code: error.code, message: error.message } };
    }
  }

  async #servedIds(): Promise<bigint[]> {
    if (this.#allowed !== "all") return [...this.#allowed];
    const next = await this.#registry.nextModelId();
    const ids: bigint[] = [];
    for (let id = 1n; id < next; id++) ids.push(id);
    return ids;
  }

  #loaded(modelId: bigint, version: number): Promise<Loaded> {
    const key = sessionKey(modelId, version);
    const hit = this.#sessions.get(key);
    if (hit) return Promise.resolve(hit);
    const failure = this.#failures.get(key);
    if (failure) {
      if (this.#now() < failure.until) return Promise.reject(failure.error);
      this.#failures.delete(key);
    }
    let pending = this.#loading.get(key);
    if (!pending) {
      pending = this.#create(modelId, version).finally(() => this.#loading.delete(key));
      this.#loading.set(key, pending);
    }
    return pending;
  }

  async #create(modelId: bigint, version: number): Promise<Loaded> {
    const key = sessionKey(modelId, version);
    const label = `model ${modelId} v${version}`;
    const started = performance.now();
    try {
      const record = await this.#registry.version(modelId, version);
      const weights = await fetchWeights(this.#storage, record, label);
      const session = await ModelSession.create(weights, this.#sessionOptions, label);
      if (this.#closed) {
        session.retire();
        throw closedError();
      }
      const loaded: Loaded = { record, session, bytes: session.bytes, retire: () => session.retire() };
      this.#sessions.set(key, loaded);
      this.#signatures.set(key, session.signature);
      this.#log.info(
        { modelId: modelId.toString(), version, weightsCid: record.weightsCid, bytes: session.bytes, ms: Math.round(performance.now() - started) },
        "model loaded",
      );
      return loaded;
    } catch (error) {
      if (error instanceof ModelError) {
        // Weights that mismatch or do not load are the same bytes next time (CID-verified): remember, don't refetch.
        if (error.code === "weights_mismatch" || error.code === "model_invalid") {
          this.#failures.set(key, { error, until: this.#now() + this.#failureTtlMs });
        }
        this.#log.warn({ modelId: modelId.toString(), version, code: error.code, err: error.message }, "model not loaded");
      }
      throw error;
    }
  }

  #snapshot(loaded: Loaded, terms: ModelTerms): ServedModel {
    if (loaded.snapshot?.terms === terms) return loaded.snapshot.model;
    const { record, session } = loaded;
    const snapshot: ServedModel = Object.freeze({
      modelId: record.modelId,
      version: record.version,
      latestVersion: terms.latestVersion,
      weightsSha256: record.weightsSha256,
      weightsCid: record.weightsCid,
      metadataCid: record.metadataCid,
      owner: terms.owner,
      shares: terms.shares,
      pricePerCall: terms.pricePerCall,
      operatorFeeBps: terms.operatorFeeBps,
      upstreamBps: terms.upstreamBps,
      paused: terms.paused,
      termsFetchedAt: terms.fetchedAt,
      inputs: session.signature.inputs,
      outputs: session.signature.outputs,
      run: (feeds: Tensors, options?: RunOptions) => this.#run(loaded, feeds, options?.timeoutMs ?? this.#runTimeoutMs),
    });
    loaded.snapshot = { terms, model: snapshot };
    return snapshot;
  }

  async #run(loaded: Loaded, feeds: Tensors, timeoutMs: number): Promise<Record<string, Tensor>> {
    try {
      return await loaded.session.run(feeds, timeoutMs);
    } catch (error) {
      if (error instanceof SessionReleasedError) {
        // The caller held on to a model that was evicted since: load it again.
        const { modelId, version } = loaded.record;
        return (await this.load(modelId, version)).run(feeds, { timeoutMs });
      }
      if (error instanceof ModelError) {
        this.#log.warn({ modelId: loaded.record.modelId.toString(), version: loaded.record.version, code: error.code, err: error.message }, "inference failed");
      }
      throw error;
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw closedError();
  }
}

/** A model id from a URL segment or config: a decimal uint256, else unknown_model. */
export function parseModelId(text: string): bigint {
  if (!/^[0-9]{1,78}$/.test(text)) throw new ModelError("unknown_model", `${JSON.stringify(text.slice(0, 80))} is not a model id`);
  const id = BigInt(text);
  if (id >= 2n ** 256n) throw new ModelError("unknown_model", `${text} is not a model id`);
  return id;
}

/** The JSON form of a listing row (ids and amounts as decimal strings). */
export function listingToJson(row: ModelListing): Record<string, unknown> {
  if ("error" in row) return { modelId: row.modelId.toString(), error: row.error };
  return { ...row, modelId: row.modelId.toString(), pricePerCall: row.pricePerCall.toString() };
}

function toModelId(id: bigint | number): bigint {
  if (typeof id === "number" && !Number.isSafeInteger(id)) throw new Error(`model id ${id} is not an integer`);
  const big = BigInt(id);
  if (big < 1n) throw new Error(`model id ${id} is not a valid id (ids start at 1)`);
  return big;
}

function closedError(): ModelError {
  return new ModelError("catalog_closed", "the gateway is shutting down");
}
