// graph-node's `<Type>_filter` input types: per field the suffixes its type allows, `field_` child filters on
// references and @derivedFrom fields, `_change_block`, `and` and `or`. Alongside each input type, a map from input
// field name to what it means, so the where argument is read without parsing suffixes back out of names.
import {
  GraphQLBoolean,
  GraphQLID,
  GraphQLInputObjectType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLString,
  type GraphQLInputFieldConfigMap,
  type GraphQLInputType,
  type GraphQLNamedInputType,
} from "graphql";
import type { EntityField, EntityType, SubgraphSchema } from "../schema.ts";
import { BigDecimalScalar, BigIntScalar, BytesScalar, Int8Scalar, TimestampScalar } from "./scalars.ts";

export type ScalarOp =
  | "eq"
  | "not"
  | "gt"
  | "lt"
  | "gte"
  | "lte"
  | "in"
  | "not_in"
  | "contains"
  | "contains_nocase"
  | "not_contains"
  | "not_contains_nocase"
  | "starts_with"
  | "starts_with_nocase"
  | "not_starts_with"
  | "not_starts_with_nocase"
  | "ends_with"
  | "ends_with_nocase"
  | "not_ends_with"
  | "not_ends_with_nocase";

export type ListOp = "eq" | "not" | "contains" | "contains_nocase" | "not_contains" | "not_contains_nocase";

/** What one input field of a filter means. */
export type FilterKey =
  | { kind: "scalar"; field: EntityField; op: ScalarOp }
  | { kind: "list"; field: EntityField; op: ListOp }
  | { kind: "child"; field: EntityField }
  | { kind: "and" }
  | { kind: "or" }
  | { kind: "change_block" };

const ORDERED: ScalarOp[] = ["eq", "not", "gt", "lt", "gte", "lte", "in", "not_in"];
const STRING_OPS: ScalarOp[] = [
  ...ORDERED,
  "contains",
  "contains_nocase",
  "not_contains",
  "not_contains_nocase",
  "starts_with",
  "starts_with_nocase",
  "not_starts_with",
  "not_starts_with_nocase",
  "ends_with",
  "ends_with_nocase",
  "not_ends_with",
  "not_ends_with_nocase",
];
const LIST_OPS: ListOp[] = ["eq", "not", "contains", "contains_nocase", "not_contains", "not_contains_nocase"];

/** The filter-side GraphQL type of a scalar (references filter by the target's id as String, or Int for Int8 ids). */
export function filterScalarType(field: EntityField, enums: ReadonlyMap<string, GraphQLNamedInputType>): GraphQLNamedInputType {
  if (field.base === "enum") return enums.get(field.typeName)!;
  if (field.base === "entity") return field.kind === "Int8" ? GraphQLInt : GraphQLString;
  switch (field.typeName) {
    case "ID":
      return GraphQLID;
    case "String":
      return GraphQLString;
    case "Int":
      return GraphQLInt;
    case "Boolean":
      return GraphQLBoolean;
    case "Bytes":
      return BytesScalar;
    case "BigInt":
      return BigIntScalar;
    case "BigDecimal":
      return BigDecimalScalar;
    case "Int8":
      return Int8Scalar;
    case "Timestamp":
      return TimestampScalar;
  }
  throw new Error(`no filter type for ${field.typeName}`);
}

function scalarOps(field: EntityField): ScalarOp[] {
  if (field.base === "enum" || field.typeName === "Boolean") return ["eq", "not", "in", "not_in"];
  // References filter like the scalar of the target's id: String (ID and Bytes ids) or Int (Int8 ids).
  const scalar = field.base === "entity" ? (field.kind === "Int8" ? "Int" : "String") : field.typeName;
  if (scalar === "String") return STRING_OPS;
  if (scalar === "Bytes") return [...ORDERED, "contains", "not_contains"];
  return ORDERED;
}

function inputName(field: string, op: string): string {
  return op === "eq" ? field : `${field}_${op}`;
}

export interface FilterTypes {
  inputs: Map<string, GraphQLInputObjectType>;
  /** Per entity type: input field name → meaning. */
  keys: Map<string, Map<string, FilterKey>>;
}

export function buildFilterTypes(
  schema: SubgraphSchema,
  enums: ReadonlyMap<string, GraphQLNamedInputType>,
  blockChangedFilter: GraphQLInputObjectType,
): FilterTypes {
  const inputs = new Map<string, GraphQLInputObjectType>();
  const keys = new Map<string, Map<string, FilterKey>>();
  for (const entity of schema.entities.values()) {
    const meaning = new Map<string, FilterKey>();
    keys.set(entity.name, meaning);
    inputs.set(
      entity.name,
      new GraphQLInputObjectType({
        name: `${entity.name}_filter`,
        fields: () => filterFields(entity, enums, inputs, meaning, blockChangedFilter),
      }),
    );
  }
  return { inputs, keys };
}

function filterFields(
  entity: EntityType,
  enums: ReadonlyMap<string, GraphQLNamedInputType>,
  inputs: Map<string, GraphQLInputObjectType>,
  meaning: Map<string, FilterKey>,
  blockChangedFilter: GraphQLInputObjectType,
): GraphQLInputFieldConfigMap {
  const fields: GraphQLInputFieldConfigMap = {};
  const add = (name: string, type: GraphQLInputType, key: FilterKey) => {
    fields[name] = { type };
    meaning.set(name, key);
  };
  for (const field of entity.fields) {
    const derived = field.derivedFrom !== undefined;
    if (!derived) {
      const scalar = filterScalarType(field, enums);
      const listOf = new GraphQLList(new GraphQLNonNull(scalar));
      if (field.list) {
        for (const op of LIST_OPS) add(inputName(field.name, op), listOf, { kind: "list", field, op });
      } else {
        for (const op of scalarOps(field)) {
          add(inputName(field.name, op), op === "in" || op === "not_in" ? listOf : scalar, { kind: "scalar", field, op });
        }
      }
    }
    if (field.base === "entity") add(`${field.name}_`, inputs.get(field.typeName)!, { kind: "child", field });
  }
  fields["_change_block"] = { type: blockChangedFilter, description: "Filter for the block changed event." };
  meaning.set("_change_block", { kind: "change_block" });
  add("and", new GraphQLList(inputs.get(entity.name)!), { kind: "and" });
  add("or", new GraphQLList(inputs.get(entity.name)!), { kind: "or" });
  return fields;
}
