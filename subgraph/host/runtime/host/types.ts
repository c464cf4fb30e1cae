import type { TriggerContext } from "../context.ts";

/** A host import: called with the running trigger's context, then the module's arguments (pointers or numbers). */
export type HostFunction = (ctx: TriggerContext, ...args: number[]) => number | bigint | void;

export type HostFunctions = Readonly<Record<string, HostFunction>>;
