// Messages between the embedding pool and its worker threads.
/** `mirror`: embed the image flipped left to right (the second view, see features.ts). */
export type EmbedTaskInput = { kind: 'path'; path: string; mirror?: boolean } | { kind: 'bytes'; bytes: Uint8Array } | { kind: 'rgb'; rgb: Uint8Array };

export interface EmbedTask {
  taskId: number;
  inputs: EmbedTaskInput[];
}

export type WorkerReply =
  | { type: 'ready'; backend: string }
  | { type: 'result'; taskId: number; features: Float32Array; errors: (string | null)[] }
  | { type: 'fatal'; message: string };
