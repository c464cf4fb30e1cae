// What the gateway knows of the registry, cached so the request path never waits on the chain:
// - terms (price, fees, paused, shares, latest version) live `ttlMs`; past that they are still served while one
//   background read refreshes them (stale-while-revalidate), and when the RPC is down the last known terms keep being
//   served (logged) until it answers again;
// - versions are immutable on-chain, so a version's weights hash and CIDs are read once;
// - the model count (`nextModelId`) answers "no such model" for any id without a call per id, since models are never
//   burned.
import { BaseError, ContractFunctionRevertedError, hexToBytes, type Address } from "viem";
import { describeError } from "../../sdk/errors.ts";
import { cidFromBytes } from "../../sdk/storage/cid.ts";
import type { Modelshare } from "../../sdk/contracts.ts";
import { ModelError } from "./errors.ts";
import type { Logger } from "./logger.ts";

export interface ModelTerms {
  modelId: bigint;
  owner: Address;
  /** The model's share token: where x402 `exact` payments to it go. */
  shares: Address;
  pricePerCall: bigint;
  operatorFeeBps: number;
  upstreamBps: number;
  latestVersion: number;
  paused: boolean;
  /** When these were read from the chain (the reader's clock, ms). */
  fetchedAt: number;
}

export interface VersionRecord {
  modelId: bigint;
  version: number;
  weightsSha256: `0x${string}`;
  weightsCid: string;
  metadataCid: string;
}

export interface RegistryReaderOptions {
  registry: Modelshare["registry"];
  ttlMs: number;
  /** After a failed read, background refreshes wait this long before trying again. */
  retryMs: number;
  now: () => number;
  logger: Logger;
}

interface TermsEntry {
  terms: ModelTerms;
  /** Fresh until then (clock ms): fetchedAt + TTL, or earlier when an event says they changed. */
  freshUntil: number;
  /** Bumped by each event, so a read that started before the event does not count as fresh after it. */
  generation: number;
  refreshing?: Promise<ModelTerms>;
  lastAttempt: number;
  /** Set while the registry cannot be read, so the outage is logged once per model, not once per retry. */
  failingSince?: number;
}

export class RegistryReader {
  readonly #registry: Modelshare["registry"];
  readonly #ttlMs: number;
  readonly #retryMs: number;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #terms = new Map<bigint, TermsEntry>();
  /** First reads of models not cached yet, shared by concurrent callers. */
  readonly #firstReads = new Map<bigint, Promise<ModelTerms>>();
  readonly #versions = new Map<string, Promise<VersionRecord>>();
  #count?: { next: bigint; fetchedAt: number };
  #countRead?: Promise<bigint>;
  #countAttempt = -Infinity;
  /** When an id beyond the count last made us read the count again: such re-reads are rate-limited on their own. */
  #countMissRead = -Infinity;

  constructor(options: RegistryReaderOptions) {
    this.#registry = options.registry;
    this.#ttlMs = options.ttlMs;
    this.#retryMs = options.retryMs;
    this.#now = options.now;
    this.#log = options.logger;
  }

  /** Fresh terms, synchronously; undefined when unknown or older than the TTL (a refresh is then started). */
  peek(modelId: bigint): ModelTerms | undefined {
    const entry = this.#terms.get(modelId);
    if (!entry) return undefined;
    if (this.#now() < entry.freshUntil) return entry.terms;
    this.#revalidate(modelId, entry);
    return undefined;
  }

  /** The last known terms, whatever their age. */
  current(modelId: bigint): ModelTerms | undefined {
    return this.#terms.get(modelId)?.terms;
  }

  /** Terms for the request path: fresh, or stale while a refresh runs, or read now for a model not seen before. */
  async get(modelId: bigint): Promise<ModelTerms> {
    const entry = this.#terms.get(modelId);
    if (entry) {
      if (this.#now() >= entry.freshUntil) this.#revalidate(modelId, entry);
      return entry.terms;
    }
    let first = this.#firstReads.get(modelId);
    if (!first) {
      first = this.#firstRead(modelId).finally(() => this.#firstReads.delete(modelId));
      this.#firstReads.set(modelId, first);
    }
    return first;
  }

  /** Reads the terms now (shared with a read already in flight); rejects when the registry cannot be read. */
  refresh(modelId: bigint): Promise<ModelTerms> {
    const entry = this.#terms.get(modelId);
    if (!entry) return this.get(modelId);
    entry.refreshing ??= this.#read(modelId, entry).finally(() => (entry.refreshing = undefined));
    return entry.refreshing;
  }

  /** Refreshes unless the cached terms are younger than `ageMs`; serves the cached terms if the registry is down. */
  async refreshIfOlder(modelId: bigint, ageMs: number): Promise<ModelTerms> {
    const terms = await this.get(modelId);
    if (this.#now() - terms.fetchedAt < ageMs) return terms;
    return this.refresh(modelId).catch(() => terms);
  }

  /**
   * A registry event touched the model: mark its terms stale and read them again. Resolves once that read is done
   * (whether or not it succeeded: a failed read leaves the terms stale, and the request path retries).
   */
  invalidate(modelId: bigint): Promise<void> {
    const entry = this.#terms.get(modelId);
    if (!entry) return Promise.resolve();
    entry.generation++;
    entry.freshUntil = -Infinity;
    entry.lastAttempt = -Infinity;
    // A read in flight started before the event, so it cannot make the terms fresh: read again after it.
    const before = entry.refreshing?.then(ignore, ignore) ?? Promise.resolve();
    return before.then(() => {
      this.#revalidate(modelId, entry);
      return entry.refreshing?.then(ignore, ignore);
    });
  }

  /** A version's weights hash and CIDs (immutable, read once). */
  version(modelId: bigint, version: number): Promise<VersionRecord> {
    const key = `${modelId}:${version}`;
    let record = this.#versions.get(key);
    if (!record) {
      record = this.#readVersion(modelId, version);
      this.#versions.set(key, record);
      // A failed read is not remembered: the next call asks again.
      record.catch(() => this.#versions.delete(key));
    }
    return record;
  }

  /** The registry's `nextModelId`, cached like terms (and kept when the RPC is down). */
  async nextModelId(): Promise<bigint> {
    const count = this.#count;
    if (!count) return this.#refreshCount();
    const now = this.#now();
    if (now - count.fetchedAt < this.#ttlMs || now - this.#countAttempt < this.#retryMs) return count.next;
    return this.#refreshCount().catch(() => count.next);
  }

  /** A model was minted: read the count again (after any read in flight, which may predate the mint). */
  invalidateCount(): Promise<void> {
    if (this.#count) this.#count = { ...this.#count, fetchedAt: -Infinity };
    this.#countAttempt = -Infinity;
    const before = this.#countRead?.then(ignore, ignore) ?? Promise.resolve();
    return before.then(() => this.#refreshCount()).then(ignore, ignore);
  }

  #refreshCount(): Promise<bigint> {
    this.#countRead ??= this.#readCount().finally(() => (this.#countRead = undefined));
    return this.#countRead;
  }

  async #firstRead(modelId: bigint): Promise<ModelTerms> {
    if (modelId < 1n) throw unknownModel(modelId);
    let next = await this.nextModelId();
    if (modelId >= next) {
      // Perhaps minted since the count was read (a creator calling the model it just minted): read it again, at most
      // once per retry interval whatever the ids asked, so a flood of unknown ids costs the chain one read per interval.
      if (this.#now() - this.#countMissRead >= this.#retryMs) {
        this.#countMissRead = this.#now();
        next = await this.#refreshCount().catch(() => next);
      }
      if (modelId >= next) throw unknownModel(modelId);
    }
    const terms = await this.#fetchTerms(modelId);
    this.#terms.set(modelId, { terms, freshUntil: terms.fetchedAt + this.#ttlMs, generation: 0, lastAttempt: this.#now() });
    return terms;
  }

  #revalidate(modelId: bigint, entry: TermsEntry): void {
    if (entry.refreshing || this.#now() - entry.lastAttempt < this.#retryMs) return;
    entry.refreshing = this.#read(modelId, entry).finally(() => (entry.refreshing = undefined));
    // Background refreshes are never awaited: their failure is logged in #read and the stale terms stay.
    entry.refreshing.catch(() => {});
  }

  async #read(modelId: bigint, entry: TermsEntry): Promise<ModelTerms> {
    entry.lastAttempt = this.#now();
    const generation = entry.generation;
    try {
      const terms = await this.#fetchTerms(modelId);
      if (entry.failingSince !== undefined) {
        this.#log.info({ modelId: modelId.toString() }, "registry reachable again; model terms refreshed");
        entry.failingSince = undefined;
      }
      if (terms.pricePerCall !== entry.terms.pricePerCall || terms.latestVersion !== entry.terms.latestVersion || terms.paused !== entry.terms.paused) {
        this.#log.info(
          { modelId: modelId.toString(), pricePerCall: terms.pricePerCall.toString(), latestVersion: terms.latestVersion, paused: terms.paused },
          "model terms changed",
        );
      }
      entry.terms = terms;
      if (entry.generation === generation) entry.freshUntil = terms.fetchedAt + this.#ttlMs;
      return terms;
    } catch (error) {
      if (entry.failingSince === undefined) {
        entry.failingSince = this.#now();
        this.#log.warn(
          { modelId: modelId.toString(), ageMs: this.#now() - entry.terms.fetchedAt, err: error instanceof Error ? error.message : String(error) },
          "cannot refresh model terms from the registry; serving the last known terms",
        );
      }
      throw error;
    }
  }

  async #fetchTerms(modelId: bigint): Promise<ModelTerms> {
    let info;
    try {
      info = await this.#registry.read.modelOf([modelId]);
    } catch (error) {
      throw classify(error, modelId);
    }
    return {
      modelId,
      owner: info.owner,
      shares: info.shares,
      pricePerCall: info.pricePerCall,
      operatorFeeBps: info.operatorFeeBps,
      upstreamBps: info.upstreamBps,
      latestVersion: info.latestVersion,
      paused: info.paused,
      fetchedAt: this.#now(),
    };
  }

  async #readVersion(modelId: bigint, version: number): Promise<VersionRecord> {
    let result;
    try {
      result = await this.#registry.read.versionOf([modelId, version]);
    } catch (error) {
      const classified = classify(error, modelId);
      // versionOf reverts with UnknownModel for a version above the latest.
      if (classified.code === "unknown_model") throw new ModelError("unknown_version", `model ${modelId} has no version ${version}`);
      throw classified;
    }
    const [weightsSha256, weightsCid, metadataCid] = result;
    return {
      modelId,
      version,
      weightsSha256,
      weightsCid: cidFromBytes(hexToBytes(weightsCid)),
      metadataCid: cidFromBytes(hexToBytes(metadataCid)),
    };
  }

  async #readCount(): Promise<bigint> {
    this.#countAttempt = this.#now();
    try {
      const next = await this.#registry.read.nextModelId();
      this.#count = { next, fetchedAt: this.#now() };
      return next;
    } catch (error) {
      throw classify(error, undefined);
    }
  }
}

function unknownModel(modelId: bigint): ModelError {
  return new ModelError("unknown_model", `model ${modelId} does not exist on the registry`);
}

function classify(error: unknown, modelId: bigint | undefined): ModelError {
  if (error instanceof BaseError) {
    const revert = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (modelId !== undefined && revert instanceof ContractFunctionRevertedError && revert.data?.errorName === "UnknownModel") {
      return unknownModel(modelId);
    }
  }
  const what = modelId === undefined ? "the model count" : `model ${modelId}`;
  return new ModelError("registry_unavailable", `cannot read ${what} from the registry: ${describeError(error)}`, { cause: error });
}

function ignore(): void {}
