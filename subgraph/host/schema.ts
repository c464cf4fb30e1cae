// The subgraph's schema.graphql as the embedded host understands it: entity types, their fields with GraphQL and
// store types, nullability, immutability, @derivedFrom links and id types. The store validates writes against it and
// lays out its tables from it; the GraphQL layer generates graph-node's query API from it.
import { readFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import {
  Kind,
  parse,
  type ConstDirectiveNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type ObjectTypeDefinitionNode,
  type TypeNode,
} from "graphql";
import type { StoreValue } from "./store/types.ts";

/** The built-in scalars a subgraph schema may use. */
export const SCALARS = ["ID", "String", "Bytes", "Int", "Int8", "BigInt", "BigDecimal", "Boolean", "Timestamp"] as const;
export type ScalarName = (typeof SCALARS)[number];

/** A value kind the store keeps (StoreValue kinds without the structural Array and Null). */
export type ValueKind = Exclude<StoreValue["kind"], "Array" | "Null">;

/** The kinds an entity id may have: `ID`/`String` ids are strings, `Bytes` ids bytes, `Int8` ids 64-bit integers. */
export type IdKind = "String" | "Bytes" | "Int8";

export interface EntityField {
  readonly name: string;
  readonly description?: string;
  /** The type as written in the schema, e.g. `[ModelVersion!]!`. */
  readonly graphqlType: string;
  /** What the named type is: a built-in scalar, an enum of the schema, or another entity type. */
  readonly base: "scalar" | "enum" | "entity";
  /** The named type: a scalar name, an enum name or an entity type name. */
  readonly typeName: string;
  readonly list: boolean;
  readonly nullable: boolean;
  /** For lists: whether elements may be null (`[String]` rather than `[String!]`). */
  readonly elementNullable: boolean;
  /** The store value kind of the field (of each element, for lists); references take the target's id kind. */
  readonly kind: ValueKind;
  /** `@derivedFrom(field:)`: the field of `typeName` that points back here; derived fields are not stored. */
  readonly derivedFrom?: string;
  /** For enum fields: the enum's values. */
  readonly enumValues?: readonly string[];
}

export interface EntityType {
  readonly name: string;
  readonly description?: string;
  readonly immutable: boolean;
  readonly idKind: IdKind;
  /** Every field in schema order, `id` included. */
  readonly fields: readonly EntityField[];
  readonly field: ReadonlyMap<string, EntityField>;
  /** The fields the store keeps a column for (everything but @derivedFrom fields). */
  readonly stored: readonly EntityField[];
}

export interface SubgraphSchema {
  readonly entities: ReadonlyMap<string, EntityType>;
  readonly enums: ReadonlyMap<string, readonly string[]>;
  /** sha256 of the schema's source: a store refuses to reopen a database made for another schema. */
  readonly fingerprint: string;
  readonly source: string;
}

/** The schema uses something the host cannot handle, or breaks a rule graph-node enforces. */
export class SchemaError extends Error {
  override name = "SchemaError";
}

/** Column names every entity table uses for itself, so no field may take them. */
export const RESERVED_FIELDS = new Set(["vid", "block_from", "block_to"]);

const SCALAR_KIND: Record<ScalarName, ValueKind> = {
  ID: "String",
  String: "String",
  Bytes: "Bytes",
  Int: "Int",
  Int8: "Int8",
  BigInt: "BigInt",
  BigDecimal: "BigDecimal",
  Boolean: "Boolean",
  Timestamp: "Timestamp",
};

const ID_KINDS: Partial<Record<string, IdKind>> = { ID: "String", String: "String", Bytes: "Bytes", Int8: "Int8" };

export async function loadSubgraphSchema(file: string): Promise<SubgraphSchema> {
  let source: string;
  try {
    source = await readFile(file, "utf8");
  } catch (error) {
    throw new SchemaError(`cannot read the subgraph schema ${file}: ${(error as Error).message}`);
  }
  return parseSubgraphSchema(source);
}

export function parseSubgraphSchema(source: string): SubgraphSchema {
  let document: DocumentNode;
  try {
    document = parse(source, { noLocation: true });
  } catch (error) {
    throw new SchemaError(`schema.graphql does not parse: ${(error as Error).message}`);
  }

  const objects: ObjectTypeDefinitionNode[] = [];
  const enums = new Map<string, string[]>();
  for (const definition of document.definitions) {
    switch (definition.kind) {
      case Kind.OBJECT_TYPE_DEFINITION:
        objects.push(definition);
        break;
      case Kind.ENUM_TYPE_DEFINITION:
        enums.set(definition.name.value, (definition.values ?? []).map((v) => v.name.value));
        break;
      case Kind.INTERFACE_TYPE_DEFINITION:
        throw new SchemaError(`interface ${definition.name.value}: interfaces are not supported by the embedded host`);
      case Kind.UNION_TYPE_DEFINITION:
        throw new SchemaError(`union ${definition.name.value}: unions are not supported in a subgraph schema`);
      case Kind.SCALAR_TYPE_DEFINITION:
        throw new SchemaError(`scalar ${definition.name.value}: custom scalars are not supported; use ${SCALARS.join(", ")}`);
      case Kind.INPUT_OBJECT_TYPE_DEFINITION:
        throw new SchemaError(`input ${definition.name.value}: input types do not belong in a subgraph schema`);
      default:
        throw new SchemaError(`unsupported definition (${definition.kind}) in schema.graphql`);
    }
  }

  const entityNames = new Set<string>();
  for (const object of objects) {
    const name = object.name.value;
    if (name === "_Schema_") throw new SchemaError("fulltext search (_Schema_ @fulltext) is not supported by the embedded host");
    if (!directive(object.directives, "entity")) {
      throw new SchemaError(`type ${name} has no @entity directive; every object type of a subgraph must be an entity`);
    }
    if (name.startsWith("_")) throw new SchemaError(`type ${name}: entity names starting with "_" are reserved`);
    if ((SCALARS as readonly string[]).includes(name) || enums.has(name)) {
      throw new SchemaError(`type ${name} is defined twice`);
    }
    if (entityNames.has(name)) throw new SchemaError(`type ${name} is defined twice`);
    entityNames.add(name);
  }
  for (const name of enums.keys()) {
    if ((SCALARS as readonly string[]).includes(name)) throw new SchemaError(`enum ${name} shadows a built-in scalar`);
  }

  // Id kinds first: a reference field stores the id kind of the entity it points at.
  const idKinds = new Map<string, IdKind>();
  for (const object of objects) idKinds.set(object.name.value, idKindOf(object));

  const entities = new Map<string, EntityType>();
  for (const object of objects) {
    entities.set(object.name.value, entityType(object, { enums, entityNames, idKinds }));
  }
  for (const entity of entities.values()) checkDerivedFields(entity, entities);

  return {
    entities,
    enums,
    source,
    fingerprint: createHash("sha256").update(source).digest("hex"),
  };
}

interface Context {
  enums: ReadonlyMap<string, string[]>;
  entityNames: ReadonlySet<string>;
  idKinds: ReadonlyMap<string, IdKind>;
}

function entityType(object: ObjectTypeDefinitionNode, context: Context): EntityType {
  const name = object.name.value;
  const entity = directive(object.directives, "entity")!;
  const flags = new Map((entity.arguments ?? []).map((a) => [a.name.value, a.value]));
  for (const flag of flags.keys()) {
    if (flag === "timeseries") throw new SchemaError(`type ${name}: @entity(timeseries:) is not supported by the embedded host`);
    if (flag !== "immutable") throw new SchemaError(`type ${name}: unknown @entity argument "${flag}"`);
  }
  const immutableValue = flags.get("immutable");
  if (immutableValue && immutableValue.kind !== Kind.BOOLEAN) {
    throw new SchemaError(`type ${name}: @entity(immutable:) takes true or false`);
  }
  for (const other of object.directives ?? []) {
    if (other.name.value !== "entity") {
      throw new SchemaError(`type ${name}: the @${other.name.value} directive is not supported by the embedded host`);
    }
  }

  const fields: EntityField[] = [];
  const seen = new Set<string>();
  for (const node of object.fields ?? []) {
    const field = entityField(name, node, context);
    if (seen.has(field.name)) throw new SchemaError(`${name}.${field.name} is defined twice`);
    seen.add(field.name);
    fields.push(field);
  }
  const id = fields.find((f) => f.name === "id");
  if (!id) throw new SchemaError(`type ${name} has no id field`);
  return {
    name,
    description: object.description?.value,
    immutable: immutableValue?.kind === Kind.BOOLEAN && immutableValue.value,
    idKind: context.idKinds.get(name)!,
    fields,
    field: new Map(fields.map((f) => [f.name, f])),
    stored: fields.filter((f) => f.derivedFrom === undefined),
  };
}

function idKindOf(object: ObjectTypeDefinitionNode): IdKind {
  const name = object.name.value;
  const id = object.fields?.find((f) => f.name.value === "id");
  if (!id) throw new SchemaError(`type ${name} has no id field`);
  const type = id.type;
  if (type.kind !== Kind.NON_NULL_TYPE || type.type.kind !== Kind.NAMED_TYPE) {
    throw new SchemaError(`${name}.id must be a non-null ID, String, Bytes or Int8 (it is ${printType(type)})`);
  }
  const kind = ID_KINDS[type.type.name.value];
  if (!kind) throw new SchemaError(`${name}.id must be ID!, String!, Bytes! or Int8! (it is ${printType(type)})`);
  return kind;
}

function entityField(entityName: string, node: FieldDefinitionNode, context: Context): EntityField {
  const name = node.name.value;
  const where = `${entityName}.${name}`;
  if (RESERVED_FIELDS.has(name)) throw new SchemaError(`${where}: the field name "${name}" is reserved by the store`);
  if (name.startsWith("__")) throw new SchemaError(`${where}: field names starting with "__" are reserved by GraphQL`);
  if (node.arguments && node.arguments.length > 0) throw new SchemaError(`${where}: entity fields take no arguments`);

  let type: TypeNode = node.type;
  const nullable = type.kind !== Kind.NON_NULL_TYPE;
  if (type.kind === Kind.NON_NULL_TYPE) type = type.type;
  let list = false;
  let elementNullable = false;
  if (type.kind === Kind.LIST_TYPE) {
    list = true;
    type = type.type;
    elementNullable = type.kind !== Kind.NON_NULL_TYPE;
    if (type.kind === Kind.NON_NULL_TYPE) type = type.type;
    if (type.kind === Kind.LIST_TYPE) throw new SchemaError(`${where}: lists of lists are not supported`);
  }
  if (type.kind !== Kind.NAMED_TYPE) throw new SchemaError(`${where}: unsupported type ${printType(node.type)}`);
  const typeName = type.name.value;

  let base: EntityField["base"];
  let kind: ValueKind;
  if ((SCALARS as readonly string[]).includes(typeName)) {
    base = "scalar";
    kind = SCALAR_KIND[typeName as ScalarName];
  } else if (context.enums.has(typeName)) {
    base = "enum";
    kind = "String";
  } else if (context.entityNames.has(typeName)) {
    base = "entity";
    kind = context.idKinds.get(typeName)!;
  } else if (typeName === "Float") {
    throw new SchemaError(`${where}: Float is not supported in subgraphs; use BigDecimal`);
  } else {
    throw new SchemaError(`${where}: unknown type ${typeName}`);
  }

  let derivedFrom: string | undefined;
  for (const d of node.directives ?? []) {
    if (d.name.value !== "derivedFrom") {
      throw new SchemaError(`${where}: the @${d.name.value} directive is not supported by the embedded host`);
    }
    const arg = d.arguments?.find((a) => a.name.value === "field");
    if (!arg || arg.value.kind !== Kind.STRING || d.arguments!.length !== 1) {
      throw new SchemaError(`${where}: @derivedFrom takes exactly one argument, field: "<name>"`);
    }
    if (base !== "entity") throw new SchemaError(`${where}: @derivedFrom is only allowed on fields that reference entities`);
    derivedFrom = arg.value.value;
  }
  if (name === "id" && (list || nullable)) throw new SchemaError(`${where} must be non-null and not a list`);

  return {
    name,
    description: node.description?.value,
    graphqlType: printType(node.type),
    base,
    typeName,
    list,
    nullable,
    elementNullable,
    kind,
    ...(derivedFrom !== undefined ? { derivedFrom } : {}),
    ...(base === "enum" ? { enumValues: context.enums.get(typeName)! } : {}),
  };
}

function checkDerivedFields(entity: EntityType, entities: ReadonlyMap<string, EntityType>): void {
  for (const field of entity.fields) {
    if (field.derivedFrom === undefined) continue;
    const where = `${entity.name}.${field.name}`;
    const target = entities.get(field.typeName)!;
    const back = target.field.get(field.derivedFrom);
    if (!back) {
      throw new SchemaError(`${where}: @derivedFrom(field: "${field.derivedFrom}") names no field of ${target.name}`);
    }
    if (back.base !== "entity" || back.typeName !== entity.name) {
      throw new SchemaError(
        `${where}: @derivedFrom(field: "${field.derivedFrom}") must name a field of ${target.name} that references ${entity.name} (it is ${back.graphqlType})`,
      );
    }
    if (back.derivedFrom !== undefined) {
      throw new SchemaError(`${where}: @derivedFrom(field: "${field.derivedFrom}") names another derived field`);
    }
  }
}

function directive(directives: readonly ConstDirectiveNode[] | undefined, name: string): ConstDirectiveNode | undefined {
  return directives?.find((d) => d.name.value === name);
}

function printType(type: TypeNode): string {
  switch (type.kind) {
    case Kind.NAMED_TYPE:
      return type.name.value;
    case Kind.LIST_TYPE:
      return `[${printType(type.type)}]`;
    case Kind.NON_NULL_TYPE:
      return `${printType(type.type)}!`;
  }
}

/** The entity type named `name`, or a clear error. */
export function entityTypeOf(schema: SubgraphSchema, name: string): EntityType {
  const entity = schema.entities.get(name);
  if (!entity) throw new SchemaError(`the schema has no entity type ${name}`);
  return entity;
}
