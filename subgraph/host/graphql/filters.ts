// A coerced `where` argument to the store's Filter, with graph-node's rules: references compare by the target's id
// (hex for Bytes ids), `or` cannot sit next to column filters, and a null only works with equality and `_not`.
import type { EntityField, EntityType, SubgraphSchema } from "../schema.ts";
import { QueryError, type Filter, type FilterScalar } from "../store/query.ts";
import { hexToBytes } from "../store/values.ts";
import type { FilterKey, ListOp, ScalarOp } from "./filter-types.ts";

export type FilterKeys = ReadonlyMap<string, ReadonlyMap<string, FilterKey>>;

export function toFilter(
  schema: SubgraphSchema,
  keys: FilterKeys,
  entity: EntityType,
  where: Readonly<Record<string, unknown>>,
): Filter {
  const meaning = keys.get(entity.name)!;
  const names = Object.keys(where);
  if (names.includes("or")) {
    const columns = names.filter((n) => n !== "or" && n !== "and" && n !== "_change_block").map((n) => `'${n}'`);
    if (columns.length > 0) {
      const list = columns.join(", ");
      throw new QueryError(
        `Cannot mix column filters with 'or' operator at the same level. Found column filter(s) ${list} alongside 'or' operator.\n\n` +
          `Instead of:\nwhere: { ${list}, or: [...] }\n\nUse:\nwhere: { or: [{ ${list}, ... }, { ${list}, ... }] }`,
      );
    }
  }
  const filters: Filter[] = [];
  for (const name of names) {
    const value = where[name];
    const key = meaning.get(name);
    if (!key) throw new QueryError(`Type \`${entity.name}\` has no filter \`${name}\``);
    switch (key.kind) {
      case "and":
      case "or": {
        if (value === null || value === undefined) break;
        const parts = (value as Record<string, unknown>[]).map((w) => toFilter(schema, keys, entity, w ?? {}));
        filters.push({ kind: key.kind, filters: parts });
        break;
      }
      case "change_block": {
        if (value === null || value === undefined) break;
        const number = (value as { number_gte: number }).number_gte;
        filters.push({ kind: "changed_since", block: number });
        break;
      }
      case "child": {
        if (value === null || value === undefined) break;
        const child = schema.entities.get(key.field.typeName)!;
        filters.push({ kind: "child", field: key.field.name, filter: toFilter(schema, keys, child, value as Record<string, unknown>) });
        break;
      }
      case "list":
        filters.push(listFilter(key.field, key.op, value, name));
        break;
      case "scalar":
        filters.push(scalarFilter(key.field, key.op, value, name));
        break;
    }
  }
  return filters.length === 1 ? filters[0]! : { kind: "and", filters };
}

function listFilter(field: EntityField, op: ListOp, value: unknown, name: string): Filter {
  const values = value === null ? null : (value as unknown[]).map((v) => operand(field, v, name));
  if (values === null && op !== "eq" && op !== "not") throw unsupported(null, name);
  const nocase = op.endsWith("_nocase");
  const base = op.replace("_nocase", "") as "eq" | "not" | "contains" | "not_contains";
  if (nocase && field.kind !== "String") throw unsupported(value, name);
  return { kind: "list", field: field.name, op: base, nocase, values };
}

function scalarFilter(field: EntityField, op: ScalarOp, value: unknown, name: string): Filter {
  switch (op) {
    case "eq":
    case "not":
    case "gt":
    case "lt":
    case "gte":
    case "lte":
      if (value === null && op !== "eq" && op !== "not") throw unsupported(null, name);
      return { kind: "compare", field: field.name, op, value: value === null ? null : operand(field, value, name) };
    case "in":
    case "not_in":
      if (value === null) throw unsupported(null, name);
      return { kind: "in", field: field.name, not: op === "not_in", values: (value as unknown[]).map((v) => operand(field, v, name)) };
  }
  // String-like tests: contains, starts_with, ends_with with their not_ and nocase forms.
  if (value === null) throw unsupported(null, name);
  const not = op.startsWith("not_");
  const nocase = op.endsWith("_nocase");
  const test = op.replace(/^not_/, "").replace(/_nocase$/, "") as "contains" | "starts_with" | "ends_with";
  if (field.kind === "Bytes") {
    // Bytes fields, and references to Bytes ids (which filter by hex strings); hex is case-insensitive anyway.
    const bytes = value instanceof Uint8Array ? value : decodeHex(value as string, name);
    return { kind: "bytes", field: field.name, op: test, not, value: bytes };
  }
  return { kind: "text", field: field.name, op: test, not, nocase, value: value as string };
}

/** A coerced GraphQL value as the store compares it with the field's column. */
function operand(field: EntityField, value: unknown, name: string): FilterScalar {
  if (field.base === "entity") {
    // References filter by the target's id, given as a String (or Int for Int8 ids).
    if (field.kind === "Bytes") return decodeHex(value as string, name);
    if (field.kind === "Int8") return BigInt(value as number);
    return value as string;
  }
  return value as FilterScalar;
}

function decodeHex(text: string, name: string): Uint8Array {
  const bytes = hexToBytes(text);
  if (!bytes) throw new QueryError(`Failed to decode \`Bytes\` value: \`${text}\` (in \`${name}\`) is not hex`);
  return bytes;
}

function unsupported(value: unknown, name: string): QueryError {
  return new QueryError(`Filter not supported by value \`${value === null ? "null" : String(value)}\`: \`${name}\``);
}
