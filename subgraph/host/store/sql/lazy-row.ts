// Query results as rows that decode a column only when GraphQL reads its field: a query over wide entities pays for
// the fields it selects, not for every BigInt in the row.
import type { EntityField, EntityType } from "../../schema.ts";
import type { EntityRow } from "../query.ts";
import type { StoreValue } from "../types.ts";

export type ColumnDecoder = (field: EntityField, raw: unknown) => StoreValue | undefined;

/** Where each stored field of an entity type sits in a result row, and how to decode it. */
export class RowLayout {
  readonly fields: readonly EntityField[];
  readonly #index: Map<string, number>;
  readonly decode: ColumnDecoder;

  constructor(entity: EntityType, decode: ColumnDecoder) {
    this.fields = entity.stored;
    this.#index = new Map(entity.stored.map((f, i) => [f.name, i]));
    this.decode = decode;
  }

  indexOf(field: string): number | undefined {
    return this.#index.get(field);
  }
}

const UNDECODED = Symbol("undecoded");

export class LazyRow implements EntityRow {
  readonly #layout: RowLayout;
  readonly #raw: readonly unknown[];
  readonly #offset: number;
  readonly #values: (StoreValue | undefined | typeof UNDECODED)[];

  /** `raw` holds the entity's columns from `offset` on, in the layout's order. */
  constructor(layout: RowLayout, raw: readonly unknown[], offset = 0) {
    this.#layout = layout;
    this.#raw = raw;
    this.#offset = offset;
    this.#values = new Array(layout.fields.length).fill(UNDECODED);
  }

  get(field: string): StoreValue | undefined {
    const i = this.#layout.indexOf(field);
    if (i === undefined) return undefined;
    let value = this.#values[i];
    if (value === UNDECODED) {
      value = this.#layout.decode(this.#layout.fields[i]!, this.#raw[this.#offset + i]);
      this.#values[i] = value;
    }
    return value;
  }
}

/** One layout per entity type, built on first use. */
export function layoutCache(decode: ColumnDecoder): (entity: EntityType) => RowLayout {
  const layouts = new Map<string, RowLayout>();
  return (entity) => {
    let layout = layouts.get(entity.name);
    if (!layout) layouts.set(entity.name, (layout = new RowLayout(entity, decode)));
    return layout;
  };
}
