// One compiled mapping (a graph-cli WASM file): compiled once, then run in a fresh instance per trigger, as graph-node
// does, so no state leaks from one event to the next. Loading fails with a message naming every host function the
// module imports and the host lacks.
import { AscHeap, TypeIdCache, type ModuleExports } from "./heap.ts";
import { Marshal } from "./marshal.ts";
import { hostFunctions as defaultHostFunctions, type HostFunctions } from "./host/index.ts";
import type { TriggerContext } from "./context.ts";
import type { ApiVersion } from "./event.ts";
import { DeterministicError, InvalidModuleError, MissingHostFunctionError, TransientHandlerError } from "./errors.ts";

/** apiVersions whose memory layout (AssemblyScript 0.19) and event objects this host implements. */
const MIN_API_VERSION: ApiVersion = [0, 0, 5];
const MAX_API_VERSION: ApiVersion = [0, 0, 9];

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

export class MappingModule {
  readonly name: string;
  readonly apiVersion: ApiVersion;
  readonly module: WebAssembly.Module;
  readonly handlers: ReadonlySet<string>;
  private readonly imports: WebAssembly.Imports;
  private readonly typeIds = new TypeIdCache();
  private current: TriggerContext | null = null;

  /** Compiles `wasm` and links its imports; `name` (the data source or template) appears in error messages. */
  constructor(name: string, wasm: Uint8Array<ArrayBuffer>, apiVersion: string, host: HostFunctions = defaultHostFunctions) {
    this.name = name;
    this.apiVersion = parseApiVersion(apiVersion);
    if (compareVersions(this.apiVersion, MIN_API_VERSION) < 0 || compareVersions(this.apiVersion, MAX_API_VERSION) > 0) {
      throw new InvalidModuleError(`${name}: apiVersion ${apiVersion} is not supported (0.0.5 to 0.0.9 are)`);
    }
    try {
      this.module = new WebAssembly.Module(wasm);
    } catch (error) {
      throw new InvalidModuleError(`${name}: not a valid WebAssembly module: ${(error as Error).message}`);
    }
    const exports = new Map(WebAssembly.Module.exports(this.module).map((e) => [e.name, e.kind]));
    for (const [needed, kind] of [["memory", "memory"], ["allocate", "function"], ["id_of_type", "function"], ["_start", "function"]] as const) {
      if (exports.get(needed) !== kind) {
        throw new InvalidModuleError(`${name}: the module does not export ${kind} \`${needed}\`; build it with graph-cli (graph build)`);
      }
    }
    this.handlers = new Set([...exports].filter(([, kind]) => kind === "function").map(([n]) => n));
    this.imports = this.link(host);
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
      (imports[entry.module] ??= {})[entry.name] = (a: number, b: number, c: number, d: number) => {
        const ctx = this.current;
        if (!ctx) throw new Error(`${entry.name} called outside a trigger`);
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
   * Runs `handler` in a fresh instance: `_start` first (graph-ts initialises its allocator there, and module globals
   * may already call the host), then `writeTrigger` puts the trigger object in memory, then the handler runs.
   * Throws DeterministicError for anything the mapping did (abort, traps, bad host calls, schema violations) and
   * TransientHandlerError for failures of the machine (a store that could not be read).
   */
  run(handler: string, context: Omit<TriggerContext, "marshal" | "apiVersion">, writeTrigger: (marshal: Marshal) => number): void {
    this.invoke(handler, context, (marshal) => [writeTrigger(marshal)]);
  }

  /**
   * Calls any exported function the same way: `args` writes its arguments into the fresh instance, `result` reads
   * what it returned before the instance is dropped. Handlers go through `run`; tests call helper exports directly.
   */
  invoke<T = void>(
    fn: string,
    context: Omit<TriggerContext, "marshal" | "apiVersion">,
    args: (marshal: Marshal) => (number | bigint)[],
    result?: (marshal: Marshal, returned: unknown) => T,
  ): T {
    if (!this.handlers.has(fn)) throw new InvalidModuleError(`${this.name}: the module exports no function \`${fn}\``);
    const instance = new WebAssembly.Instance(this.module, this.imports);
    const exports = instance.exports as unknown as MappingExports;
    const marshal = new Marshal(new AscHeap(exports, this.typeIds));
    const ctx: TriggerContext = { ...context, marshal, apiVersion: this.apiVersion };
    // Saved and restored, so a host function may run another instance of the same module (as ipfs.map does).
    const outer = this.current;
    this.current = ctx;
    try {
      exports._start();
      const returned = (exports[fn] as (...a: (number | bigint)[]) => unknown)(...args(marshal));
      return result ? result(marshal, returned) : (undefined as T);
    } catch (error) {
      throw classify(error);
    } finally {
      this.current = outer;
    }
  }
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
