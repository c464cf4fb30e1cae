// store.get / get_in_block / loadRelated / set / remove, over the block's BlockWriter. The store enforces the
// schema; this layer fills in `id` and checks it against the argument, as graph-node's host does, and keeps
// machine failures (a database error) apart from the mapping's own mistakes.
import { bytesToHex } from "viem";
import type { Entity, StoreValue } from "../../store/types.ts";
import type { TriggerContext } from "../context.ts";
import { DeterministicError, TransientHandlerError } from "../errors.ts";
import { TypeId } from "../type-ids.ts";
import type { EntityType } from "../../schema.ts";
import type { HostFunctions } from "./types.ts";

/** Runs a store call; anything the store throws that is not a DeterministicError is the machine's fault. */
function guarded<T>(operation: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof DeterministicError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new TransientHandlerError(`${operation}: ${message}`, { cause: error });
  }
}

function entityType(ctx: TriggerContext, name: string): EntityType {
  const type = ctx.schema.entities.get(name);
  if (!type) throw new DeterministicError(`entity type \`${name}\` is not defined in the schema`);
  return type;
}

function idValue(type: EntityType, id: string): StoreValue {
  switch (type.idKind) {
    case "String":
      return { kind: "String", value: id };
    case "Bytes": {
      if (!/^0x([0-9a-fA-F]{2})*$/.test(id)) throw new DeterministicError(`the id of ${type.name} must be hex bytes, got \`${id}\``);
      return { kind: "Bytes", value: Buffer.from(id.slice(2), "hex") };
    }
    case "Int8": {
      if (!/^-?[0-9]+$/.test(id)) throw new DeterministicError(`the id of ${type.name} must be an Int8, got \`${id}\``);
      return { kind: "Int8", value: BigInt(id) };
    }
  }
}

/** The id as the store keys it: Bytes ids as lowercase hex (graph-node parses them into bytes). */
function storeId(type: EntityType, id: string): string {
  if (type.idKind === "String") return id;
  idValue(type, id);
  return type.idKind === "Bytes" ? id.toLowerCase() : BigInt(id).toString();
}

function sameId(value: StoreValue, expected: StoreValue): boolean {
  if (value.kind !== expected.kind) return false;
  if (value.kind === "Bytes") return bytesToHex(value.value) === bytesToHex((expected as { value: Uint8Array }).value);
  return (value as { value: unknown }).value === (expected as { value: unknown }).value;
}

function describe(value: StoreValue): string {
  if (value.kind === "Null") return "null";
  if (value.kind === "Bytes") return bytesToHex(value.value);
  return String(value.value);
}

/** The entity graph-node would store: `id` added when missing; a different `id` is an error. */
function withId(ctx: TriggerContext, type: EntityType, id: string, data: Entity): Entity {
  const expected = idValue(type, id);
  const given = data.get("id");
  if (given === undefined) {
    data.set("id", expected);
  } else if (!sameId(given, expected)) {
    if (given.kind !== expected.kind) {
      throw new DeterministicError(`attribute \`${type.name}.id\` has wrong type: expected ${expected.kind} but got ${given.kind}`);
    }
    throw new DeterministicError(
      `value of ${type.name} attribute 'id' conflicts with ID passed to \`store.set()\`: ${describe(given)} != ${id}`,
    );
  }
  // Before apiVersion 0.0.8 graph-node dropped fields the schema does not know; later the store rejects them.
  const [major, minor, patch] = ctx.apiVersion;
  if (major === 0 && minor === 0 && patch < 8) {
    for (const field of [...data.keys()]) if (!type.field.has(field)) data.delete(field);
  }
  return data;
}

export const storeFunctions: HostFunctions = {
  "store.get"(ctx, typePtr, idPtr) {
    const type = ctx.marshal.string(typePtr);
    const id = ctx.marshal.string(idPtr);
    const key = storeId(entityType(ctx, type), id);
    const entity = guarded("store.get", () => ctx.writer.get(type, key));
    return entity ? ctx.marshal.writeEntity(entity) : 0;
  },

  "store.get_in_block"(ctx, typePtr, idPtr) {
    const type = ctx.marshal.string(typePtr);
    const id = ctx.marshal.string(idPtr);
    const key = storeId(entityType(ctx, type), id);
    const entity = guarded("store.get_in_block", () => ctx.writer.getInBlock(type, key));
    return entity ? ctx.marshal.writeEntity(entity) : 0;
  },

  "store.loadRelated"(ctx, typePtr, idPtr, fieldPtr) {
    const type = ctx.marshal.string(typePtr);
    const id = ctx.marshal.string(idPtr);
    const field = ctx.marshal.string(fieldPtr);
    const key = storeId(entityType(ctx, type), id);
    const entities = guarded("store.loadRelated", () => ctx.writer.loadRelated(type, key, field));
    return ctx.marshal.writeArray(
      TypeId.ArrayTypedMapStringStoreValue,
      entities.map((e) => ctx.marshal.writeEntity(e)),
    );
  },

  "store.set"(ctx, typePtr, idPtr, dataPtr) {
    const type = ctx.marshal.string(typePtr);
    const id = ctx.marshal.string(idPtr);
    const info = entityType(ctx, type);
    const data = withId(ctx, info, id, ctx.marshal.entity(dataPtr));
    const key = storeId(info, id);
    guarded("store.set", () => ctx.writer.set(type, key, data));
  },

  "store.remove"(ctx, typePtr, idPtr) {
    const type = ctx.marshal.string(typePtr);
    const id = ctx.marshal.string(idPtr);
    const key = storeId(entityType(ctx, type), id);
    guarded("store.remove", () => ctx.writer.remove(type, key));
  },
};
