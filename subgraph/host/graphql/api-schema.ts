// The executable GraphQL schema graph-node would serve for a subgraph schema: per entity type an object type, a
// `<Type>_filter` input, a `<Type>_orderBy` enum, a singular field `type(id:, block:)` and a plural field
// `types(skip, first, orderBy, orderDirection, where, block)`; list fields take skip/first/orderBy/where; `_meta`.
import {
  GraphQLBoolean,
  GraphQLEnumType,
  GraphQLID,
  GraphQLInputObjectType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  type GraphQLEnumValueConfigMap,
  type GraphQLFieldConfig,
  type GraphQLFieldConfigArgumentMap,
  type GraphQLFieldConfigMap,
  type GraphQLNamedOutputType,
  type GraphQLNullableOutputType,
  type GraphQLOutputType,
} from "graphql";
import type { EntityField, EntityType, SubgraphSchema } from "../schema.ts";
import { QueryError, type OrderBy } from "../store/query.ts";
import type { StoreValue } from "../store/types.ts";
import { idKeyOf, idValueOf } from "../store/values.ts";
import type { BlockHeight, ChildArgs, EntityNode, RequestContext } from "./context.ts";
import { buildFilterTypes, type FilterTypes } from "./filter-types.ts";
import { toFilter } from "./filters.ts";
import { pluralField, singularField } from "./names.ts";
import { BigDecimalScalar, BigIntScalar, BytesScalar, Int8Scalar, TimestampScalar } from "./scalars.ts";

export interface ApiLimits {
  /** Largest `first` (graph-node: 1000). */
  maxFirst: number;
  /** Largest `skip` (graph-node's hosted default: 5000). */
  maxSkip: number;
}

export const DEFAULT_LIMITS: ApiLimits = { maxFirst: 1000, maxSkip: 5000 };

const OrderDirection = new GraphQLEnumType({
  name: "OrderDirection",
  description: "Defines the order direction, either ascending or descending",
  values: { asc: {}, desc: {} },
});

const BlockHeightInput = new GraphQLInputObjectType({
  name: "Block_height",
  description: "The block at which the query should be executed.",
  fields: {
    hash: { type: BytesScalar, description: "Value containing a block hash" },
    number: { type: GraphQLInt, description: "Value containing a block number" },
    number_gte: {
      type: GraphQLInt,
      description:
        "Value containing the minimum block number. In the case of `number_gte`, the query will be executed on the latest block only if the subgraph has progressed to or past the minimum block number. Defaults to the latest block when omitted.",
    },
  },
});

const BlockChangedFilter = new GraphQLInputObjectType({
  name: "BlockChangedFilter",
  fields: { number_gte: { type: new GraphQLNonNull(GraphQLInt) } },
});

const SubgraphErrorPolicy = new GraphQLEnumType({
  name: "_SubgraphErrorPolicy_",
  values: {
    allow: { description: "Data will be returned even if the subgraph has indexing errors" },
    deny: { description: "If the subgraph has indexing errors, data will be omitted. The default." },
  },
});

const MetaBlock = new GraphQLObjectType({
  name: "_Block_",
  fields: {
    hash: { type: BytesScalar, description: "The hash of the block" },
    number: { type: new GraphQLNonNull(GraphQLInt), description: "The block number" },
    timestamp: { type: GraphQLInt, description: "Integer representation of the timestamp stored in blocks for the chain" },
    parentHash: { type: BytesScalar, description: "The hash of the parent block" },
  },
});

const Meta = new GraphQLObjectType({
  name: "_Meta_",
  description: "The type for the top-level _meta field",
  fields: {
    block: { type: new GraphQLNonNull(MetaBlock), description: "Information about a specific subgraph block." },
    deployment: { type: new GraphQLNonNull(GraphQLString), description: "The deployment ID" },
    hasIndexingErrors: {
      type: new GraphQLNonNull(GraphQLBoolean),
      description: "If `true`, the subgraph encountered indexing errors at some past block",
    },
  },
});

const SCALAR_OUTPUT: Record<string, GraphQLNamedOutputType> = {
  ID: GraphQLID,
  String: GraphQLString,
  Int: GraphQLInt,
  Boolean: GraphQLBoolean,
  Bytes: BytesScalar,
  BigInt: BigIntScalar,
  BigDecimal: BigDecimalScalar,
  Int8: Int8Scalar,
  Timestamp: TimestampScalar,
};

interface OrderValue {
  field: string;
  child?: string;
}

export interface SubgraphApi {
  readonly schema: GraphQLSchema;
  readonly subgraph: SubgraphSchema;
}

export function buildApiSchema(subgraph: SubgraphSchema, limits: ApiLimits = DEFAULT_LIMITS): SubgraphApi {
  const enums = new Map<string, GraphQLEnumType>();
  for (const [name, values] of subgraph.enums) {
    enums.set(name, new GraphQLEnumType({ name, values: Object.fromEntries(values.map((v) => [v, { value: v }])) }));
  }
  const filters = buildFilterTypes(subgraph, enums, BlockChangedFilter);
  const orderBy = new Map<string, GraphQLEnumType>();
  for (const entity of subgraph.entities.values()) orderBy.set(entity.name, orderByEnum(subgraph, entity));

  const objects = new Map<string, GraphQLObjectType>();
  for (const entity of subgraph.entities.values()) {
    objects.set(
      entity.name,
      new GraphQLObjectType<EntityNode, RequestContext>({
        name: entity.name,
        description: entity.description,
        fields: () => entityFields(subgraph, entity, { objects, enums, filters, orderBy, limits }),
      }),
    );
  }

  const query: GraphQLFieldConfigMap<unknown, RequestContext> = {};
  for (const entity of subgraph.entities.values()) {
    const object = objects.get(entity.name)!;
    query[singularField(entity.name)] = {
      type: object,
      args: {
        id: { type: new GraphQLNonNull(GraphQLID) },
        block: blockArgument(),
        subgraphError: subgraphErrorArgument(),
      },
      resolve: async (_root, args: { id: string; block?: BlockHeight }, ctx) => {
        const { number } = await ctx.resolveBlock(args.block);
        const key = idKey(entity, args.id);
        const found = key === null ? null : await ctx.byId(entity, number).load(key);
        return found ? node(entity, found, number) : null;
      },
    };
    query[pluralField(entity.name)] = {
      type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(object))),
      args: { ...collectionArguments(entity, filters, orderBy), block: blockArgument(), subgraphError: subgraphErrorArgument() },
      resolve: async (_root, args: CollectionArgs & { block?: BlockHeight }, ctx) => {
        const { number } = await ctx.resolveBlock(args.block);
        const query = collectionQuery(subgraph, filters, entity, args, limits);
        const found = await ctx.reader.find({ type: entity.name, block: number, ...query });
        return found.map((e) => node(entity, e, number));
      },
    };
  }
  query["_meta"] = {
    type: Meta,
    description: "Access to subgraph metadata",
    args: { block: { type: BlockHeightInput } },
    resolve: async (_root, args: { block?: BlockHeight }, ctx) => {
      const block = await ctx.resolveBlock(args.block);
      if (block.number < 0) throw new QueryError(`subgraph ${ctx.deployment} has not indexed any block yet`);
      const ptr = block.ptr;
      return {
        block: { number: block.number, hash: ptr?.hash ?? null, timestamp: ptr?.timestamp ?? null, parentHash: ptr?.parentHash ?? null },
        deployment: ctx.deployment,
        hasIndexingErrors: (await ctx.reader.failure()) !== null,
      };
    },
  };

  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: "Query", fields: query }),
    types: [...enums.values()],
  });
  return { schema, subgraph };
}

interface Built {
  objects: Map<string, GraphQLObjectType>;
  enums: Map<string, GraphQLEnumType>;
  filters: FilterTypes;
  orderBy: Map<string, GraphQLEnumType>;
  limits: ApiLimits;
}

interface CollectionArgs {
  skip?: number | null;
  first?: number | null;
  orderBy?: OrderValue | null;
  orderDirection?: "asc" | "desc" | null;
  where?: Record<string, unknown> | null;
}

function entityFields(subgraph: SubgraphSchema, entity: EntityType, built: Built): GraphQLFieldConfigMap<EntityNode, RequestContext> {
  const fields: GraphQLFieldConfigMap<EntityNode, RequestContext> = {};
  for (const field of entity.fields) fields[field.name] = entityField(subgraph, entity, field, built);
  return fields;
}

function entityField(
  subgraph: SubgraphSchema,
  entity: EntityType,
  field: EntityField,
  built: Built,
): GraphQLFieldConfig<EntityNode, RequestContext> {
  const description = field.description;
  if (field.base !== "entity") {
    const named = field.base === "enum" ? built.enums.get(field.typeName)! : SCALAR_OUTPUT[field.typeName]!;
    return { type: wrap(field, named), description, resolve: (n) => payload(n.entity.get(field.name)) };
  }
  const target = subgraph.entities.get(field.typeName)!;
  const object = built.objects.get(target.name)!;
  if (!field.list && field.derivedFrom === undefined) {
    return {
      type: wrap(field, object),
      description,
      resolve: async (n, _args, ctx) => {
        const value = n.entity.get(field.name);
        const key = value ? idKeyOf(value) : null;
        if (key === null) return null;
        const found = await ctx.byId(target, n.block).load(key);
        return found ? node(target, found, n.block) : null;
      },
    };
  }
  if (!field.list) {
    // A single @derivedFrom field: the one entity pointing back, and an error when there are several.
    return {
      type: wrap(field, object),
      description,
      resolve: async (n, _args, ctx) => {
        const key = idKeyOf(n.entity.get("id")!)!;
        const found = await ctx.children(entity, field.name, n.block, { skip: 0, first: 2 }).load(key);
        if (found.length > 1) {
          throw new QueryError(
            `Ambiguous result for derived field \`${field.name}\`: Multiple \`${target.name}\` entities refer back via \`${field.derivedFrom}\``,
          );
        }
        return found[0] ? node(target, found[0], n.block) : null;
      },
    };
  }
  return {
    type: wrap(field, object),
    description,
    args: collectionArguments(target, built.filters, built.orderBy),
    resolve: async (n, args: CollectionArgs, ctx) => {
      const query = collectionQuery(subgraph, built.filters, target, args, built.limits);
      const key = idKeyOf(n.entity.get("id")!)!;
      const childArgs: ChildArgs = { skip: query.skip, first: query.first, ...(query.where ? { where: query.where } : {}), ...(query.orderBy ? { orderBy: query.orderBy } : {}) };
      if (query.first === 0) return [];
      const found = await ctx.children(entity, field.name, n.block, childArgs).load(key);
      return found.map((e) => node(target, e, n.block));
    },
  };
}

function collectionArguments(
  entity: EntityType,
  filters: FilterTypes,
  orderBy: Map<string, GraphQLEnumType>,
): GraphQLFieldConfigArgumentMap {
  return {
    skip: { type: GraphQLInt, default: { value: 0 } },
    first: { type: GraphQLInt, default: { value: 100 } },
    orderBy: { type: orderBy.get(entity.name)! },
    orderDirection: { type: OrderDirection },
    where: { type: filters.inputs.get(entity.name)! },
  };
}

function collectionQuery(
  subgraph: SubgraphSchema,
  filters: FilterTypes,
  entity: EntityType,
  args: CollectionArgs,
  limits: ApiLimits,
): { skip: number; first: number; where?: ReturnType<typeof toFilter>; orderBy?: OrderBy } {
  const first = args.first ?? 100;
  const skip = args.skip ?? 0;
  if (first < 0 || first > limits.maxFirst) {
    throw new QueryError(`The \`first\` argument must be between 0 and ${limits.maxFirst}, but is ${first}`);
  }
  if (skip < 0 || skip > limits.maxSkip) {
    throw new QueryError(`The \`skip\` argument must be between 0 and ${limits.maxSkip}, but is ${skip}`);
  }
  const direction = args.orderDirection ?? "asc";
  const order = args.orderBy ? { field: args.orderBy.field, ...(args.orderBy.child ? { child: args.orderBy.child } : {}), direction } : undefined;
  if (!order && direction === "desc") {
    // graph-node orders by id when only a direction is given.
    return { skip, first, orderBy: { field: "id", direction }, ...whereOf(subgraph, filters, entity, args) };
  }
  return { skip, first, ...(order ? { orderBy: order } : {}), ...whereOf(subgraph, filters, entity, args) };
}

function whereOf(subgraph: SubgraphSchema, filters: FilterTypes, entity: EntityType, args: CollectionArgs) {
  return args.where ? { where: toFilter(subgraph, filters.keys, entity, args.where) } : {};
}

/** `<Type>_orderBy`: every field, and `field__child` for the scalar fields of single references. */
function orderByEnum(subgraph: SubgraphSchema, entity: EntityType): GraphQLEnumType {
  const values: GraphQLEnumValueConfigMap = {};
  for (const field of entity.fields) {
    values[field.name] = { value: { field: field.name } satisfies OrderValue };
    if (field.base === "entity" && !field.list) {
      const target = subgraph.entities.get(field.typeName)!;
      for (const child of target.fields) {
        if (child.list || child.base === "entity") continue;
        values[`${field.name}__${child.name}`] = { value: { field: field.name, child: child.name } satisfies OrderValue };
      }
    }
  }
  return new GraphQLEnumType({ name: `${entity.name}_orderBy`, values });
}

function blockArgument() {
  return {
    type: BlockHeightInput,
    description:
      "The block at which the query should be executed. Can either be a `{ hash: Bytes }` value containing a block hash, a `{ number: Int }` containing the block number, or a `{ number_gte: Int }` containing the minimum block number. In the case of `number_gte`, the query will be executed on the latest block only if the subgraph has progressed to or past the minimum block number. Defaults to the latest block when omitted.",
  };
}

function subgraphErrorArgument() {
  return {
    type: new GraphQLNonNull(SubgraphErrorPolicy),
    default: { value: "deny" },
    description: "Set to `allow` to receive data even if the subgraph has skipped over errors while syncing.",
  };
}

function wrap(field: EntityField, named: GraphQLNamedOutputType): GraphQLOutputType {
  const element: GraphQLOutputType = field.list && !field.elementNullable ? new GraphQLNonNull(named) : named;
  const type: GraphQLNullableOutputType = field.list ? new GraphQLList(element) : named;
  return field.nullable ? type : new GraphQLNonNull(type);
}

function node(type: EntityType, entity: EntityNode["entity"], block: number): EntityNode {
  return { type, entity, block };
}

function payload(value: StoreValue | undefined): unknown {
  if (!value || value.kind === "Null") return null;
  if (value.kind === "Array") return value.value.map(payload);
  return value.value;
}

/** The store key of an id argument, or null when it cannot be an id of this type (no entity has it). */
function idKey(entity: EntityType, id: string): string | null {
  const value = idValueOf(entity.idKind, entity.idKind === "Bytes" ? id.toLowerCase() : id);
  return value ? idKeyOf(value) : null;
}
