// The sample models' input: digits drawn in a 5×7 pixel font, and the same glyphs smudged the way a hand or a cheap
// scanner would (moved by a pixel, thicker strokes, faded ink, stray pixels), made reproducible by a seeded generator.
import { randomInt, seededRandom, type Random } from "./prng.ts";

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;
/** Pixels of one glyph: the model's input features, row by row, 1 for ink and 0 for paper. */
export const GLYPH_PIXELS = GLYPH_WIDTH * GLYPH_HEIGHT;

/** The clean glyphs of 0–9, top row first. */
export const DIGIT_GLYPHS: readonly (readonly string[])[] = [
  ["01110", "10001", "10011", "10101", "11001", "10001", "01110"],
  ["00100", "01100", "00100", "00100", "00100", "00100", "01110"],
  ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
  ["11111", "00010", "00100", "00010", "00001", "10001", "01110"],
  ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
  ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
  ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
  ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
  ["01110", "10001", "10001", "01110", "10001", "10001", "01110"],
  ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
];

/** How a glyph is smudged; each kind of damage is applied in the order listed. */
export interface GlyphNoise {
  /** Chance the whole glyph moves one pixel up, down, left or right (ink moved off the edge is lost). */
  shift: number;
  /** Chance the strokes are drawn a pixel wider (each ink pixel also inks its right or lower neighbour). */
  thicken: number;
  /** Chance each ink pixel fades to paper. */
  fade: number;
  /** Pixels flipped at random positions (the same one may be picked twice). */
  flips: number;
}

export const GLYPH_NOISE = {
  clean: { shift: 0, thicken: 0, fade: 0, flips: 0 },
  light: { shift: 0.05, thicken: 0.05, fade: 0.05, flips: 2 },
  heavy: { shift: 0.5, thicken: 0.4, fade: 0.1, flips: 3 },
} as const satisfies Record<string, GlyphNoise>;

export type NoiseLevel = keyof typeof GLYPH_NOISE;

/** A level's noise, or the noise itself. */
export function resolveNoise(noise: NoiseLevel | GlyphNoise): GlyphNoise {
  return typeof noise === "string" ? GLYPH_NOISE[noise] : noise;
}

const GLYPH_ROW = new RegExp(`^[01]{${GLYPH_WIDTH}}$`);

/** A glyph drawn as strings of "0" and "1" → the 35 floats the model takes. */
export function glyphToInput(rows: readonly string[]): number[] {
  if (rows.length !== GLYPH_HEIGHT) throw new RangeError(`a glyph has ${GLYPH_HEIGHT} rows, got ${rows.length}`);
  const pixels: number[] = [];
  for (const [r, row] of rows.entries()) {
    if (!GLYPH_ROW.test(row)) {
      throw new RangeError(`glyph row ${r} must be ${GLYPH_WIDTH} characters of 0 and 1, got ${JSON.stringify(row)}`);
    }
    for (const c of row) pixels.push(c === "1" ? 1 : 0);
  }
  return pixels;
}

/** The 35 pixels → strings of "0" and "1", for showing an input. */
export function inputToGlyph(pixels: readonly number[]): string[] {
  if (pixels.length !== GLYPH_PIXELS) throw new RangeError(`a glyph has ${GLYPH_PIXELS} pixels, got ${pixels.length}`);
  const rows: string[] = [];
  for (let r = 0; r < GLYPH_HEIGHT; r++) {
    rows.push(pixels.slice(r * GLYPH_WIDTH, (r + 1) * GLYPH_WIDTH).map((p) => (p > 0.5 ? "1" : "0")).join(""));
  }
  return rows;
}

/** A copy of `pixels` damaged by `noise`, drawing its chances from `random`. */
export function smudge(pixels: readonly number[], noise: GlyphNoise, random: Random): number[] {
  let out = [...pixels];
  if (random() < noise.shift) {
    const [dx, dy] = ([[1, 0], [-1, 0], [0, 1], [0, -1]] as const)[randomInt(random, 4)]!;
    out = moved(out, dx, dy);
  }
  if (random() < noise.thicken) {
    const [dx, dy] = random() < 0.5 ? [1, 0] : [0, 1];
    const beside = moved(out, dx, dy);
    out = out.map((p, i) => Math.max(p, beside[i]!));
  }
  if (noise.fade > 0) out = out.map((p) => (p === 1 && random() < noise.fade ? 0 : p));
  for (let i = 0; i < noise.flips; i++) {
    const at = randomInt(random, GLYPH_PIXELS);
    out[at] = 1 - out[at]!;
  }
  return out;
}

function moved(pixels: readonly number[], dx: number, dy: number): number[] {
  const out = new Array<number>(GLYPH_PIXELS).fill(0);
  for (let y = 0; y < GLYPH_HEIGHT; y++) {
    for (let x = 0; x < GLYPH_WIDTH; x++) {
      const tx = x + dx;
      const ty = y + dy;
      if (tx >= 0 && tx < GLYPH_WIDTH && ty >= 0 && ty < GLYPH_HEIGHT) out[ty * GLYPH_WIDTH + tx] = pixels[y * GLYPH_WIDTH + x]!;
    }
  }
  return out;
}

export interface DigitInputOptions {
  /** No noise (the clean glyph) unless given. */
  noise?: NoiseLevel | GlyphNoise;
  /** Picks the damage; the same seed gives the same example. Ignored when `random` is given. */
  seed?: number;
  /** A generator to draw from, for a sequence of different examples. */
  random?: Random;
}

/** One example of `digit` as the model's 35 input floats: the clean glyph, or a smudged one. */
export function digitInput(digit: number, options: DigitInputOptions = {}): number[] {
  const glyph = DIGIT_GLYPHS[digit];
  if (!Number.isInteger(digit) || glyph === undefined) throw new RangeError(`digit must be an integer from 0 to 9, got ${digit}`);
  const clean = glyphToInput(glyph);
  if (options.noise === undefined) return clean;
  return smudge(clean, resolveNoise(options.noise), options.random ?? seededRandom(options.seed ?? 0));
}
