// Entity queries to SQL, for both databases: versions visible at the query's block, graph-node's filters (nested
// child filters as EXISTS subqueries), ordering with the id as tie-breaker (child fields through a join), and
// per-parent pagination of list fields with one window query for all parents.
import type { EntityField, EntityType, SubgraphSchema, ValueKind } from "../../schema.ts";
import { QueryError, type ChildrenQuery, type EntityQuery, type Filter, type FilterScalar, type OrderBy } from "../query.ts";
import { hexToBytes } from "../values.ts";
import type { SqlDialect } from "./dialect.ts";
import { quote } from "./layout.ts";

export interface BuiltQuery {
  sql: string;
  params: unknown[];
  /** The entity type whose columns the rows carry (after `parent$` for children queries). */
  entity: EntityType;
}

class Params {
  readonly values: unknown[] = [];
  readonly #dialect: SqlDialect;
  constructor(dialect: SqlDialect) {
    this.#dialect = dialect;
  }
  add(value: unknown): string {
    this.values.push(value);
    return this.#dialect.placeholder(this.values.length);
  }
}

export class QueryBuilder {
  readonly #schema: SubgraphSchema;
  readonly #dialect: SqlDialect;

  constructor(schema: SubgraphSchema, dialect: SqlDialect) {
    this.#schema = schema;
    this.#dialect = dialect;
  }

  find(query: EntityQuery): BuiltQuery {
    const entity = this.#entity(query.type);
    const params = new Params(this.#dialect);
    const scope = new Scope(params);
    const block = params.add(query.block);
    const c = scope.alias();
    const order = this.#order(entity, c, query.orderBy, block, scope);
    const where = [this.#visible(c, block)];
    if (query.where) where.push(this.#filter(entity, c, query.where, block, scope));
    const sql =
      `SELECT ${this.#columns(entity, c)} FROM ${this.#dialect.table(entity.name)} ${c}${order.join}` +
      ` WHERE ${where.join(" AND ")} ORDER BY ${order.terms}` +
      ` LIMIT ${params.add(query.first)} OFFSET ${params.add(query.skip)}`;
    return { sql, params: params.values, entity };
  }

  findByIds(type: string, keys: readonly string[], block: number): BuiltQuery {
    const entity = this.#entity(type);
    const params = new Params(this.#dialect);
    const b = params.add(block);
    const ids = keys.map((key) => idPayload(entity.idKind, key));
    const sql =
      `SELECT ${this.#columns(entity, "c")} FROM ${this.#dialect.table(entity.name)} c` +
      ` WHERE ${this.#oneOf(`c."id"`, entity.idKind, ids, params, false)} AND ${this.#visible("c", b)}`;
    return { sql, params: params.values, entity };
  }

  /** Rows: the parent key column `parent$` (in the parent's id column form), then the child's columns. */
  children(query: ChildrenQuery): BuiltQuery {
    const parent = this.#entity(query.parentType);
    const field = parent.field.get(query.field);
    if (!field || field.base !== "entity" || (!field.list && field.derivedFrom === undefined)) {
      throw new QueryError(`${parent.name}.${query.field} is not a list of entities`);
    }
    const child = this.#entity(field.typeName);
    const back = field.derivedFrom === undefined ? undefined : child.field.get(field.derivedFrom)!;
    if (back && !back.list) return this.#childrenPerParent(parent, child, back, query);

    const params = new Params(this.#dialect);
    const scope = new Scope(params);
    const block = params.add(query.block);
    const keys = query.parentKeys.map((key) => idPayload(parent.idKind, key));
    const c = scope.alias();
    const p = scope.alias();
    // Lists of references, and children that list their parents: join the parents, number each parent's children.
    const link = back
      ? `${p}."id" IN (${this.#dialect.listElements(`${c}.${quote(back.name)}`, back)})`
      : `${c}."id" IN (${this.#dialect.listElements(`${p}.${quote(field.name)}`, field)})`;
    const from = `${this.#dialect.table(parent.name)} ${p} JOIN ${this.#dialect.table(child.name)} ${c} ON ${link}`;
    const where = [this.#visible(c, block), this.#oneOf(`${p}."id"`, parent.idKind, keys, params, false), this.#visible(p, block)];
    if (query.where) where.push(this.#filter(child, c, query.where, block, scope));
    const order = this.#order(child, c, query.orderBy, block, scope);
    const inner =
      `SELECT ${p}."id" AS "parent$", ${this.#columns(child, c)},` +
      ` ROW_NUMBER() OVER (PARTITION BY ${p}."id" ORDER BY ${order.terms}) AS "rn$"` +
      ` FROM ${from}${order.join} WHERE ${where.join(" AND ")}`;
    const low = params.add(query.skip);
    const high = params.add(query.skip + query.first);
    const sql =
      `SELECT "parent$", ${child.stored.map((f) => quote(f.name)).join(", ")} FROM (${inner}) w` +
      ` WHERE "rn$" > ${low} AND "rn$" <= ${high} ORDER BY "parent$", "rn$"`;
    return { sql, params: params.values, entity: child };
  }

  /**
   * The common case — children that point at their parent — read parent by parent with their own ORDER BY and LIMIT,
   * so the (reference, id) index returns a parent's first children without touching the others.
   */
  #childrenPerParent(parent: EntityType, child: EntityType, back: EntityField, query: ChildrenQuery): BuiltQuery {
    const d = this.#dialect;
    const params = new Params(d);
    const scope = new Scope(params);
    const block = params.add(query.block);
    const c = scope.alias();
    const order = this.#order(child, c, query.orderBy, block, scope);
    const filter = query.where ? ` AND ${this.#filter(child, c, query.where, block, scope)}` : "";
    const first = params.add(query.first);
    const skip = params.add(query.skip);
    // Each parent's rows come out together and in order (a nested loop per parent); the reader groups them by parent.
    const select = (parentKey: string, columns: string) =>
      `SELECT ${columns} FROM ${d.table(child.name)} ${c}${order.join}` +
      ` WHERE ${c}.${quote(back.name)} = ${parentKey} AND ${this.#visible(c, block)}${filter}` +
      ` ORDER BY ${order.terms} LIMIT ${first} OFFSET ${skip}`;
    if (d.perParent === "lateral") {
      const keys = params.add(query.parentKeys.map((key) => d.scalar(parent.idKind, idPayload(parent.idKind, key))));
      const sql =
        `SELECT k.parent AS "parent$", w.* FROM unnest(${keys}::${d.arrayType(parent.idKind)}[]) AS k(parent)` +
        ` CROSS JOIN LATERAL (${select("k.parent", this.#columns(child, c))}) w`;
      return { sql, params: params.values, entity: child };
    }
    const parts = query.parentKeys.map((key) => {
      const k = params.add(d.scalar(parent.idKind, idPayload(parent.idKind, key)));
      return `SELECT * FROM (${select(k, `${k} AS "parent$", ${this.#columns(child, c)}`)})`;
    });
    return { sql: parts.join(" UNION ALL "), params: params.values, entity: child };
  }

  // ---- pieces -------------------------------------------------------------------------------------------------------

  #entity(type: string): EntityType {
    const entity = this.#schema.entities.get(type);
    if (!entity) throw new QueryError(`the schema has no entity type ${type}`);
    return entity;
  }

  #columns(entity: EntityType, alias: string): string {
    return entity.stored.map((f) => `${alias}.${quote(f.name)}`).join(", ");
  }

  #visible(alias: string, block: string): string {
    return `${alias}.block_from <= ${block} AND (${alias}.block_to IS NULL OR ${alias}.block_to > ${block})`;
  }

  #order(
    entity: EntityType,
    alias: string,
    orderBy: OrderBy | undefined,
    block: string,
    scope: Scope,
  ): { terms: string; join: string } {
    if (!orderBy || (orderBy.field === "id" && !orderBy.child)) {
      return { terms: `${alias}."id" ${orderBy?.direction === "desc" ? "DESC" : "ASC"}`, join: "" };
    }
    const dir = orderBy.direction === "desc" ? "DESC" : "ASC";
    const field = this.#sortable(entity, orderBy.field, orderBy.child !== undefined);
    if (!orderBy.child) {
      return { terms: `${alias}.${quote(field.name)} ${dir}${nulls(field, dir)}, ${alias}."id" ${dir}`, join: "" };
    }
    const target = this.#entity(field.typeName);
    const childField = this.#sortable(target, orderBy.child, false);
    if (childField.base === "entity") {
      // graph-node only offers scalar child fields for ordering.
      throw new QueryError(`Ordering by \`${orderBy.field}__${orderBy.child}\` is not supported for type \`${entity.name}\``);
    }
    const o = scope.alias();
    const on =
      field.derivedFrom === undefined
        ? `${o}."id" = ${alias}.${quote(field.name)}`
        : `${o}.${quote(field.derivedFrom)} = ${alias}."id"`;
    return {
      terms: `${o}.${quote(childField.name)} ${dir}${nulls(childField, dir, true)}, ${alias}."id" ${dir}`,
      join: ` LEFT JOIN ${this.#dialect.table(target.name)} ${o} ON ${on} AND ${this.#visible(o, block)}`,
    };
  }

  #sortable(entity: EntityType, name: string, reference: boolean): EntityField {
    const field = entity.field.get(name);
    if (!field) throw new QueryError(`Type \`${entity.name}\` has no field \`${name}\``);
    if (field.list || (field.derivedFrom !== undefined && !reference)) {
      throw new QueryError(`Ordering by \`${name}\` is not supported for type \`${entity.name}\``);
    }
    if (reference && (field.base !== "entity" || field.list)) {
      throw new QueryError(`Ordering by \`${name}__…\` needs ${name} to reference a single entity of ${entity.name}`);
    }
    return field;
  }

  #filter(entity: EntityType, alias: string, filter: Filter, block: string, scope: Scope): string {
    const d = this.#dialect;
    const p = scope.params;
    switch (filter.kind) {
      case "and":
      case "or": {
        if (filter.filters.length === 0) return filter.kind === "and" ? "1 = 1" : "1 = 0";
        const parts = filter.filters.map((f) => this.#filter(entity, alias, f, block, scope));
        return `(${parts.join(filter.kind === "and" ? " AND " : " OR ")})`;
      }
      case "changed_since":
        return `${alias}.block_from >= ${p.add(filter.block)}`;
      case "child":
        return this.#childFilter(entity, alias, filter.field, filter.filter, block, scope);
    }
    const field = this.#stored(entity, filter.field);
    const column = `${alias}.${quote(field.name)}`;
    switch (filter.kind) {
      case "compare": {
        if (filter.value === null) {
          if (filter.op === "eq") return `${column} IS NULL`;
          if (filter.op === "not") return `${column} IS NOT NULL`;
          throw new QueryError(`Filter not supported by value \`null\`: \`${filter.field}_${filter.op}\``);
        }
        const param = p.add(d.scalar(field.kind, filter.value));
        if (filter.op === "eq") return d.equals(column, field, param);
        return `${column} ${COMPARE[filter.op]} ${param}`;
      }
      case "in": {
        // As graph-node: an empty list matches nothing, negated or not; NULLs never match.
        if (filter.values.length === 0) return "1 = 0";
        return this.#oneOf(column, field.kind, filter.values, p, filter.not);
      }
      case "text": {
        const param = p.add(filter.value);
        const test = d.text(filter.op, column, param, filter.nocase);
        return filter.not ? `NOT (${test})` : test;
      }
      case "bytes": {
        const test = d.bytes(filter.op, column, p.add(d.scalar("Bytes", filter.value)));
        return filter.not ? `NOT (${test})` : test;
      }
      case "list": {
        if (filter.values === null) {
          if (filter.op === "eq") return `${column} IS NULL`;
          if (filter.op === "not") return `${column} IS NOT NULL`;
          throw new QueryError(`Filter not supported by value \`null\`: \`${filter.field}_${filter.op}\``);
        }
        if (filter.op === "eq" || filter.op === "not") {
          return `${column} ${filter.op === "eq" ? "=" : "<>"} ${p.add(d.list(field, filter.values))}`;
        }
        // graph-node: `_contains` needs every value, `_contains_nocase` any of them, the `_not_` forms none; a NULL
        // list never matches.
        const has = filter.values.map((v) => {
          const param = p.add(filter.nocase ? String(listParam(d, field, v)).toLowerCase() : listParam(d, field, v));
          return d.listHas(column, field, param, filter.nocase);
        });
        const every = filter.op === "contains" && !filter.nocase;
        let test: string;
        if (has.length === 0) test = every || filter.op === "not_contains" ? "1 = 1" : "1 = 0";
        else if (every) test = has.join(" AND ");
        else test = `${filter.op === "not_contains" ? "NOT " : ""}(${has.join(" OR ")})`;
        return `(${column} IS NOT NULL AND ${test})`;
      }
    }
  }

  #childFilter(entity: EntityType, alias: string, name: string, filter: Filter, block: string, scope: Scope): string {
    const field = entity.field.get(name);
    if (!field || field.base !== "entity") throw new QueryError(`Type \`${entity.name}\` has no reference field \`${name}\``);
    const child = this.#entity(field.typeName);
    const c = scope.alias();
    let link: string;
    if (field.derivedFrom !== undefined) {
      const back = child.field.get(field.derivedFrom)!;
      const column = `${c}.${quote(back.name)}`;
      link = back.list
        ? `${alias}."id" IN (${this.#dialect.listElements(column, back)})`
        : `${column} = ${alias}."id"`;
    } else {
      const column = `${alias}.${quote(field.name)}`;
      link = field.list ? `${c}."id" IN (${this.#dialect.listElements(column, field)})` : `${c}."id" = ${column}`;
    }
    const inner = this.#filter(child, c, filter, block, scope);
    return `EXISTS (SELECT 1 FROM ${this.#dialect.table(child.name)} ${c} WHERE ${link} AND ${this.#visible(c, block)} AND ${inner})`;
  }

  /**
   * `column [NOT] IN (values)`; with array parameters (PostgreSQL) as `= ANY($n)`, so the statement's text — and its
   * prepared plan — does not change with the number of values.
   */
  #oneOf(column: string, kind: ValueKind, values: readonly FilterScalar[], params: Params, not: boolean): string {
    const d = this.#dialect;
    if (d.perParent === "lateral") {
      const array = params.add(values.map((v) => d.scalar(kind, v)));
      return not ? `${column} <> ALL(${array}::${d.arrayType(kind)}[])` : `${column} = ANY(${array}::${d.arrayType(kind)}[])`;
    }
    return `${column} ${not ? "NOT IN" : "IN"} (${values.map((v) => params.add(d.scalar(kind, v))).join(", ")})`;
  }

  #stored(entity: EntityType, name: string): EntityField {
    const field = entity.field.get(name);
    if (!field) throw new QueryError(`Type \`${entity.name}\` has no field \`${name}\``);
    if (field.derivedFrom !== undefined) {
      throw new QueryError(`\`${entity.name}.${name}\` is derived; filter it with \`${name}_\` instead`);
    }
    return field;
  }
}

const COMPARE = { not: "<>", gt: ">", lt: "<", gte: ">=", lte: "<=" } as const;

/** Fresh table aliases for one statement, and its parameters. */
class Scope {
  readonly params: Params;
  #next = 0;
  constructor(params: Params) {
    this.params = params;
  }
  alias(): string {
    return `t${this.#next++}`;
  }
}

// graph-node runs on PostgreSQL, whose default puts NULLs last ascending and first descending: both stores say so
// explicitly (only for nullable columns, so indexes still serve the others).
function nulls(field: EntityField, dir: "ASC" | "DESC", joined = false): string {
  if (!field.nullable && !joined) return "";
  return dir === "ASC" ? " NULLS LAST" : " NULLS FIRST";
}

function listParam(d: SqlDialect, field: EntityField, value: FilterScalar): unknown {
  // json_each / unnest compare elements in their list form; a one-element list encodes exactly that form.
  const encoded = d.list(field, [value]);
  if (d.name === "sqlite") return (JSON.parse(encoded as string) as unknown[])[0];
  return (encoded as unknown[])[0];
}

function idPayload(kind: string, key: string): FilterScalar {
  if (kind === "Bytes") {
    const bytes = hexToBytes(key);
    if (!bytes) throw new QueryError(`Failed to decode \`Bytes\` value: \`${key}\` is not hex`);
    return bytes;
  }
  if (kind === "Int8") {
    if (!/^-?\d+$/.test(key)) throw new QueryError(`Failed to decode \`Int8\` value: \`${key}\``);
    return BigInt(key);
  }
  return key;
}
