// Multinomial logistic (softmax) regression trained by plain full-batch gradient descent on the mean cross-entropy:
// small enough to train in milliseconds, and exactly the MatMul + Add + Softmax graph onnx-linear.ts writes.

export interface LinearModel {
  features: number;
  classes: number;
  /** Row-major `features × classes`, as in onnx-linear.ts. */
  weights: number[];
  bias: number[];
}

export interface Example {
  input: readonly number[];
  label: number;
}

export interface GradientDescentOptions {
  epochs: number;
  learningRate: number;
  /** Weight decay on W (not B); keeps the weights small so noise the training set lacked sways them less. */
  l2?: number;
}

/**
 * Trains from `start` (not changed) and returns the new model. The weights come back rounded to float32, the precision
 * an ONNX file stores, so scoring this model in JavaScript scores the model that is served.
 */
export function trainSoftmaxRegression(start: LinearModel, examples: readonly Example[], options: GradientDescentOptions): LinearModel {
  const { features, classes } = start;
  if (start.weights.length !== features * classes || start.bias.length !== classes) {
    throw new RangeError(`the starting model has ${start.weights.length} weights and ${start.bias.length} biases; expected ${features * classes} and ${classes}`);
  }
  if (examples.length === 0) throw new RangeError("no examples to train on");
  for (const e of examples) {
    if (e.input.length !== features) throw new RangeError(`an example has ${e.input.length} features; the model takes ${features}`);
    if (!Number.isInteger(e.label) || e.label < 0 || e.label >= classes) throw new RangeError(`label ${e.label} is not a class of the model`);
  }
  // Each input as its non-zero features only: glyphs are mostly paper, so this skips most of the work.
  const sparse = examples.map((e) => sparseInput(e.input));
  const w = Float64Array.from(start.weights);
  const b = Float64Array.from(start.bias);
  const gradW = new Float64Array(w.length);
  const gradB = new Float64Array(b.length);
  const p = new Float64Array(classes);
  const l2 = options.l2 ?? 0;
  const step = options.learningRate / examples.length;

  for (let epoch = 0; epoch < options.epochs; epoch++) {
    gradW.fill(0);
    gradB.fill(0);
    for (let e = 0; e < examples.length; e++) {
      const { at, value } = sparse[e]!;
      // Forward: logits, then softmax shifted by the largest logit so exp cannot overflow.
      for (let c = 0; c < classes; c++) p[c] = b[c]!;
      for (let k = 0; k < at.length; k++) {
        const x = value[k]!;
        const row = at[k]! * classes;
        for (let c = 0; c < classes; c++) p[c]! += x * w[row + c]!;
      }
      let max = -Infinity;
      for (let c = 0; c < classes; c++) if (p[c]! > max) max = p[c]!;
      let sum = 0;
      for (let c = 0; c < classes; c++) sum += p[c] = Math.exp(p[c]! - max);
      for (let c = 0; c < classes; c++) p[c]! /= sum;
      // Backward: d(cross-entropy)/d(logits) = p − one-hot.
      p[examples[e]!.label]! -= 1;
      for (let k = 0; k < at.length; k++) {
        const x = value[k]!;
        const row = at[k]! * classes;
        for (let c = 0; c < classes; c++) gradW[row + c]! += x * p[c]!;
      }
      for (let c = 0; c < classes; c++) gradB[c]! += p[c]!;
    }
    for (let i = 0; i < w.length; i++) w[i]! -= step * gradW[i]! + options.learningRate * l2 * w[i]!;
    for (let c = 0; c < classes; c++) b[c]! -= step * gradB[c]!;
  }
  return { features, classes, weights: Array.from(w, Math.fround), bias: Array.from(b, Math.fround) };
}

/** A model of all-zero weights: every class equally likely. */
export function zeroModel(features: number, classes: number): LinearModel {
  return { features, classes, weights: new Array<number>(features * classes).fill(0), bias: new Array<number>(classes).fill(0) };
}

/** The most likely class (the lowest one on a tie, as ONNX ArgMax picks). */
export function predictClass(model: LinearModel, input: readonly number[]): number {
  const logits = new Float64Array(model.classes);
  logitsInto(logits, model.weights, model.bias, input, model.classes);
  let best = 0;
  for (let c = 1; c < model.classes; c++) if (logits[c]! > logits[best]!) best = c;
  return best;
}

/** The share of `examples` whose label is the predicted class. */
export function accuracyOn(model: LinearModel, examples: readonly Example[]): number {
  let right = 0;
  for (const e of examples) if (predictClass(model, e.input) === e.label) right++;
  return right / examples.length;
}

function logitsInto(out: Float64Array, w: ArrayLike<number>, b: ArrayLike<number>, input: readonly number[], classes: number): void {
  for (let c = 0; c < classes; c++) out[c] = b[c]!;
  for (let f = 0; f < input.length; f++) {
    const x = input[f]!;
    if (x === 0) continue;
    const row = f * classes;
    for (let c = 0; c < classes; c++) out[c]! += x * w[row + c]!;
  }
}

function sparseInput(input: readonly number[]): { at: Int32Array; value: Float64Array } {
  const at: number[] = [];
  for (let f = 0; f < input.length; f++) if (input[f] !== 0) at.push(f);
  return { at: Int32Array.from(at), value: Float64Array.from(at, (f) => input[f]!) };
}
