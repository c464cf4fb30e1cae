// The sample models the local stack mints: a classifier of 5×7 digit glyphs (softmax regression, 35 pixels → 10
// digits, 350 weights + 10 biases) and a derivative of it fine-tuned on heavier noise. Both are trained here, in tens of
// milliseconds, from a fixed seed, so every run mints byte-identical files (the same sha256 and CID).
import { createHash } from "node:crypto";
import { DIGIT_GLYPHS, digitInput, GLYPH_PIXELS, resolveNoise, type GlyphNoise, type NoiseLevel } from "./glyphs.ts";
import { linearClassifierOnnx } from "./onnx-linear.ts";
import { seededRandom } from "./prng.ts";
import { accuracyOn, trainSoftmaxRegression, zeroModel, type Example, type LinearModel } from "./softmax-regression.ts";

export { DIGIT_GLYPHS, digitInput, glyphToInput, GLYPH_NOISE, inputToGlyph, type GlyphNoise, type NoiseLevel } from "./glyphs.ts";
export type { Example } from "./softmax-regression.ts";

export const DIGIT_CLASSES = 10;
export const DIGIT_INPUT_NAME = "pixels";
export const DIGIT_PROBABILITIES_OUTPUT = "probabilities";
export const DIGIT_LABEL_OUTPUT = "digit";

/** The seed of the minted samples. */
export const DEFAULT_DIGIT_SEED = 7;

/** Noisy examples of each digit in a training set; each set also holds every clean glyph once. */
const TRAINING_EXAMPLES_PER_DIGIT = 60;
/** Noisy examples of each digit in a held-out set: 1,000 in all, so accuracy is read to 0.1%. */
const HELD_OUT_EXAMPLES_PER_DIGIT = 100;
const LEARNING_RATE = 2;
const L2 = 0.001;
const BASE_EPOCHS = 100;
const FINE_TUNING_EPOCHS = 40;

export interface DigitTrainingOptions {
  /** Seeds the noise of the training and held-out sets. */
  seed?: number;
  /** Noise of the training and held-out examples; "light" unless given. */
  noise?: NoiseLevel | GlyphNoise;
  epochs?: number;
  /** Weights to start from (fine-tuning); all zeros unless given. */
  from?: { weights: readonly number[]; bias: readonly number[] };
}

export interface DigitClassifier {
  /** Row-major 35 × 10: `weights[pixel * 10 + digit]`, float32 values. */
  weights: number[];
  bias: number[];
  /** Share of a held-out set (same noise, other examples) classified right. */
  accuracy: number;
}

/** Trains softmax regression on smudged glyphs by gradient descent; the same options give the same weights. */
export function trainDigitClassifier(options: DigitTrainingOptions = {}): DigitClassifier {
  const seed = options.seed ?? DEFAULT_DIGIT_SEED;
  const noise = options.noise ?? "light";
  const start: LinearModel = options.from
    ? { features: GLYPH_PIXELS, classes: DIGIT_CLASSES, weights: [...options.from.weights], bias: [...options.from.bias] }
    : zeroModel(GLYPH_PIXELS, DIGIT_CLASSES);
  const trained = trainSoftmaxRegression(start, digitExamples(noise, TRAINING_EXAMPLES_PER_DIGIT, seed, true), {
    epochs: options.epochs ?? (options.from ? FINE_TUNING_EPOCHS : BASE_EPOCHS),
    learningRate: LEARNING_RATE,
    l2: L2,
  });
  return { weights: trained.weights, bias: trained.bias, accuracy: digitAccuracy(trained, noise, { seed }) };
}

/**
 * Labelled examples: `perDigit` smudged copies of each glyph (plus each clean glyph once when `withClean`), drawn from
 * one generator seeded by `seed`, digits interleaved.
 */
export function digitExamples(noise: NoiseLevel | GlyphNoise, perDigit: number, seed: number, withClean = false): Example[] {
  const random = seededRandom(seed);
  const resolved = resolveNoise(noise);
  const examples: Example[] = [];
  if (withClean) for (let d = 0; d < DIGIT_CLASSES; d++) examples.push({ input: digitInput(d), label: d });
  for (let i = 0; i < perDigit; i++) {
    for (let d = 0; d < DIGIT_CLASSES; d++) examples.push({ input: digitInput(d, { noise: resolved, random }), label: d });
  }
  return examples;
}

/**
 * A held-out set of `noise`: examples from a generator no training set of the same `seed` uses (the seed is mixed with
 * a constant), so they are other examples than the ones trained on.
 */
export function heldOutDigitExamples(noise: NoiseLevel | GlyphNoise, options: { seed?: number; perDigit?: number } = {}): Example[] {
  const heldOutSeed = ((options.seed ?? DEFAULT_DIGIT_SEED) ^ 0x5eed_0b7) >>> 0;
  return digitExamples(noise, options.perDigit ?? HELD_OUT_EXAMPLES_PER_DIGIT, heldOutSeed);
}

/** The share of `heldOutDigitExamples(noise, options)` that `model` classifies right. */
export function digitAccuracy(
  model: { weights: readonly number[]; bias: readonly number[] },
  noise: NoiseLevel | GlyphNoise,
  options: { seed?: number; perDigit?: number } = {},
): number {
  return accuracyOn(asLinear(model), heldOutDigitExamples(noise, options));
}

export interface DigitSampleModel {
  /** The ONNX file. */
  onnx: Uint8Array;
  /** 0x-prefixed hex sha256 of `onnx`, as the registry stores it. */
  sha256: `0x${string}`;
  name: string;
  description: string;
  tags: string[];
  /** float32 [batch, 35]: the glyph's pixels row by row, 1 for ink. */
  inputName: string;
  /** float32 [batch, 10]. */
  probabilitiesOutput: string;
  /** int64 [batch]: the most likely digit. */
  digitOutput: string;
  /** Held-out accuracy on the noise it was trained for (`accuracyByNoise` of that noise). */
  accuracy: number;
  /**
   * Accuracy on the held-out sets of the base's seed at each noise level, the same sets for both samples; "clean" is
   * the 10 clean glyphs themselves.
   */
  accuracyByNoise: Record<NoiseLevel, number>;
  /** How it was trained: `trainDigitClassifier` with these options (and the base's weights when it starts from them). */
  training: { seed: number; noise: NoiseLevel; epochs: number; startsFrom: "zeros" | "base" };
  weights: number[];
  bias: number[];
}

export interface DigitSampleModels {
  base: DigitSampleModel;
  /** The derivative: the base's weights fine-tuned on heavy noise. Mint it with the base as its parent. */
  robust: DigitSampleModel;
}

/** Trains both samples and writes their ONNX files. */
export function buildDigitModels(options: { seed?: number } = {}): DigitSampleModels {
  const seed = options.seed ?? DEFAULT_DIGIT_SEED;
  const baseTraining = { seed, noise: "light", epochs: BASE_EPOCHS, startsFrom: "zeros" } as const;
  // A seed of its own, so the fine-tuning sees other examples than the base's.
  const robustTraining = { seed: seed + 1, noise: "heavy", epochs: FINE_TUNING_EPOCHS, startsFrom: "base" } as const;
  const base = trainDigitClassifier(baseTraining);
  const robust = trainDigitClassifier({ ...robustTraining, from: base });
  return {
    base: sampleModel(base, baseTraining, seed, {
      name: "Digit glyphs 5x7",
      summary: "Reads a digit drawn in a 5×7 pixel font from its 35 pixels (row by row, 1 for ink)",
      graphName: "digit_glyphs",
      tags: ["sample", "digits", "classifier"],
    }),
    robust: sampleModel(robust, robustTraining, seed, {
      name: "Digit glyphs 5x7, robust",
      summary: "Digit glyphs 5x7 fine-tuned from its weights on heavily smudged glyphs (shifted, thickened, faded, stray pixels)",
      graphName: "digit_glyphs_robust",
      tags: ["sample", "digits", "classifier", "fine-tuned"],
    }),
  };
}

function sampleModel(
  trained: DigitClassifier,
  training: DigitSampleModel["training"],
  seed: number,
  about: { name: string; summary: string; graphName: string; tags: string[] },
): DigitSampleModel {
  // Every model of a seed is scored on the same held-out sets, so the base and its derivative compare directly.
  const accuracyByNoise = {
    clean: cleanAccuracy(trained),
    light: digitAccuracy(trained, "light", { seed }),
    heavy: digitAccuracy(trained, "heavy", { seed }),
  };
  const percent = (x: number) => `${(x * 100).toFixed(1)}%`;
  const description =
    `${about.summary}. Softmax regression, 350 weights + 10 biases, trained in code by gradient descent. ` +
    `Accuracy: ${percent(accuracyByNoise.clean)} of the clean glyphs; held out, ${percent(accuracyByNoise.light)} with light noise ` +
    `and ${percent(accuracyByNoise.heavy)} with heavy noise. Outputs "${DIGIT_PROBABILITIES_OUTPUT}" and "${DIGIT_LABEL_OUTPUT}".`;
  const onnx = linearClassifierOnnx({
    inputName: DIGIT_INPUT_NAME,
    outputName: DIGIT_PROBABILITIES_OUTPUT,
    labelOutputName: DIGIT_LABEL_OUTPUT,
    features: GLYPH_PIXELS,
    classes: DIGIT_CLASSES,
    weights: trained.weights,
    bias: trained.bias,
    graphName: about.graphName,
    producerName: "modelshare-samples",
    docString: description,
  });
  return {
    onnx,
    sha256: `0x${createHash("sha256").update(onnx).digest("hex")}`,
    name: about.name,
    description,
    tags: about.tags,
    inputName: DIGIT_INPUT_NAME,
    probabilitiesOutput: DIGIT_PROBABILITIES_OUTPUT,
    digitOutput: DIGIT_LABEL_OUTPUT,
    accuracy: accuracyByNoise[training.noise],
    accuracyByNoise,
    training: { ...training },
    weights: trained.weights,
    bias: trained.bias,
  };
}

function cleanAccuracy(model: DigitClassifier): number {
  return accuracyOn(asLinear(model), DIGIT_GLYPHS.map((_, d) => ({ input: digitInput(d), label: d })));
}

function asLinear(model: { weights: readonly number[]; bias: readonly number[] }): LinearModel {
  return { features: GLYPH_PIXELS, classes: DIGIT_CLASSES, weights: [...model.weights], bias: [...model.bias] };
}
