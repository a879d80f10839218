// The pieces of the head shared by training, the learning-rate finder and loading: parameters,
// standardisation statistics, the forward pass and weight (de)serialisation.
import * as tf from '@tensorflow/tfjs';

export interface Params {
  mean: tf.Tensor1D;
  std: tf.Tensor1D;
  /** kernel, bias, kernel, bias... */
  vars: tf.Variable[];
}

export function checkShapes(X: Float32Array, y: Int32Array | undefined, dim: number, nClasses: number): number {
  if (dim <= 0 || X.length % dim !== 0) throw new Error(`features length ${X.length} is not a multiple of dim ${dim}`);
  const n = X.length / dim;
  if (y) {
    if (y.length !== n) throw new Error(`got ${n} feature rows but ${y.length} labels`);
    for (const label of y) if (label < 0 || label >= nClasses) throw new Error(`label ${label} outside 0..${nClasses - 1}`);
  }
  return n;
}

export function columnStats(X: Float32Array, dim: number): { mean: Float32Array; std: Float32Array } {
  const n = X.length / dim;
  const mean = new Float32Array(dim);
  const sq = new Float64Array(dim);
  for (let r = 0; r < n; r++) for (let c = 0; c < dim; c++) mean[c]! += X[r * dim + c]! / n;
  for (let r = 0; r < n; r++)
    for (let c = 0; c < dim; c++) {
      const d = X[r * dim + c]! - mean[c]!;
      sq[c]! += (d * d) / n;
    }
  // The epsilon is BatchNorm's: near-constant features are not blown up into noise.
  const std = Float32Array.from(sq, (v) => Math.sqrt(v + 1e-5));
  return { mean, std };
}

export function initParams(X: Float32Array, opts: { dim: number; nClasses: number; hidden: number; seed: number }): Params {
  const { mean, std } = columnStats(X, opts.dim);
  const sizes = opts.hidden > 0 ? [opts.dim, opts.hidden, opts.nClasses] : [opts.dim, opts.nClasses];
  const vars: tf.Variable[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const [fanIn, fanOut] = [sizes[i]!, sizes[i + 1]!];
    const limit = Math.sqrt(6 / (fanIn + fanOut)); // Glorot uniform, seeded per layer
    // Inside tidy so the initial values are freed (variables survive tidy).
    vars.push(tf.tidy(() => tf.variable(tf.randomUniform([fanIn, fanOut], -limit, limit, 'float32', opts.seed + i))));
    vars.push(tf.tidy(() => tf.variable(tf.zeros([fanOut]))));
  }
  return { mean: tf.tensor1d(mean), std: tf.tensor1d(std), vars };
}

/** Logits for a batch; dropout (before every dense layer, as fast.ai's head) only when training. */
export function forward(p: Params, x: tf.Tensor2D, dropout: number, dropoutSeed?: number): tf.Tensor2D {
  let h: tf.Tensor2D = x.sub(p.mean).div(p.std);
  const layers = p.vars.length / 2;
  for (let i = 0; i < layers; i++) {
    if (dropoutSeed !== undefined && dropout > 0) h = tf.dropout(h, i === 0 ? dropout / 2 : dropout, undefined, dropoutSeed + i) as tf.Tensor2D;
    h = tf.matMul(h, p.vars[2 * i] as tf.Tensor2D).add(p.vars[2 * i + 1]!);
    if (i + 1 < layers) h = tf.relu(h);
  }
  return h;
}

export function probaFrom(p: Params, X: Float32Array, dim: number, nClasses: number): Float32Array {
  return outputsFrom(p, X, dim, nClasses, true);
}

/** The head's raw class scores (before softmax): how strongly each class responds. */
export function logitsFrom(p: Params, X: Float32Array, dim: number, nClasses: number): Float32Array {
  return outputsFrom(p, X, dim, nClasses, false);
}

function outputsFrom(p: Params, X: Float32Array, dim: number, nClasses: number, softmax: boolean): Float32Array {
  const n = X.length / dim;
  const out = new Float32Array(n * nClasses);
  const chunk = 1024;
  for (let start = 0; start < n; start += chunk) {
    const rows = Math.min(chunk, n - start);
    const part = tf.tidy(() => {
      const x = tf.tensor2d(X.subarray(start * dim, (start + rows) * dim), [rows, dim]);
      const logits = forward(p, x, 0);
      return (softmax ? tf.softmax(logits) : logits).dataSync() as Float32Array;
    });
    out.set(part, start * nClasses);
  }
  return out;
}

export function disposeParams(p: Params): void {
  p.mean.dispose();
  p.std.dispose();
  for (const v of p.vars) v.dispose();
}

export const toB64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
export const fromB64 = (s: string) => {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

