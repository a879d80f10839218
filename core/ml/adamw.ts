// Adam with decoupled weight decay (Loshchilov & Hutter, "AdamW"), written on tfjs ops so the
// learning rate and beta1 can change every step (one-cycle) and decay skips biases.
import * as tf from '@tensorflow/tfjs';

export interface AdamWStep {
  lr: number;
  beta1: number;
  weightDecay: number;
}

export class AdamW {
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private beta1Product = 1;
  private beta2Product = 1;

  /** `decay[i]` says whether params[i] gets weight decay (weights yes, biases no). */
  constructor(
    private readonly params: tf.Variable[],
    private readonly decay: boolean[],
    private readonly beta2 = 0.99,
    private readonly eps = 1e-8,
  ) {
    this.m = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    this.v = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
  }

  /** Applies one update from gradients aligned with the params given to the constructor. */
  apply(grads: tf.Tensor[], { lr, beta1, weightDecay }: AdamWStep): void {
    this.beta1Product *= beta1;
    this.beta2Product *= this.beta2;
    const c1 = 1 - this.beta1Product;
    const c2 = 1 - this.beta2Product;
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        const g = grads[i]!;
        const m = this.m[i]!.mul(beta1).add(g.mul(1 - beta1));
        const v = this.v[i]!.mul(this.beta2).add(g.square().mul(1 - this.beta2));
        this.m[i]!.assign(m);
        this.v[i]!.assign(v);
        const stepDir = m.div(c1).div(v.div(c2).sqrt().add(this.eps));
        const decayed = this.decay[i] && weightDecay > 0 ? p.mul(1 - lr * weightDecay) : p;
        p.assign(decayed.sub(stepDir.mul(lr)));
      });
    });
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}
