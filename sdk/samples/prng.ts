// A small seeded pseudo-random generator: the sample models must come out bit for bit the same on every
// machine and run, which Math.random cannot promise.

/** Numbers in [0, 1), the same sequence for the same seed. */
export type Random = () => number;

export function seededRandom(seed: number): Random {
  // A Weyl sequence (steps of the golden ratio) through an avalanche hash (splitmix32): nearby seeds give unrelated
  // streams, which plain mulberry32 does not (its second draw is near 0 for several small seeds).
  let state = seed | 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    z ^= z >>> 15;
    return (z >>> 0) / 4294967296;
  };
}

/** An integer in [0, n). */
export function randomInt(random: Random, n: number): number {
  return Math.floor(random() * n);
}
