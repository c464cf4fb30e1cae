// graph-node's rules for `store.set`, applied before a write enters a block: the merge (a Null removes a field), the
// id, and the merged entity against the schema. Every broken rule is a DeterministicError naming type, id and field.
import type { EntityField, EntityType, SubgraphSchema } from "../schema.ts";
import { DeterministicError, type Entity, type StoreValue } from "./types.ts";
import { describeValue, idKeyOf, idValueOf, normalizeDecimal } from "./values.ts";

export function entityTypeFor(schema: SubgraphSchema, type: string): EntityType {
  const entity = schema.entities.get(type);
  if (!entity) throw new DeterministicError(`Entity type ${type} is not defined in the schema`);
  return entity;
}

/** The canonical key of `id` for `entity` (lowercase hex for Bytes ids), or a DeterministicError. */
export function idKeyFor(entity: EntityType, id: string): string {
  const value = idValueOf(entity.idKind, id);
  if (!value) {
    const expected = entity.idKind === "Bytes" ? "0x-prefixed hex" : entity.idKind === "Int8" ? "a 64-bit integer" : "a string";
    throw new DeterministicError(`Entity ${entity.name}[${id}]: the id must be ${expected} (${entity.name}.id is ${entity.field.get("id")!.graphqlType})`);
  }
  return idKeyOf(value)!;
}

/**
 * Merges `data` into `base` as graph-node's `store.set` does and returns the checked result. `key` is the canonical id
 * key; the entity gets its typed id when `data` has none.
 */
export function mergeForSet(entity: EntityType, key: string, base: Entity | null, data: Entity): Entity {
  const label = `Entity ${entity.name}[${key}]`;
  const given = data.get("id");
  if (given !== undefined && given.kind !== "Null") {
    if (given.kind !== entity.field.get("id")!.kind) {
      throw new DeterministicError(`${label}: the id must have type ${entity.field.get("id")!.graphqlType} but is ${describeValue(given)}`);
    }
    if (idKeyOf(given) !== key) {
      throw new DeterministicError(`${label}: the entity's id ${describeValue(given)} differs from the id it is saved under (${key})`);
    }
  }

  const merged: Entity = base ? new Map(base) : new Map();
  for (const [name, value] of data) {
    if (value.kind === "Null") merged.delete(name);
    else merged.set(name, value);
  }
  if (!merged.has("id")) merged.set("id", idValueOf(entity.idKind, key)!);

  for (const [name, value] of merged) {
    const field = entity.field.get(name);
    if (!field) {
      throw new DeterministicError(`${label}: unknown field \`${name}\`; it is not part of the ${entity.name} type in the schema`);
    }
    if (field.derivedFrom !== undefined) {
      throw new DeterministicError(`${label}: field \`${name}\` is derived (@derivedFrom(field: "${field.derivedFrom}")) and cannot be set`);
    }
    const checked = checkValue(field, value, `${label}: the value ${describeValue(value)} for field \`${name}\``);
    if (checked !== value) merged.set(name, checked);
  }
  for (const field of entity.stored) {
    if (!field.nullable && !merged.has(field.name)) {
      throw new DeterministicError(`${label}: missing value for non-nullable field \`${field.name}\` (${field.graphqlType})`);
    }
  }
  return merged;
}

/** Checks one value against its field; returns the value, normalised where the store keeps a canonical form. */
function checkValue(field: EntityField, value: StoreValue, context: string): StoreValue {
  if (field.list) {
    if (value.kind !== "Array") throw new DeterministicError(`${context} must have type ${field.graphqlType}`);
    let changed = false;
    const elements = value.value.map((element) => {
      if (element.kind === "Null") {
        if (!field.elementNullable) throw new DeterministicError(`${context} must have type ${field.graphqlType}: it contains null`);
        return element;
      }
      const checked = checkScalar(field, element, context);
      if (checked !== element) changed = true;
      return checked;
    });
    return changed ? { kind: "Array", value: elements } : value;
  }
  return checkScalar(field, value, context);
}

function checkScalar(field: EntityField, value: StoreValue, context: string): StoreValue {
  if (value.kind !== field.kind) throw new DeterministicError(`${context} must have type ${field.graphqlType}`);
  switch (value.kind) {
    case "Int":
      if (!Number.isInteger(value.value) || value.value < -(2 ** 31) || value.value >= 2 ** 31) {
        throw new DeterministicError(`${context} is not a 32-bit integer`);
      }
      return value;
    case "Int8":
    case "Timestamp":
      if (value.value < -(2n ** 63n) || value.value >= 2n ** 63n) {
        throw new DeterministicError(`${context} does not fit in 64 bits`);
      }
      return value;
    case "BigDecimal": {
      const canonical = normalizeDecimal(value.value);
      if (canonical === null) throw new DeterministicError(`${context} is not a decimal number`);
      return canonical === value.value ? value : { kind: "BigDecimal", value: canonical };
    }
    case "String":
      if (field.base === "enum") {
        // Enum values arrive as strings; only the enum's own values are allowed.
        const allowed = field.enumValues ?? [];
        if (!allowed.includes(value.value)) {
          throw new DeterministicError(`${context} is not a value of enum ${field.typeName} (${allowed.join(", ")})`);
        }
      }
      return value;
    default:
      return value;
  }
}
