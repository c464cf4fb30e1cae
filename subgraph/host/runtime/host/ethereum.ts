// ethereum.encode / ethereum.decode through viem's ABI coder. Like graph-node, a value that cannot be encoded or
// bytes that do not decode give null to the mapping instead of failing it.
import { decodeAbiParameters, encodeAbiParameters, parseAbiParameters, type AbiParameter } from "viem";
import { fromAbiValue, toAbiValue } from "../ethereum-value.ts";
import type { HostFunctions } from "./types.ts";

const parsedTypes = new Map<string, AbiParameter | null>();

/** One ABI type, e.g. `(address,uint256)` or `uint256[]`; null when the text is not exactly one type. */
function parseType(text: string): AbiParameter | null {
  let param = parsedTypes.get(text);
  if (param === undefined) {
    try {
      const params = parseAbiParameters(text) as readonly AbiParameter[];
      param = params.length === 1 ? params[0]! : null;
    } catch {
      param = null;
    }
    parsedTypes.set(text, param);
  }
  return param;
}

export const ethereumFunctions: HostFunctions = {
  "ethereum.encode"(ctx, valuePtr) {
    const value = ctx.marshal.ethereumValue(valuePtr);
    let encoded: `0x${string}`;
    try {
      const abi = toAbiValue(value);
      encoded = encodeAbiParameters([abi.param], [abi.value]);
    } catch (error) {
      ctx.logger.debug({ handler: ctx.handler, error: String(error) }, "ethereum.encode failed; returning null");
      return 0;
    }
    return ctx.marshal.writeBytes(Buffer.from(encoded.slice(2), "hex"));
  },

  "ethereum.decode"(ctx, typesPtr, dataPtr) {
    const types = ctx.marshal.string(typesPtr);
    const data = ctx.marshal.bytes(dataPtr);
    const param = parseType(types);
    if (!param) {
      ctx.logger.debug({ handler: ctx.handler, types }, "ethereum.decode: not one ABI type; returning null");
      return 0;
    }
    let decoded: unknown;
    try {
      [decoded] = decodeAbiParameters([param], data);
    } catch (error) {
      ctx.logger.debug({ handler: ctx.handler, types, error: String(error) }, "ethereum.decode failed; returning null");
      return 0;
    }
    return ctx.marshal.writeEthereumValue(fromAbiValue(param, decoded));
  },
};
