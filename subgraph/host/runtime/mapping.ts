// One compiled mapping (a graph-cli WASM file), compiled once. Every trigger runs on a pristine instance, as on
// graph-node, so no state leaks from one event to the next. Two ways to get one:
// - "fresh": a new instance per trigger, `_start` called on it — what graph-node does;
// - "rewind" (default): one instance per module, captured right after `_start` and rewound to that state before each
//   trigger (linear memory restored, memory grown since zeroed, every mutable global reset — the module is patched to
//   export its mutable globals for this — and the host's allocation arena resumed where `_start` left it). Memory and
//   globals are an instance's whole state, so handlers see exactly what a fresh instance shows them, at the same
//   addresses; it saves the instance creation and memory growth that dominate small handlers (5x in bench:indexer).
//   A module whose `_start` calls the host for anything but pure functions (the store, logs, data sources) runs in
//   fresh mode, since its start-up depends on the trigger.
// Loading fails with a message naming every host function the module imports and the host lacks.
import { AscHeap, TypeIdCache, type ModuleExports } from "./heap.ts";
import { Marshal } from "./marshal.ts";
import { hostFunctions as defaultHostFunctions, type HostFunctions } from "./host/index.ts";
import type { TriggerContext } from "./context.ts";
import type { ApiVersion } from "./event.ts";
import { DeterministicError, InvalidModuleError, MissingHostFunctionError, TransientHandlerError } from "./errors.ts";
import { exportMutableGlobals } from "./wasm-globals.ts";

/** apiVersions whose memory layout (AssemblyScript 0.19) and event objects this host implements. */
const MIN_API_VERSION: ApiVersion = [0, 0, 5];
const MAX_API_VERSION: ApiVersion = [0, 0, 9];

/** Host functions whose result depends only on their arguments: calling them in `_start` keeps a module rewindable. */
const PURE = /^(bigInt|bigDecimal|typeConversion|json)\.|^(crypto\.keccak256|ethereum\.encode|ethereum\.decode|abort)$/;

function compareVersions(a: ApiVersion, b: ApiVersion): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

export function parseApiVersion(text: string): ApiVersion {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (!match) throw new InvalidModuleError(`apiVersion \`${text}\` is not a version like 0.0.9`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

export interface MappingExports extends ModuleExports {
  _start(): void;
  [handler: string]: unknown;
}

export type InstanceMode = "rewind" | "fresh";

export interface MappingModuleOptions {
  /** Host functions to link (default: all the host implements). */
  hostFunctions?: HostFunctions;
  /** How each trigger gets a pristine instance (default "rewind"; see the top of this file). */
  instances?: InstanceMode;
}

/** An instance as `_start` left it: memory contents, mutable global values, and the host's allocation arena. */
interface Pristine {
  exports: MappingExports;
  memory: WebAssembly.Memory;
  snapshot: Uint8Array;
  globals: { global: WebAssembly.Global; value: number | bigint }[];
  arena: { start: number; free: number };
}

type TriggerInput = Omit<TriggerContext, "marshal" | "apiVersion">;

export class MappingModule {
  readonly name: string;
  readonly apiVersion: ApiVersion;
  readonly module: WebAssembly.Module;
  readonly handlers: ReadonlySet<string>;
  private readonly imports: WebAssembly.Imports;
  private readonly typeIds = new TypeIdCache();
  private readonly globalNames: readonly string[];
  private current: TriggerContext | null = null;
  private rewind: boolean;
  private pristine: Pristine | null = null;
  /** While `_start` runs on an instance being captured: whether it called an impure host function. */
  private startCalledImpure: boolean | null = null;

  /** Compiles `wasm` and links its imports; `name` (the data source or template) appears in error messages. */
  constructor(name: string, wasm: Uint8Array<ArrayBuffer>, apiVersion: string, options: MappingModuleOptions = {}) {
    this.name = name;
    this.apiVersion = parseApiVersion(apiVersion);
    if (compareVersions(this.apiVersion, MIN_API_VERSION) < 0 || compareVersions(this.apiVersion, MAX_API_VERSION) > 0) {
      throw new InvalidModuleError(`${name}: apiVersion ${apiVersion} is not supported (0.0.5 to 0.0.9 are)`);
    }
    if (!WebAssembly.validate(wasm)) {
      let reason = "invalid";
      try {
        new WebAssembly.Module(wasm);
      } catch (error) {
        reason = (error as Error).message;
      }
      throw new InvalidModuleError(`${name}: not a valid WebAssembly module: ${reason}`);
    }
    let bytes = wasm;
    let globalNames: string[] = [];
    this.rewind = (options.instances ?? "rewind") === "rewind";
    if (this.rewind) {
      try {
        ({ wasm: bytes, globals: globalNames } = exportMutableGlobals(wasm));
      } catch {
        // A module the patcher does not understand still runs, one fresh instance per trigger.
        this.rewind = false;
      }
    }
    this.module = new WebAssembly.Module(bytes);
    this.globalNames = globalNames;
    const exports = new Map(WebAssembly.Module.exports(this.module).map((e) => [e.name, e.kind]));
    for (const [needed, kind] of [["memory", "memory"], ["allocate", "function"], ["id_of_type", "function"], ["_start", "function"]] as const) {
      if (exports.get(needed) !== kind) {
        throw new InvalidModuleError(`${name}: the module does not export ${kind} \`${needed}\`; build it with graph-cli (graph build)`);
      }
    }
    this.handlers = new Set([...exports].filter(([, kind]) => kind === "function").map(([n]) => n));
    this.imports = this.link(options.hostFunctions ?? defaultHostFunctions);
  }

  /** How triggers currently get their instance: "rewind" once the module proved rewindable, else "fresh". */
  get instanceMode(): InstanceMode {
    return this.rewind ? "rewind" : "fresh";
  }

  private link(host: HostFunctions): WebAssembly.Imports {
    const missing: string[] = [];
    const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
    for (const entry of WebAssembly.Module.imports(this.module)) {
      if (entry.kind !== "function") {
        missing.push(`${entry.kind} ${entry.name}`);
        continue;
      }
      const fn = host[entry.name];
      if (!fn) {
        missing.push(entry.name);
        continue;
      }
      const pure = PURE.test(entry.name);
      (imports[entry.module] ??= {})[entry.name] = (a: number, b: number, c: number, d: number) => {
        const ctx = this.current;
        if (!ctx) throw new Error(`${entry.name} called outside a trigger`);
        if (!pure && this.startCalledImpure === false) this.startCalledImpure = true;
        return fn(ctx, a, b, c, d);
      };
    }
    if (missing.length > 0) throw new MissingHostFunctionError([...new Set(missing)].sort(), this.name);
    return imports;
  }

  hasHandler(handler: string): boolean {
    return this.handlers.has(handler);
  }

  /**
   * Runs `handler` on a pristine instance, `writeTrigger` having put the trigger object in its memory. Throws
   * DeterministicError for anything the mapping did (abort, traps, bad host calls, schema violations) and
   * TransientHandlerError for failures of the machine (a store that could not be read).
   */
  run(handler: string, context: TriggerInput, writeTrigger: (marshal: Marshal) => number): void {
    this.invoke(handler, context, (marshal) => [writeTrigger(marshal)]);
  }

  /**
   * Calls any exported function the same way: `args` writes its arguments into the instance, `result` reads what it
   * returned before the instance is reused or dropped. Handlers go through `run`; tests call helper exports directly.
   */
  invoke<T = void>(
    fn: string,
    context: TriggerInput,
    args: (marshal: Marshal) => (number | bigint)[],
    result?: (marshal: Marshal, returned: unknown) => T,
  ): T {
    if (!this.handlers.has(fn)) throw new InvalidModuleError(`${this.name}: the module exports no function \`${fn}\``);
    // Saved and restored, so a host function may run another instance of this module (as ipfs.map does); such a
    // nested call gets a fresh instance, since the rewound one is busy.
    const outer = this.current;
    try {
      let ctx: TriggerContext;
      let exports: MappingExports;
      if (this.pristine && !outer) {
        exports = this.pristine.exports;
        rewind(this.pristine);
        ctx = this.enter(context, exports);
        ctx.marshal.heap.resumeArena(this.pristine.arena);
      } else {
        exports = new WebAssembly.Instance(this.module, this.imports).exports as unknown as MappingExports;
        ctx = this.enter(context, exports);
        const capture = this.rewind && !outer;
        this.startCalledImpure = capture ? false : null;
        exports._start();
        if (capture) {
          if (this.startCalledImpure) this.rewind = false;
          else this.pristine = this.capture(exports, ctx.marshal);
        }
        this.startCalledImpure = null;
      }
      const returned = (exports[fn] as (...a: (number | bigint)[]) => unknown)(...args(ctx.marshal));
      return result ? result(ctx.marshal, returned) : (undefined as T);
    } catch (error) {
      throw classify(error);
    } finally {
      this.startCalledImpure = null;
      this.current = outer;
    }
  }

  private enter(context: TriggerInput, exports: MappingExports): TriggerContext {
    const ctx: TriggerContext = { ...context, marshal: new Marshal(new AscHeap(exports, this.typeIds)), apiVersion: this.apiVersion };
    this.current = ctx;
    return ctx;
  }

  private capture(exports: MappingExports, marshal: Marshal): Pristine {
    const memory = exports.memory;
    const globals = this.globalNames.map((name) => {
      const global = exports[name] as WebAssembly.Global;
      return { global, value: global.value as number | bigint };
    });
    return { exports, memory, snapshot: new Uint8Array(memory.buffer.slice(0)), globals, arena: marshal.heap.arena() };
  }
}

/** Puts an instance back in its post-`_start` state. Memory cannot shrink; what grew since is zeroed, as new memory is. */
function rewind(pristine: Pristine): void {
  const memory = new Uint8Array(pristine.memory.buffer);
  memory.set(pristine.snapshot, 0);
  if (memory.length > pristine.snapshot.length) memory.fill(0, pristine.snapshot.length);
  for (const { global, value } of pristine.globals) global.value = value;
}

function classify(error: unknown): Error {
  if (error instanceof DeterministicError || error instanceof TransientHandlerError) return error;
  if (error instanceof WebAssembly.RuntimeError) return new DeterministicError(`the mapping trapped: ${error.message}`, { cause: error });
  if (error instanceof RangeError && /call stack/.test(error.message)) {
    return new DeterministicError("the mapping overflowed the call stack (unbounded recursion?)", { cause: error });
  }
  // A bug in a host function shows up here: deterministic too, since the same input fails the same way.
  const message = error instanceof Error ? error.message : String(error);
  return new DeterministicError(`host function failed: ${message}`, { cause: error });
}
