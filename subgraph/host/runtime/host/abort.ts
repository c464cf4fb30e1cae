// AssemblyScript's `abort(message, file, line, column)`: a failed assertion, `!` on null, an explicit throw.
import { DeterministicError } from "../errors.ts";
import type { HostFunctions } from "./types.ts";

export const abortFunctions: HostFunctions = {
  abort(ctx, messagePtr, filePtr, line, column) {
    const message = ctx.marshal.nullableString(messagePtr);
    const file = ctx.marshal.nullableString(filePtr);
    // 0 is no line or column.
    const parts = [file ?? "an unknown location"];
    if (line) parts.push(`line ${line >>> 0}`);
    if (line && column) parts.push(`column ${column >>> 0}`);
    throw new DeterministicError(`Mapping aborted at ${parts.join(", ")}, with ${message === null ? "no message" : `message: ${message}`}`);
  },
};
