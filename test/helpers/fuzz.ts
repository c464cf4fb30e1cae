// Seeded randomness and mutators for fuzzing HTTP requests: the same seed gives the same requests, and each request
// draws from its own generator (seed, index), so one failing request can be rebuilt alone from its index.

/** mulberry32: small, fast, good enough to pick mutations. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A generator for item `index` of a run seeded with `seed`. */
  static for(seed: number, index: number): Rng {
    return new Rng(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35));
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Picks by weight: `[[weight, value], …]`. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of choices) total += w;
    let at = this.next() * total;
    for (const [w, value] of choices) {
      at -= w;
      if (at < 0) return value;
    }
    return choices[choices.length - 1]![1];
  }

  /** Characters a header value may carry on the wire (visible ASCII and Latin-1; no controls). */
  headerText(length: number): string {
    let s = "";
    for (let i = 0; i < length; i++) s += String.fromCharCode(this.chance(0.9) ? this.int(0x20, 0x7e) : this.int(0xa0, 0xff));
    return s;
  }

  /** Any UTF-16 text, including lone surrogates and controls. */
  anyText(length: number): string {
    let s = "";
    for (let i = 0; i < length; i++) s += String.fromCharCode(this.weighted([[6, this.int(0x20, 0x7e)], [1, this.int(0, 0x1f)], [1, this.int(0x80, 0xffff)]]));
    return s;
  }
}

/** A random path segment: random bytes, percent-encoded where a URL needs it (so it always reaches the server). */
export function pathText(rng: Rng, length: number): string {
  let s = "";
  for (let i = 0; i < length; i++) {
    const byte = rng.chance(0.7) ? rng.int(0x21, 0x7e) : rng.int(0, 0xff);
    const c = String.fromCharCode(byte);
    s += /[A-Za-z0-9\-._~!$&'()*+,;=:@]/.test(c) ? c : `%${byte.toString(16).padStart(2, "0").toUpperCase()}`;
  }
  return s;
}

/** A random JSON value of bounded size: the wrong thing to put anywhere. */
export function randomJson(rng: Rng, depth = 2): unknown {
  const scalar = (): unknown =>
    rng.pick<() => unknown>([
      () => null,
      () => rng.chance(0.5),
      () => rng.int(-5, 5),
      () => rng.next() * 1e6 - 5e5,
      () => rng.pick([0, -0, 1e308, -1e308, 2 ** 53, 2 ** 64, 1e-320, 3.5e38, Number.MAX_SAFE_INTEGER + 2]),
      () => rng.anyText(rng.int(0, 12)),
      () => rng.pick(["NaN", "Infinity", "-Infinity", "0x10", "1e3", "", " ", "null", "__proto__", "constructor", "0".repeat(80)]),
    ])();
  if (depth <= 0 || rng.chance(0.6)) return scalar();
  if (rng.chance(0.5)) return Array.from({ length: rng.int(0, 5) }, () => randomJson(rng, depth - 1));
  const object: Record<string, unknown> = {};
  for (let i = rng.int(0, 4); i > 0; i--) object[rng.pick(["type", "dims", "data", "inputs", "version", "x", rng.anyText(4)])] = randomJson(rng, depth - 1);
  return object;
}

/** Mutates a JSON value in place at one random spot (or returns a replacement for the root). */
export function mutateJson(rng: Rng, value: unknown, depth = 0): unknown {
  if (depth > 8 || typeof value !== "object" || value === null || rng.chance(0.15)) return randomJson(rng);
  if (Array.isArray(value)) {
    if (value.length === 0 || rng.chance(0.2)) {
      rng.pick([() => value.push(randomJson(rng)), () => value.pop(), () => value.splice(0, value.length)])();
      return value;
    }
    const i = rng.int(0, value.length - 1);
    value[i] = mutateJson(rng, value[i], depth + 1);
    return value;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  const roll = rng.next();
  if (keys.length === 0 || roll < 0.1) record[rng.pick(["extra", "x402Version", "payload", rng.anyText(3)])] = randomJson(rng);
  else if (roll < 0.25) delete record[rng.pick(keys)];
  else {
    const key = rng.pick(keys);
    record[key] = mutateJson(rng, record[key], depth + 1);
  }
  return value;
}

/** Breaks a text: truncates it, drops or inserts characters, or flips one. */
export function mangleText(rng: Rng, text: string, alphabet: (n: number) => string): string {
  if (text.length === 0) return alphabet(rng.int(1, 20));
  const at = rng.int(0, text.length - 1);
  return rng.pick([
    () => text.slice(0, at),
    () => text.slice(at),
    () => text.slice(0, at) + text.slice(at + rng.int(1, 8)),
    () => text.slice(0, at) + alphabet(rng.int(1, 8)) + text.slice(at),
    () => text.slice(0, at) + alphabet(1) + text.slice(at + 1),
    () => text + alphabet(rng.int(1, 4)),
  ])();
}
