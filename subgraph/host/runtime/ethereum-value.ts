// graph-ts `ethereum.Value` on the host side, and its conversion from and to viem's ABI values: event parameters
// arrive decoded by viem, `ethereum.encode`/`decode` go through viem's ABI coder.
import { hexToBytes, bytesToHex, type AbiParameter, type Hex } from "viem";

export type EthereumValue =
  | { kind: "Address"; value: Uint8Array }
  | { kind: "FixedBytes"; value: Uint8Array }
  | { kind: "Bytes"; value: Uint8Array }
  | { kind: "Int"; value: bigint }
  | { kind: "Uint"; value: bigint }
  | { kind: "Bool"; value: boolean }
  | { kind: "String"; value: string }
  | { kind: "FixedArray"; value: EthereumValue[] }
  | { kind: "Array"; value: EthereumValue[] }
  | { kind: "Tuple"; value: EthereumValue[] };

type TupleParameter = AbiParameter & { components: readonly AbiParameter[] };

/** Splits `uint256[2][]` into the element type and the outermost array suffix. */
function outerArray(type: string): { element: string; length: number | null } | null {
  const match = /^(.*)\[(\d*)\]$/.exec(type);
  if (!match) return null;
  return { element: match[1]!, length: match[2] === "" ? null : Number(match[2]) };
}

function fromHex(value: unknown): Uint8Array {
  return hexToBytes(value as Hex);
}

/** A value as viem's ABI decoder returns it, typed by its ABI parameter. */
export function fromAbiValue(param: AbiParameter, value: unknown): EthereumValue {
  const { type } = param;
  const array = outerArray(type);
  if (array) {
    const element = { ...param, type: array.element } as AbiParameter;
    const items = (value as readonly unknown[]).map((item) => fromAbiValue(element, item));
    return array.length === null ? { kind: "Array", value: items } : { kind: "FixedArray", value: items };
  }
  if (type === "tuple") {
    const components = (param as TupleParameter).components;
    const tuple = value as Record<string, unknown> | readonly unknown[];
    return {
      kind: "Tuple",
      value: components.map((component, i) =>
        fromAbiValue(component, Array.isArray(tuple) ? tuple[i] : (tuple as Record<string, unknown>)[component.name ?? ""]),
      ),
    };
  }
  if (type === "address") return { kind: "Address", value: fromHex(value) };
  if (type === "bool") return { kind: "Bool", value: value as boolean };
  if (type === "string") return { kind: "String", value: value as string };
  if (type === "bytes") return { kind: "Bytes", value: fromHex(value) };
  if (type.startsWith("bytes")) return { kind: "FixedBytes", value: fromHex(value) };
  if (type.startsWith("uint")) return { kind: "Uint", value: BigInt(value as bigint | number) };
  if (type.startsWith("int")) return { kind: "Int", value: BigInt(value as bigint | number) };
  throw new Error(`unsupported ABI type ${type}`);
}

/** The ABI parameter and viem value that encode `value`, with the types graph-node's encoder infers from it. */
export function toAbiValue(value: EthereumValue): { param: AbiParameter; value: unknown } {
  switch (value.kind) {
    case "Address":
      if (value.value.length !== 20) throw new Error(`an address has 20 bytes, got ${value.value.length}`);
      return { param: { type: "address" }, value: bytesToHex(value.value) };
    case "FixedBytes":
      if (value.value.length < 1 || value.value.length > 32) throw new Error(`fixed bytes have 1 to 32 bytes, got ${value.value.length}`);
      return { param: { type: `bytes${value.value.length}` }, value: bytesToHex(value.value) };
    case "Bytes":
      return { param: { type: "bytes" }, value: bytesToHex(value.value) };
    case "Int":
      return { param: { type: "int256" }, value: value.value };
    case "Uint":
      return { param: { type: "uint256" }, value: value.value };
    case "Bool":
      return { param: { type: "bool" }, value: value.value };
    case "String":
      return { param: { type: "string" }, value: value.value };
    case "Tuple": {
      const parts = value.value.map(toAbiValue);
      return {
        param: { type: "tuple", components: parts.map((p) => p.param) } as AbiParameter,
        value: parts.map((p) => p.value),
      };
    }
    case "FixedArray":
    case "Array": {
      const parts = value.value.map(toAbiValue);
      // An empty array encodes the same whatever its element type.
      const element = parts[0]?.param ?? { type: "uint256" };
      const suffix = value.kind === "Array" ? "[]" : `[${parts.length}]`;
      return {
        param: { ...element, type: `${element.type}${suffix}` } as AbiParameter,
        value: parts.map((p) => p.value),
      };
    }
  }
}
