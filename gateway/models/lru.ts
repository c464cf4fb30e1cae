// A least-recently-used map bounded by entry count and by bytes. Evicted values are retired (not dropped on the
// floor): a session keeps answering the calls it has in flight and releases its memory after the last one.
export interface Retirable {
  readonly bytes: number;
  retire(): void;
}

export class BoundedLru<V extends Retirable> {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly #map = new Map<string, V>();
  readonly #onEvict: (key: string, value: V) => void;
  #bytes = 0;

  constructor(maxEntries: number, maxBytes: number, onEvict: (key: string, value: V) => void = () => {}) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new Error(`maxSessions must be a positive integer, got ${maxEntries}`);
    if (!(maxBytes > 0)) throw new Error(`maxSessionBytes must be positive, got ${maxBytes}`);
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
    this.#onEvict = onEvict;
  }

  get size(): number {
    return this.#map.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The value, marked most recently used. */
  get(key: string): V | undefined {
    const value = this.#map.get(key);
    if (value === undefined) return undefined;
    // Map iteration follows insertion order: re-inserting moves the key to the young end.
    this.#map.delete(key);
    this.#map.set(key, value);
    return value;
  }

  has(key: string): boolean {
    return this.#map.has(key);
  }

  /** Inserts as most recently used, then evicts the oldest until within budget; the new value itself always stays. */
  set(key: string, value: V): void {
    const old = this.#map.get(key);
    if (old !== undefined) this.#remove(key, old);
    this.#map.set(key, value);
    this.#bytes += value.bytes;
    for (const [oldestKey, oldest] of this.#map) {
      if (this.#map.size <= this.maxEntries && this.#bytes <= this.maxBytes) break;
      if (oldestKey === key) break;
      this.#remove(oldestKey, oldest);
    }
  }

  keys(): string[] {
    return [...this.#map.keys()];
  }

  /** Retires every value. */
  clear(): void {
    for (const [key, value] of [...this.#map]) this.#remove(key, value);
  }

  #remove(key: string, value: V): void {
    this.#map.delete(key);
    this.#bytes -= value.bytes;
    value.retire();
    this.#onEvict(key, value);
  }
}
