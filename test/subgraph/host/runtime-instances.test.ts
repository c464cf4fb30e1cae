// Every trigger must see a pristine instance, whichever way the host provides it: a new instance per trigger
// ("fresh", what graph-node does) or one instance rewound to its post-`_start` state ("rewind", the default). A
// mapping that changes module globals or scribbles on memory leaves nothing behind for the next trigger, and a module
// whose start-up talks to the store or the log is run fresh, since its start-up depends on the trigger.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { compileMapping } from "../../helpers/graph-build.ts";
import { MappingModule, type InstanceMode } from "../../../subgraph/host/runtime/mapping.ts";
import { exportMutableGlobals } from "../../../subgraph/host/runtime/wasm-globals.ts";
import { parseSubgraphSchema } from "../../../subgraph/host/schema.ts";
import type { Logger, TriggerContext } from "../../../subgraph/host/runtime/context.ts";
import type { BlockWriter } from "../../../subgraph/host/store/types.ts";

const STATEFUL = /* AssemblyScript */ `
  import { BigInt } from "@graphprotocol/graph-ts";
  const TEN = BigInt.fromI32(10).pow(3);
  let counter: i32 = 0;
  const seen = new Array<string>();
  export function bump(): i32 {
    counter += 1;
    seen.push("x");
    return counter * 1000 + seen.length;
  }
  export function ten(): i32 { return TEN.toI32(); }
  export function addressOf(s: string): usize { return changetype<usize>(s); }
  /** An address past everything allocated so far (still inside the initial memory). */
  export function scratch(): usize { return changetype<usize>(new ArrayBuffer(16)) + 256; }
  export function poke(at: usize, value: u8): void { store<u8>(at, value); }
  export function peek(at: usize): u8 { return load<u8>(at); }
  /** Allocates enough to grow memory well past its initial size. */
  export function grow(bytes: i32): i32 { const b = new Uint8Array(bytes); b[bytes - 1] = 9; return b.length; }
`;

const LOGS_AT_START = /* AssemblyScript */ `
  import { log } from "@graphprotocol/graph-ts";
  log.info("module starting", []);
  export function hello(): i32 { return 1; }
`;

const logs: string[] = [];
const logger: Logger = { debug() {}, info: (_, m) => logs.push(m), warn() {}, error() {} };
const context: Omit<TriggerContext, "marshal" | "apiVersion"> = {
  writer: null as unknown as BlockWriter,
  schema: parseSubgraphSchema("type Thing @entity(immutable: true) { id: ID! }"),
  dataSource: { name: "Test", address: new Uint8Array(20), network: "test", context: null, templates: [] },
  handler: "test",
  blockNumber: 1,
  created: [],
  logger,
};

function call(module: MappingModule, fn: string, args: (number | bigint)[] = []): unknown {
  return module.invoke(fn, context, () => args, (_, returned) => returned);
}

describe("pristine instances", () => {
  let stateful: Uint8Array<ArrayBuffer>;
  let logsAtStart: Uint8Array<ArrayBuffer>;

  before(async () => {
    stateful = await compileMapping(STATEFUL);
    logsAtStart = await compileMapping(LOGS_AT_START);
  });

  for (const mode of ["rewind", "fresh"] as InstanceMode[]) {
    it(`${mode}: module globals and memory written by one trigger are gone for the next`, () => {
      const module = new MappingModule("Stateful", stateful, "0.0.9", { instances: mode });
      for (let i = 0; i < 3; i++) assert.equal(call(module, "bump"), 1001, `call ${i}`);
      assert.equal(call(module, "ten"), 1000, "globals initialised by _start keep their value");
      const at = call(module, "scratch") as number;
      call(module, "poke", [at, 42]);
      assert.equal(call(module, "peek", [at]), 0, "a byte written past the heap is zero again");
      assert.equal(call(module, "grow", [1 << 20]), 1 << 20);
      assert.equal(call(module, "bump"), 1001, "still pristine after memory grew");
      assert.equal(call(module, "scratch"), at, "allocation starts where a fresh instance starts");
      assert.equal(module.instanceMode, mode);
    });
  }

  it("puts the host's objects at the addresses a fresh instance would, after _start allocated through the host", () => {
    const rewound = new MappingModule("Stateful", stateful, "0.0.9", { instances: "rewind" });
    const fresh = new MappingModule("Stateful", stateful, "0.0.9", { instances: "fresh" });
    const where = (module: MappingModule) => module.invoke("addressOf", context, (m) => [m.writeString("trigger")], (_, r) => r);
    const expected = where(fresh);
    for (let i = 0; i < 3; i++) assert.equal(where(rewound), expected, `call ${i}`);
    assert.equal(rewound.instanceMode, "rewind");
  });

  it("runs a module fresh when its start-up calls the host for more than pure functions", () => {
    logs.length = 0;
    const module = new MappingModule("Logs", logsAtStart, "0.0.9");
    for (let i = 0; i < 3; i++) assert.equal(call(module, "hello"), 1);
    assert.equal(module.instanceMode, "fresh");
    assert.deepEqual(logs, ["module starting", "module starting", "module starting"], "one start-up per trigger, as on graph-node");
  });

  it("exports mutable globals without changing anything else in the module", () => {
    const { wasm, globals } = exportMutableGlobals(stateful);
    const before = new WebAssembly.Module(stateful);
    const after = new WebAssembly.Module(wasm);
    assert.ok(globals.length >= 2, `the counter and the allocator's offset at least: ${globals.join(", ")}`);
    assert.deepEqual(WebAssembly.Module.imports(after), WebAssembly.Module.imports(before));
    const added = WebAssembly.Module.exports(after).filter((e) => !WebAssembly.Module.exports(before).some((b) => b.name === e.name));
    assert.deepEqual(added, globals.map((name) => ({ name, kind: "global" })));
    assert.throws(() => exportMutableGlobals(new Uint8Array([1, 2, 3, 4])), /not a WebAssembly module/);
  });
});
