// Event parameters of a log, decoded with the ABI event the manifest names: indexed values from the topics, the
// rest from the data, in the event's input order. An indexed value of a dynamic type (string, bytes, array, tuple)
// is only its keccak hash on chain, so it arrives as 32 fixed bytes, as graph-node gives it.
import { decodeEventLog, type AbiEvent, type AbiParameter, type Hex } from "viem";
import { DeterministicError } from "../runtime/errors.ts";
import { fromAbiValue } from "../runtime/ethereum-value.ts";
import type { EventParam } from "../runtime/event.ts";
import type { EventHandlerSpec } from "../runtime/manifest.ts";
import type { RpcLog } from "./chain.ts";

function isDynamic(param: AbiParameter): boolean {
  return param.type === "string" || param.type === "bytes" || param.type.endsWith("]") || param.type.startsWith("tuple");
}

export function decodeParams(handler: EventHandlerSpec, log: RpcLog): EventParam[] {
  const event: AbiEvent = handler.abiEvent;
  let args: unknown;
  try {
    ({ args } = decodeEventLog({ abi: [event], data: log.data as Hex, topics: log.topics as [Hex, ...Hex[]], strict: true }));
  } catch (error) {
    throw new DeterministicError(
      `log ${Number(log.logIndex)} of transaction ${log.transactionHash} does not decode as ${handler.event}: ${(error as Error).message.split("\n")[0]}`,
    );
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
