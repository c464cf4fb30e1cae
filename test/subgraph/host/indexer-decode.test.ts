// Event decoding: the direct word reader used for static events must give exactly what viem's general decoder
// gives, for every elementary type and edge value; dynamic events go through viem; malformed logs fail with a
// message naming the log and the event.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeAbiParameters, encodeEventTopics, keccak256, toEventSelector, toHex, type AbiEvent, type Hex } from "viem";
import { decodeParams, decodeWithViem } from "../../../subgraph/host/indexer/decode.ts";
import type { EventHandlerSpec } from "../../../subgraph/host/runtime/manifest.ts";
import type { RpcLog } from "../../../subgraph/host/indexer/chain.ts";
import { DeterministicError } from "../../../subgraph/host/runtime/errors.ts";

function handler(event: AbiEvent): EventHandlerSpec {
  return { event: event.name, handler: `handle${event.name}`, topic0: toEventSelector(event), abiEvent: event, topicFilters: [null, null, null] };
}

function log(event: AbiEvent, args: Record<string, unknown>): RpcLog {
  const topics = encodeEventTopics({ abi: [event], eventName: event.name, args } as never) as Hex[];
  const body = event.inputs.filter((i) => !i.indexed);
  const data = encodeAbiParameters(body, body.map((i) => args[i.name!]));
  return { address: "0x0000000000000000000000000000000000000001", topics, data, blockNumber: "0x1", blockHash: `0x${"00".repeat(32)}`, transactionHash: `0x${"11".repeat(32)}`, transactionIndex: "0x0", logIndex: "0x7" };
}

const STATIC: AbiEvent = {
  type: "event",
  name: "Everything",
  inputs: [
    { name: "key", type: "bytes32", indexed: true },
    { name: "who", type: "address", indexed: true },
    { name: "delta", type: "int128", indexed: true },
    { name: "operator", type: "address", indexed: false },
    { name: "lane", type: "uint32", indexed: false },
    { name: "amount", type: "uint256", indexed: false },
    { name: "signed", type: "int256", indexed: false },
    { name: "flag", type: "bool", indexed: false },
    { name: "selector", type: "bytes4", indexed: false },
  ],
};

const DYNAMIC: AbiEvent = {
  type: "event",
  name: "Mixed",
  inputs: [
    { name: "label", type: "string", indexed: true },
    { name: "holders", type: "address[]", indexed: false },
    { name: "note", type: "string", indexed: false },
    { name: "pair", type: "tuple", indexed: false, components: [{ name: "a", type: "uint8" }, { name: "b", type: "bytes" }] },
  ],
};

describe("event decoding", () => {
  it("reads static events word by word exactly as viem decodes them", () => {
    const spec = handler(STATIC);
    const cases = [
      { key: keccak256("0x01"), who: "0x00000000000000000000000000000000000000ff", delta: -1n, operator: "0xabcdef0123456789abcdef0123456789abcdef01", lane: 0, amount: 0n, signed: -(2n ** 255n), flag: true, selector: "0xdeadbeef" },
      { key: `0x${"00".repeat(32)}`, who: "0xffffffffffffffffffffffffffffffffffffffff", delta: 2n ** 127n - 1n, operator: "0x0000000000000000000000000000000000000000", lane: 2 ** 32 - 1, amount: 2n ** 256n - 1n, signed: 2n ** 255n - 1n, flag: false, selector: "0x00000001" },
    ];
    for (const args of cases) {
      const l = log(STATIC, args);
      assert.deepEqual(decodeParams(spec, l), decodeWithViem(spec, l));
    }
    const [, who, delta, , , amount] = decodeParams(spec, log(STATIC, cases[1]!));
    assert.deepEqual(who, { name: "who", value: { kind: "Address", value: new Uint8Array(20).fill(0xff) } });
    assert.deepEqual(delta?.value, { kind: "Int", value: 2n ** 127n - 1n });
    assert.deepEqual(amount?.value, { kind: "Uint", value: 2n ** 256n - 1n });
  });

  it("decodes dynamic events with viem, giving an indexed string as its 32-byte hash", () => {
    const spec = handler(DYNAMIC);
    const params = decodeParams(spec, log(DYNAMIC, { label: "héllo", holders: ["0x0000000000000000000000000000000000000002"], note: "中文", pair: { a: 3, b: "0x0102" } }));
    assert.deepEqual(params.map((p) => p.name), ["label", "holders", "note", "pair"]);
    assert.deepEqual(params[0]!.value, { kind: "FixedBytes", value: Buffer.from(keccak256(toHex("héllo")).slice(2), "hex") });
    assert.deepEqual(params[1]!.value, { kind: "Array", value: [{ kind: "Address", value: Uint8Array.from(Buffer.from(`${"00".repeat(19)}02`, "hex")) }] });
    assert.deepEqual(params[2]!.value, { kind: "String", value: "中文" });
    assert.deepEqual(params[3]!.value, { kind: "Tuple", value: [{ kind: "Uint", value: 3n }, { kind: "Bytes", value: Uint8Array.from([1, 2]) }] });
  });

  it("refuses logs that do not fit the event, naming the log and the event", () => {
    const spec = handler(STATIC);
    const good = log(STATIC, { key: keccak256("0x01"), who: "0x00000000000000000000000000000000000000ff", delta: 1n, operator: "0x0000000000000000000000000000000000000003", lane: 1, amount: 1n, signed: 1n, flag: true, selector: "0x00000000" });
    const fail = (l: RpcLog, reason: RegExp) =>
      assert.throws(() => decodeParams(spec, l), (e: unknown) => e instanceof DeterministicError && /log 7 of transaction 0x1{64} does not decode as Everything: /.test(e.message) && reason.test(e.message));
    fail({ ...good, topics: good.topics.slice(0, 3) }, /2 indexed values, expected 3/);
    fail({ ...good, data: good.data.slice(0, 66) as Hex }, /32 bytes of data, expected 192/);
    const dyn = handler(DYNAMIC);
    assert.throws(() => decodeParams(dyn, { ...good, topics: [toEventSelector(DYNAMIC), keccak256("0x")], data: "0x1234" }), /does not decode as Mixed/);
  });
});
