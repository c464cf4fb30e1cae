// Where a paying client keeps the state of its voucher lanes: for each tab (payer, operator, model on one vault and
// chain), the latest voucher each lane has had accepted. In memory by default; in a JSON file for an agent that
// should keep its tabs across restarts. Losing the store costs nothing but one corrective 402 per lane: the gateway
// then sends its latest state, signed by the payer, and the client continues from there.
import { readFileSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { Address } from "viem";
import { laneStateSchema, type LaneState } from "./voucher-scheme.ts";

/** One tab: a payer's lanes with one operator for one model, on one vault and chain. */
export interface LaneScope {
  /** CAIP-2 network, e.g. `eip155:31337`. */
  network: string;
  vault: Address;
  payer: Address;
  operator: Address;
  modelId: string;
}

export interface LaneStore {
  /** The lanes saved for a tab (any order; lanes never saved are at zero). */
  load(scope: LaneScope): readonly LaneState[] | Promise<readonly LaneState[]>;
  /** Records a lane's latest state, after every paid call and every resynchronisation. */
  save(scope: LaneScope, state: LaneState): void | Promise<void>;
}

export function scopeKey(scope: LaneScope): string {
  return [scope.network, scope.vault, scope.payer, scope.operator, scope.modelId].join("/").toLowerCase();
}

/** Keeps lane states for the life of the process. */
export class MemoryLaneStore implements LaneStore {
  readonly #tabs = new Map<string, Map<number, LaneState>>();

  load(scope: LaneScope): LaneState[] {
    return [...(this.#tabs.get(scopeKey(scope))?.values() ?? [])];
  }

  save(scope: LaneScope, state: LaneState): void {
    const key = scopeKey(scope);
    let lanes = this.#tabs.get(key);
    if (!lanes) this.#tabs.set(key, (lanes = new Map()));
    lanes.set(state.lane, { ...state });
  }
}

const fileSchema = z.object({
  version: z.literal(1),
  tabs: z.record(z.string(), z.array(laneStateSchema)),
});

/**
 * Keeps lane states in one JSON file, rewritten (atomically: temp file, then rename) shortly after each change, so
 * many calls finishing together cost one write. One process per file: two processes sharing a file would overwrite
 * each other's states (harmless — the gateway resynchronises them — but pointless).
 */
export class JsonFileLaneStore implements LaneStore {
  readonly file: string;
  readonly #tabs = new Map<string, Map<number, LaneState>>();
  #writing: Promise<void> = Promise.resolve();
  #dirty = false;
  #scheduled = false;
  /** The last write's failure, if it failed (the states stay in memory and are written again on the next change). */
  lastError: Error | undefined;

  /** Reads `file` if it exists; a file that is not a lane store is refused rather than overwritten. */
  constructor(file: string) {
    this.file = path.resolve(file);
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw new Error(`cannot read the lane store ${this.file}: ${(error as Error).message}`);
    }
    let parsed: z.infer<typeof fileSchema>;
    try {
      parsed = fileSchema.parse(JSON.parse(text));
    } catch {
      throw new Error(`${this.file} is not a Modelshare lane store (expected { "version": 1, "tabs": { … } }); move it away or pick another file`);
    }
    for (const [key, lanes] of Object.entries(parsed.tabs)) {
      this.#tabs.set(key, new Map(lanes.map((lane) => [lane.lane, lane])));
    }
  }

  load(scope: LaneScope): LaneState[] {
    return [...(this.#tabs.get(scopeKey(scope))?.values() ?? [])];
  }

  save(scope: LaneScope, state: LaneState): Promise<void> {
    const key = scopeKey(scope);
    let lanes = this.#tabs.get(key);
    if (!lanes) this.#tabs.set(key, (lanes = new Map()));
    lanes.set(state.lane, { ...state });
    this.#dirty = true;
    return this.#schedule();
  }

  /** Resolves once every change made so far is on disk; rejects if the last write failed. */
  async flush(): Promise<void> {
    await (this.#dirty ? this.#schedule() : this.#writing);
    if (this.lastError) throw this.lastError;
  }

  /** Never rejects: a failed write is kept in `lastError` and retried with the next change. */
  #schedule(): Promise<void> {
    if (!this.#scheduled) {
      this.#scheduled = true;
      // Writes are chained, and each writes everything changed before it started.
      this.#writing = this.#writing.then(() => {
        this.#scheduled = false;
        return this.#write();
      });
    }
    return this.#writing;
  }

  async #write(): Promise<void> {
    if (!this.#dirty) return;
    this.#dirty = false;
    try {
      await this.#writeFile();
      this.lastError = undefined;
    } catch (error) {
      this.#dirty = true;
      this.lastError = new Error(`cannot write the lane store ${this.file}: ${(error as Error).message}`);
    }
  }

  async #writeFile(): Promise<void> {
    const tabs: Record<string, LaneState[]> = {};
    for (const [key, lanes] of this.#tabs) tabs[key] = [...lanes.values()].sort((a, b) => a.lane - b.lane);
    const temp = `${this.file}.${process.pid}.tmp`;
    await mkdir(path.dirname(this.file), { recursive: true });
    await writeFile(temp, JSON.stringify({ version: 1, tabs }, null, 2) + "\n");
    await rename(temp, this.file);
  }
}
