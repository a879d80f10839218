// The shapes of what Kodiak keeps: images (content-addressed blobs) and datasets (metadata in
// Redis). Collection writes them, training and the cleaner read them, decisions change labels.
import type { DatasetRef } from '../jobs.js';

export type { DatasetRef };

export type Split = 'train' | 'valid';
export type ItemStatus = 'active' | 'trashed';
export type SourceKind = 'search' | 'url-list' | 'upload' | 'zip' | 'channel' | 'import';

/** Where an image came from, kept for attribution and so users can find the original. */
export interface ItemSource {
  kind: SourceKind;
  /** The URL it was downloaded from, or the original path for imports and zips. */
  url?: string;
  path?: string;
  provider?: string;
  pageUrl?: string;
  title?: string;
  creator?: string;
  license?: string;
}

export interface DatasetItem {
  /** The sha256 of the normalised JPEG bytes: also its blob key, so an image is stored once. */
  id: string;
  label: string;
  split: Split;
  status: ItemStatus;
  source: ItemSource;
  width: number;
  height: number;
  bytes: number;
  /** 64-bit perceptual hash as 16 hex characters. */
  phash: string;
  addedAt: number;
}

export interface DatasetMeta {
  guildId: string;
  name: string;
  classes: string[];
  createdAt: number;
  createdBy: string;
  seed: number;
  validPct: number;
  /** Increases on every change of items or labels: a model records the revision it saw. */
  revision: number;
  /** Rejected downloads and files, by reason (not-an-image, too-small, timeout, ...). */
  rejected: Record<string, number>;
}

export type AddItemOutcome =
  | { outcome: 'added'; item: DatasetItem }
  | { outcome: 'duplicate'; existing: DatasetItem }
  | { outcome: 'near-duplicate'; existing: DatasetItem; distance: number };

export interface LabelChange {
  ok: boolean;
  /** The item after the call (unchanged when ok is false). */
  item: DatasetItem;
}

export interface DatasetStore {
  /** Throws UserError when it exists already or a class name is not acceptable. */
  create(ref: DatasetRef, classes: string[], createdBy: string): Promise<DatasetMeta>;
  get(ref: DatasetRef): Promise<DatasetMeta | undefined>;
  /** Like get, but throws UserError("no dataset called …") when missing. */
  require(ref: DatasetRef): Promise<DatasetMeta>;
  list(guildId: string): Promise<DatasetMeta[]>;
  delete(ref: DatasetRef): Promise<void>;
  addClasses(ref: DatasetRef, classes: string[]): Promise<DatasetMeta>;
  /** The dataset with `name` among its classes, adding it when missing. */
  ensureClass(ref: DatasetRef, name: string): Promise<DatasetMeta>;
  /**
   * Atomic and idempotent: the same image added twice is one item. `known` is the dataset's
   * metadata when the caller already read it (a batch of adds), saving a round trip per image.
   */
  addItem(ref: DatasetRef, item: Omit<DatasetItem, 'split' | 'status' | 'addedAt'>, known?: DatasetMeta): Promise<AddItemOutcome>;
  /**
   * Items in the order they were added, or by id: images are added concurrently, so the added
   * order changes from run to run, and anything seeded (training, folds) must not depend on it.
   */
  items(ref: DatasetRef, opts?: { includeTrashed?: boolean; orderBy?: 'added' | 'id' }): Promise<DatasetItem[]>;
  /** Active images, from the per-class counters (one small read, never a scan of the items). */
  imageCount(ref: DatasetRef): Promise<number>;
  getItem(ref: DatasetRef, id: string): Promise<DatasetItem | undefined>;
  /** Compare-and-set: changes the label only if it is still `expected` (when given). */
  relabel(ref: DatasetRef, id: string, to: string, expected?: string): Promise<LabelChange>;
  setStatus(ref: DatasetRef, id: string, status: ItemStatus, expected?: ItemStatus): Promise<LabelChange>;
  /**
   * Count rejected images by reason. With an `operation` (e.g. a job id), running it again
   * replaces its earlier counts rather than adding to them.
   */
  addRejections(ref: DatasetRef, counts: Record<string, number>, operation?: string): Promise<void>;
}

export interface BlobStore {
  /** Stores bytes under their sha256 (hex) and returns it; storing twice is a no-op. */
  put(bytes: Uint8Array): Promise<string>;
  get(sha256: string): Promise<Buffer>;
  has(sha256: string): Promise<boolean>;
  /** A local file path for readers that want one (sharp, tfjs). */
  path(sha256: string): string;
}
