// Event parameters of a log, decoded with the ABI event the manifest names: indexed values from the topics, the
// rest from the data, in the event's input order. An indexed value of a dynamic type (string, bytes, array, tuple)
// is only its keccak hash on chain, so it arrives as 32 fixed bytes, as graph-node gives it.
//
// Events whose inputs are all static elementary types (address, bool, intN, uintN, bytesN) — most events, and every
// hot one here — are read straight from their 32-byte words; the rest go through viem's decodeEventLog. The fast path
// is the measured hot spot of indexing (viem checksums every address it decodes); tests check both agree.
import { decodeEventLog, type AbiEvent, type AbiParameter, type Hex } from "viem";
import { DeterministicError } from "../runtime/errors.ts";
import { fromAbiValue, type EthereumValue } from "../runtime/ethereum-value.ts";
import type { EventParam } from "../runtime/event.ts";
import type { EventHandlerSpec } from "../runtime/manifest.ts";
import type { RpcLog } from "./chain.ts";

function isDynamic(param: AbiParameter): boolean {
  return param.type === "string" || param.type === "bytes" || param.type.endsWith("]") || param.type.startsWith("tuple");
}

type WordReader = (word: Buffer) => EthereumValue;

/** Reads one static elementary value from its 32-byte ABI word; null for types that need the full decoder. */
function wordReader(type: string): WordReader | null {
  if (type === "address") return (w) => ({ kind: "Address", value: new Uint8Array(w.subarray(12, 32)) });
  if (type === "bool") return (w) => ({ kind: "Bool", value: w[31] !== 0 });
  const uint = /^uint(\d*)$/.exec(type);
  if (uint) return (w) => ({ kind: "Uint", value: BigInt(`0x${w.toString("hex")}`) });
  const int = /^int(\d*)$/.exec(type);
  if (int) {
    return (w) => {
      const value = BigInt(`0x${w.toString("hex")}`);
      return { kind: "Int", value: w[0]! & 0x80 ? value - (1n << 256n) : value };
    };
  }
  const fixed = /^bytes(\d+)$/.exec(type);
  if (fixed) {
    const size = Number(fixed[1]);
    return (w) => ({ kind: "FixedBytes", value: new Uint8Array(w.subarray(0, size)) });
  }
  return null;
}

interface Plan {
  /** Per input: where its word is (a topic or a data slot) and how to read it; null when the fast path cannot. */
  inputs: { name: string; topic: number | null; slot: number; read: WordReader; hashed: boolean }[] | null;
  indexed: number;
  slots: number;
}

const plans = new WeakMap<EventHandlerSpec, Plan>();

function planFor(handler: EventHandlerSpec): Plan {
  let plan = plans.get(handler);
  if (plan) return plan;
  const inputs: NonNullable<Plan["inputs"]> = [];
  let topic = 1;
  let slot = 0;
  let fast = true;
  for (const input of handler.abiEvent.inputs) {
    if (input.indexed) {
      const hashed = isDynamic(input);
      const read = hashed ? (w: Buffer): EthereumValue => ({ kind: "FixedBytes", value: new Uint8Array(w) }) : wordReader(input.type);
      inputs.push({ name: input.name ?? "", topic: topic++, slot: -1, read: read!, hashed });
      if (!read) fast = false;
    } else {
      const read = wordReader(input.type);
      if (!read) fast = false;
      inputs.push({ name: input.name ?? "", topic: null, slot: slot++, read: read!, hashed: false });
    }
  }
  plan = { inputs: fast ? inputs : null, indexed: topic - 1, slots: slot };
  plans.set(handler, plan);
  return plan;
}

function mismatch(handler: EventHandlerSpec, log: RpcLog, reason: string): DeterministicError {
  return new DeterministicError(`log ${Number(log.logIndex)} of transaction ${log.transactionHash} does not decode as ${handler.event}: ${reason}`);
}

export function decodeParams(handler: EventHandlerSpec, log: RpcLog): EventParam[] {
  const plan = planFor(handler);
  if (!plan.inputs) return decodeWithViem(handler, log);
  if (log.topics.length !== plan.indexed + 1) throw mismatch(handler, log, `${log.topics.length - 1} indexed values, expected ${plan.indexed}`);
  const data = Buffer.from(log.data.slice(2), "hex");
  if (data.length < plan.slots * 32) throw mismatch(handler, log, `${data.length} bytes of data, expected ${plan.slots * 32}`);
  return plan.inputs.map(({ name, topic, slot, read }) => {
    const word = topic === null ? data.subarray(slot * 32, slot * 32 + 32) : Buffer.from(log.topics[topic]!.slice(2), "hex");
    return { name, value: read(word) };
  });
}

/** The general decoder (viem), for events with dynamic or nested inputs. */
export function decodeWithViem(handler: EventHandlerSpec, log: RpcLog): EventParam[] {
  const event: AbiEvent = handler.abiEvent;
  let args: unknown;
  try {
    ({ args } = decodeEventLog({ abi: [event], data: log.data as Hex, topics: log.topics as [Hex, ...Hex[]], strict: true }));
  } catch (error) {
    throw mismatch(handler, log, (error as Error).message.split("\n")[0]!);
  }
  let topic = 1;
  return event.inputs.map((input, i) => {
    const value = Array.isArray(args) ? args[i] : (args as Record<string, unknown>)[input.name ?? ""];
    if (input.indexed) {
      const raw = log.topics[topic++]!;
      if (isDynamic(input)) return { name: input.name ?? "", value: { kind: "FixedBytes", value: Buffer.from(raw.slice(2), "hex") } };
    }
    return { name: input.name ?? "", value: fromAbiValue(input, value) };
  });
}
