// Messages between the embedding pool and its worker threads.
/**
 * A file is embedded in one view (views.ts): `size` px instead of the backbone's own input size,
 * `mirror` flipped left to right; decoded pixels say their side when it is not the input size.
 * All the inputs of one task share a size.
 */
export type EmbedTaskInput = { kind: 'path'; path: string; mirror?: boolean; size?: number } | { kind: 'bytes'; bytes: Uint8Array } | { kind: 'rgb'; rgb: Uint8Array; size?: number };

export interface EmbedTask {
  taskId: number;
  inputs: EmbedTaskInput[];
}

export type WorkerReply =
  | { type: 'ready'; backend: string }
  | { type: 'result'; taskId: number; features: Float32Array; errors: (string | null)[] }
  | { type: 'fatal'; message: string };
