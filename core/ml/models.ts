// Model versions per dataset, as files: DATA_DIR/models-trained/<guild>/<dataset>/v<N>/ holds
// head.json, meta.json (classes, backbone, preprocessing, metrics, dataset revision, seed),
// the report's charts and, after fine-tuning, the tuned backbone. A version is written in a
// temporary folder and renamed into place, so it appears whole or not at all, and two trainings
// finishing at once get different numbers. Which model classifies photos in a channel is one
// small file per channel (atomic replace).
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import type { DatasetRef } from '../jobs.js';
import type { HeadJSON } from './head.js';
import type { Novelty, NoveltyCalibration } from './novelty.js';
import type { Preprocessing } from './types.js';
import type { ClassMetrics } from './evaluate.js';
import type { TrainModelResult } from './train.js';

export interface ModelMetrics {
  accuracy: number;
  errorRate: number;
  loss: number;
  perClass: Record<string, ClassMetrics>;
  confusion: number[][];
  nTrain: number;
  nValid: number;
}

export interface ModelMeta {
  version: number;
  dataset: DatasetRef;
  createdAt: number;
  createdBy?: string;
  classes: string[];
  backbone: string;
  backboneNote?: string;
  backend: string;
  preprocessing: Preprocessing;
  metrics: ModelMetrics;
  /** The dataset's revision when training started: which labels this model saw. */
  datasetRevision: number;
  seed: number;
  epochs: number;
  lr: number;
  fineTune?: string;
  /** Whether v<N>/backbone/ holds a fine-tuned backbone to use instead of the stock one. */
  tunedBackbone: boolean;
  /** Chart names saved as v<N>/<name>.png. */
  charts: string[];
  /** The version this one replaced, scored on this one's validation images (previous.ts). */
  previous?: { modelVersion: number; accuracy: number };
  /** "None of these" thresholds; the reference embeddings are v<N>/novelty.bin. */
  novelty?: NoveltyCalibration;
}

export type NewModel = Omit<ModelMeta, 'version' | 'createdAt' | 'tunedBackbone' | 'charts' | 'dataset' | 'novelty'>;

export interface ActiveModel {
  dataset: DatasetRef;
  /** A pinned version; absent = always the latest. */
  version?: number;
  setBy?: string;
  setAt: number;
}

const SAFE = /^[\w.-]+$/;

function safe(part: string, what: string): string {
  if (!SAFE.test(part) || part === '.' || part === '..') throw new UserError(`invalid ${what}: ${part}`);
  return part;
}

async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${randomUUID().slice(0, 8)}.tmp`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}

export class ModelStore {
  readonly root: string;

  constructor(readonly dataDir: string) {
    this.root = path.join(dataDir, 'models-trained');
  }

  datasetDir(ref: DatasetRef): string {
    return path.join(this.root, safe(ref.guildId, 'guild id'), safe(ref.name, 'dataset name'));
  }

  versionDir(ref: DatasetRef, version: number): string {
    return path.join(this.datasetDir(ref), `v${version}`);
  }

  async versions(ref: DatasetRef): Promise<number[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.datasetDir(ref));
    } catch {
      return [];
    }
    return names.flatMap((n) => (/^v\d+$/.test(n) ? [Number(n.slice(1))] : [])).sort((a, b) => a - b);
  }

  /** Saves a new version and returns its metadata (version numbers count up from 1). */
  async save(
    ref: DatasetRef,
    model: NewModel & { head: HeadJSON; charts?: Record<string, Uint8Array>; backboneArtifacts?: { modelJson: object; weights: Uint8Array }; novelty?: Novelty },
  ): Promise<ModelMeta> {
    const dir = this.datasetDir(ref);
    await fs.mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `.tmp-${randomUUID().slice(0, 8)}`);
    await fs.mkdir(tmp);
    const { head, charts = {}, backboneArtifacts, novelty, ...rest } = model;
    const meta: ModelMeta = { ...rest, dataset: { guildId: ref.guildId, name: ref.name }, version: 0, createdAt: Date.now(), tunedBackbone: !!backboneArtifacts, charts: Object.keys(charts) };
    if (novelty) {
      const { references, ...calibration } = novelty;
      meta.novelty = calibration;
    }
    try {
      await fs.writeFile(path.join(tmp, 'head.json'), JSON.stringify(head));
      if (novelty) await fs.writeFile(path.join(tmp, 'novelty.bin'), new Uint8Array(novelty.references.buffer, novelty.references.byteOffset, novelty.references.byteLength));
      for (const [name, png] of Object.entries(charts)) await fs.writeFile(path.join(tmp, `${safe(name, 'chart name')}.png`), png);
      if (backboneArtifacts) {
        await fs.mkdir(path.join(tmp, 'backbone'));
        await fs.writeFile(path.join(tmp, 'backbone', 'model.json'), JSON.stringify(backboneArtifacts.modelJson));
        await fs.writeFile(path.join(tmp, 'backbone', 'weights.bin'), backboneArtifacts.weights);
      }
      for (let attempt = 0; attempt < 100; attempt++) {
        meta.version = ((await this.versions(ref)).at(-1) ?? 0) + 1;
        await fs.writeFile(path.join(tmp, 'meta.json'), JSON.stringify(meta, null, 1));
        try {
          await fs.rename(tmp, this.versionDir(ref, meta.version)); // fails if that version exists (never empty)
          return meta;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
        }
      }
      throw new Error('could not allocate a model version number');
    } catch (err) {
      await fs.rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  async list(ref: DatasetRef): Promise<ModelMeta[]> {
    const out: ModelMeta[] = [];
    for (const v of await this.versions(ref)) {
      const meta = await this.get(ref, v);
      if (meta) out.push(meta);
    }
    return out;
  }

  /** A version's metadata; the latest when `version` is absent. */
  async get(ref: DatasetRef, version?: number): Promise<ModelMeta | undefined> {
    const v = version ?? (await this.versions(ref)).at(-1);
    if (v === undefined) return undefined;
    try {
      return JSON.parse(await fs.readFile(path.join(this.versionDir(ref, v), 'meta.json'), 'utf8')) as ModelMeta;
    } catch {
      return undefined;
    }
  }

  async require(ref: DatasetRef, version?: number): Promise<ModelMeta> {
    const meta = await this.get(ref, version);
    if (meta) return meta;
    if (version !== undefined && (await this.versions(ref)).length)
      throw new UserError(`dataset "${ref.name}" has no model version ${version}; see /model list`);
    throw new UserError(`no trained model for "${ref.name}" yet: run /train ${ref.name} first`);
  }

  async head(ref: DatasetRef, version: number): Promise<HeadJSON> {
    return JSON.parse(await fs.readFile(path.join(this.versionDir(ref, version), 'head.json'), 'utf8')) as HeadJSON;
  }

  /** Adds chart PNGs to a saved version (meta.json lists them); returns the updated meta. */
  async writeCharts(meta: ModelMeta, charts: Record<string, Uint8Array>): Promise<ModelMeta> {
    const dir = this.versionDir(meta.dataset, meta.version);
    for (const [name, png] of Object.entries(charts)) await writeFileAtomic(path.join(dir, `${safe(name, 'chart name')}.png`), png);
    const updated: ModelMeta = { ...meta, charts: [...new Set([...meta.charts, ...Object.keys(charts)])] };
    await writeFileAtomic(path.join(dir, 'meta.json'), JSON.stringify(updated, null, 1));
    return updated;
  }

  /** A version's "none of these" calibration with its reference embeddings, if it has one. */
  async novelty(meta: ModelMeta): Promise<Novelty | undefined> {
    if (!meta.novelty) return undefined;
    const bytes = await fs.readFile(path.join(this.versionDir(meta.dataset, meta.version), 'novelty.bin'));
    const references = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    return { ...meta.novelty, references };
  }

  /** The fine-tuned backbone folder of a version, if it has one. */
  tunedBackboneDir(ref: DatasetRef, version: number): string | undefined {
    const dir = path.join(this.versionDir(ref, version), 'backbone');
    return existsSync(path.join(dir, 'model.json')) ? dir : undefined;
  }

  chartPath(ref: DatasetRef, version: number, name: string): string {
    return path.join(this.versionDir(ref, version), `${safe(name, 'chart name')}.png`);
  }

  private activeFile(guildId: string, channelId: string): string {
    return path.join(this.root, safe(guildId, 'guild id'), '.active', `${safe(channelId, 'channel id')}.json`);
  }

  /** Makes `dataset` (pinned to `version`, or the latest) classify the photos of a channel. */
  async setActive(guildId: string, channelId: string, active: Omit<ActiveModel, 'setAt'>): Promise<ActiveModel> {
    if (active.dataset.guildId !== guildId) throw new UserError('a channel can only use models of its own server');
    await this.require(active.dataset, active.version);
    const record: ActiveModel = { ...active, setAt: Date.now() };
    await writeFileAtomic(this.activeFile(guildId, channelId), JSON.stringify(record));
    return record;
  }

  async getActive(guildId: string, channelId: string): Promise<ActiveModel | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.activeFile(guildId, channelId), 'utf8')) as ActiveModel;
    } catch {
      return undefined;
    }
  }

  async clearActive(guildId: string, channelId: string): Promise<void> {
    await fs.rm(this.activeFile(guildId, channelId), { force: true });
  }
}

/** What ModelStore.save needs, from a trainModel result (charts rendered separately). */
export function modelFromTrainResult(
  r: TrainModelResult,
  extra: { datasetRevision: number; createdBy?: string; charts?: Record<string, Uint8Array>; previous?: ModelMeta['previous'] },
): Parameters<ModelStore['save']>[1] {
  return {
    head: r.head,
    charts: extra.charts,
    backboneArtifacts: r.backboneArtifacts,
    createdBy: extra.createdBy,
    classes: r.classes,
    backbone: r.backbone,
    backboneNote: r.backboneNote,
    backend: r.backend,
    preprocessing: r.preprocessing,
    metrics: { accuracy: r.accuracy, errorRate: r.errorRate, loss: r.loss, perClass: r.perClass, confusion: r.confusion, nTrain: r.nTrain, nValid: r.nValid },
    datasetRevision: extra.datasetRevision,
    seed: r.seed,
    epochs: r.epochs,
    lr: r.lr,
    fineTune: r.fineTune,
    previous: extra.previous,
    novelty: r.novelty,
  };
}
