// Picks the fastest tfjs backend that actually loads here. TF_BACKEND=auto tries the TensorFlow
// bindings (GPU, then CPU), then wasm with SIMD, then the pure-JS cpu backend. The bindings are
// optionalDependencies that fail to install on machines without libtensorflow, so they are
// imported by a name typed as string: this module typechecks and loads without them.
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';

export type BackendChoice = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** The tfjs backend name in use: tensorflow, wasm or cpu. */
  name: string;
  /** Which package provided it (for /status). */
  provider: string;
  /** Whether it has the backward kernels backbone fine-tuning needs (wasm lacks Conv2DBackpropFilter). */
  fineTuneCapable: boolean;
  /** Threads one backend instance uses (wasm in Node: 1; scale out with worker threads). */
  threads: number;
  /** Why the preferred backends were not used, in order tried. */
  skipped: string[];
}

const ORDER: Exclude<BackendChoice, 'auto'>[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

async function importOptional(name: string): Promise<unknown> {
  return import(name as string);
}

async function tryBackend(choice: Exclude<BackendChoice, 'auto'>): Promise<Omit<BackendInfo, 'skipped'>> {
  switch (choice) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      const pkg = choice === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      await importOptional(pkg); // registers the 'tensorflow' backend as a side effect
      if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but its backend did not initialise`);
      return { name: 'tensorflow', provider: pkg, fineTuneCapable: true, threads: os.availableParallelism() };
    }
    case 'wasm': {
      await import('@tensorflow/tfjs-backend-wasm');
      // setBackend resolves false (it does not throw) when the .wasm binary cannot be loaded.
      if (!(await tf.setBackend('wasm'))) throw new Error('the wasm binary did not load');
      return { name: 'wasm', provider: '@tensorflow/tfjs-backend-wasm', fineTuneCapable: false, threads: 1 };
    }
    case 'cpu':
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
      return { name: 'cpu', provider: '@tensorflow/tfjs-backend-cpu', fineTuneCapable: true, threads: 1 };
  }
}

let current: BackendInfo | undefined;

/**
 * Initialises the backend once per process (or thread); later calls with the same choice
 * return the same info. An explicit choice that fails throws; `auto` falls through the order.
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  if (current && (choice === 'auto' || current.name === backendName(choice))) return current;
  const candidates = choice === 'auto' ? ORDER : [choice];
  const skipped: string[] = [];
  for (const c of candidates) {
    try {
      const info = await tryBackend(c);
      current = { ...info, skipped };
      return current;
    } catch (err) {
      skipped.push(`${c}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  throw new Error(`no tfjs backend could be initialised (${skipped.join('; ')})`);
}

function backendName(choice: Exclude<BackendChoice, 'auto'>): string {
  return choice === 'tensorflow-gpu' ? 'tensorflow' : choice;
}

/** The backend initialised in this process or thread, if any. */
export function backendInfo(): BackendInfo | undefined {
  return current;
}
