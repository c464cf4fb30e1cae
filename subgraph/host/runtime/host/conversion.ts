// typeConversion.*, crypto.keccak256 and log.log.
import { base58btc } from "multiformats/bases/base58";
import { keccak256 } from "viem";
import { DeterministicError } from "../errors.ts";
import type { HostFunctions } from "./types.ts";

const utf8 = new TextDecoder("utf-8");

export function hex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")}`;
}

/** graph-node's go-ethereum style: minimal digits of |n| (the sign is dropped), "0x0" for zero. */
export function bigIntToHex(value: bigint): string {
  if (value === 0n) return "0x0";
  return `0x${(value < 0n ? -value : value).toString(16)}`;
}

/** UTF-8, invalid sequences replaced (as Rust's from_utf8_lossy does), trailing NULs of fixed-size fields trimmed. */
export function bytesToString(bytes: Uint8Array): string {
  return utf8.decode(bytes).replace(/\u0000+$/, "");
}

export function stringToAddress(text: string): Uint8Array {
  const digits = text.startsWith("0x") ? text.slice(2) : text;
  if (!/^[0-9a-fA-F]{40}$/.test(digits)) {
    throw new DeterministicError(`failed to convert string to Address/H160: '${text}': expected 40 hex digits`);
  }
  return Buffer.from(digits, "hex");
}

const LOG_LEVELS = ["critical", "error", "warning", "info", "debug"] as const;

export const conversionFunctions: HostFunctions = {
  "typeConversion.bytesToString"(ctx, ptr) {
    return ctx.marshal.writeString(bytesToString(ctx.marshal.bytes(ptr)));
  },
  "typeConversion.bytesToHex"(ctx, ptr) {
    return ctx.marshal.writeString(hex(ctx.marshal.bytes(ptr)));
  },
  "typeConversion.bigIntToString"(ctx, ptr) {
    return ctx.marshal.writeString(ctx.marshal.bigInt(ptr).toString());
  },
  "typeConversion.bigIntToHex"(ctx, ptr) {
    return ctx.marshal.writeString(bigIntToHex(ctx.marshal.bigInt(ptr)));
  },
  "typeConversion.stringToH160"(ctx, ptr) {
    return ctx.marshal.writeBytes(stringToAddress(ctx.marshal.string(ptr)));
  },
  "typeConversion.bytesToBase58"(ctx, ptr) {
    return ctx.marshal.writeString(base58btc.baseEncode(ctx.marshal.bytes(ptr)));
  },

  "crypto.keccak256"(ctx, ptr) {
    return ctx.marshal.writeBytes(keccak256(ctx.marshal.bytes(ptr), "bytes"));
  },

  "log.log"(ctx, level, messagePtr) {
    const message = ctx.marshal.string(messagePtr);
    const fields = { dataSource: ctx.dataSource.name, handler: ctx.handler, block: ctx.blockNumber };
    switch (level) {
      case 0:
        ctx.logger.error({ ...fields, level: LOG_LEVELS[0] }, message);
        throw new DeterministicError(`Critical error logged in mapping with log message: ${message}`);
      case 1:
        return ctx.logger.error(fields, message);
      case 2:
        return ctx.logger.warn(fields, message);
      case 3:
        return ctx.logger.info(fields, message);
      default:
        return ctx.logger.debug(fields, message);
    }
  },
};
