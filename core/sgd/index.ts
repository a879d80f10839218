// /sgd and `kodiak sgd`: the lesson's hand-written gradient descent, run, judged and drawn.
export * from './model.js';
export * from './descent.js';
export * from './verdict.js';
export * from './animation.js';
export * from './run.js';
export * from './summary.js';
