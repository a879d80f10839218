// Datasets in Redis. Per dataset (keys share a {hash tag} so a Redis Cluster keeps them together
// and the Lua scripts may touch them all):
//   <prefix>:ds:{guild:name}:meta      hash   guildId, name, classes (JSON), createdAt, createdBy, seed, validPct, revision
//   <prefix>:ds:{guild:name}:items     hash   item id -> DatasetItem JSON
//   <prefix>:ds:{guild:name}:phash     hash   item id -> 16 hex
//   <prefix>:ds:{guild:name}:phidx     hash   "<run>:<hex digits>" -> ids (the near-duplicate index, see lua.ts)
//   <prefix>:ds:{guild:name}:counts    hash   "<label>\n<split>" -> active items by drawn split
//   <prefix>:ds:{guild:name}:rejected  hash   reason -> count
//   <prefix>:ds:{guild:name}:rejops    hash   operation (collect job) -> its counts (JSON), so a retry replaces them
//   <prefix>:dsidx:<guild>             set    dataset names of a guild
//   <prefix>:gc:released               set    image ids of deleted datasets, until the file sweep (gc.ts) settles them
import type { Redis } from 'ioredis';
import { UserError } from '../errors.js';
import { checkDatasetRef, cleanClassNames, findClass } from './classNames.js';
import { ADD_ITEM, CREATE, runScript, SET_CLASSES, SET_FIELD, SET_REJECTIONS } from './lua.js';
import { assignSplits, drawnSplit } from './split.js';
import type { AddItemOutcome, DatasetItem, DatasetMeta, DatasetRef, DatasetStore, ItemStatus, LabelChange } from './types.js';

/** The items hash of every dataset under every QUEUE_PREFIX (for the file sweep, see gc.ts). */
export const ALL_ITEMS_KEYS = '*:ds:{*}:items';
/** The ids deleted datasets released, under every QUEUE_PREFIX: the sweep may remove their files freely. */
export const ALL_RELEASED_KEYS = '*:gc:released';

/** Images whose perceptual hashes differ in at most this many bits count as the same picture. */
export const NEAR_DUPLICATE_BITS = 4;

export interface DatasetStoreOptions {
  seed: number;
  validPct: number;
  nearDuplicateBits?: number;
}

export class RedisDatasetStore implements DatasetStore {
  private readonly nearBits: number;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly opts: DatasetStoreOptions,
  ) {
    this.nearBits = opts.nearDuplicateBits ?? NEAR_DUPLICATE_BITS;
  }

  private keys(ref: DatasetRef) {
    checkDatasetRef(ref);
    const base = `${this.prefix}:ds:{${ref.guildId}:${ref.name}}`;
    return {
      meta: `${base}:meta`,
      items: `${base}:items`,
      phash: `${base}:phash`,
      phidx: `${base}:phidx`,
      counts: `${base}:counts`,
      rejected: `${base}:rejected`,
      rejectedOps: `${base}:rejops`,
      index: `${this.prefix}:dsidx:${ref.guildId}`,
    };
  }

  async create(ref: DatasetRef, classes: string[], createdBy: string): Promise<DatasetMeta> {
    const k = this.keys(ref);
    const cleaned = cleanClassNames(classes);
    if (cleaned.length === 0) throw new UserError('give at least one class, e.g. "grizzly bear, black bear, teddy bear"');
    const fields: Record<string, string> = {
      guildId: ref.guildId,
      name: ref.name,
      classes: JSON.stringify(cleaned),
      createdAt: String(Date.now()),
      createdBy,
      seed: String(this.opts.seed),
      validPct: String(this.opts.validPct),
      revision: '0',
    };
    const created = await runScript(this.redis, CREATE, [k.meta], Object.entries(fields).flat());
    if (created !== 1) throw new UserError(`a dataset called "${ref.name}" already exists`);
    await this.redis.sadd(k.index, ref.name);
    return (await this.get(ref))!;
  }

  async get(ref: DatasetRef): Promise<DatasetMeta | undefined> {
    const k = this.keys(ref);
    const [[, meta], [, rejected]] = (await this.redis.multi().hgetall(k.meta).hgetall(k.rejected).exec()) as [
      [null, Record<string, string>],
      [null, Record<string, string>],
    ];
    if (!meta || !meta.name) return undefined;
    return {
      guildId: meta.guildId!,
      name: meta.name,
      classes: JSON.parse(meta.classes!) as string[],
      createdAt: Number(meta.createdAt),
      createdBy: meta.createdBy ?? '',
      seed: Number(meta.seed),
      validPct: Number(meta.validPct),
      revision: Number(meta.revision),
      // A retried operation can bring a reason back to 0: leave it out.
      rejected: Object.fromEntries(Object.entries(rejected ?? {}).map(([r, n]) => [r, Number(n)] as const).filter(([, n]) => n > 0)),
    };
  }

  async require(ref: DatasetRef): Promise<DatasetMeta> {
    const meta = await this.get(ref);
    if (!meta) throw new UserError(`no dataset called "${ref.name}" here; /dataset list shows the ones that exist`);
    return meta;
  }

  async list(guildId: string): Promise<DatasetMeta[]> {
    const names = (await this.redis.smembers(`${this.prefix}:dsidx:${guildId}`)).sort();
    const metas = await Promise.all(names.map((name) => this.get({ guildId, name })));
    return metas.filter((m): m is DatasetMeta => m !== undefined);
  }

  async delete(ref: DatasetRef): Promise<void> {
    await this.require(ref);
    const k = this.keys(ref);
    // Blobs stay: they are shared by content with other datasets and models. Their ids are
    // released, so the file sweep knows why they are no longer held (an image added between
    // these two calls is not released: the sweep counts it as unexplained, which is safe).
    const ids = await this.redis.hkeys(k.items);
    const tx = this.redis.multi().del(k.meta, k.items, k.phash, k.phidx, k.counts, k.rejected, k.rejectedOps).srem(k.index, ref.name);
    if (ids.length) tx.sadd(`${this.prefix}:gc:released`, ...ids);
    await tx.exec();
  }

  async addClasses(ref: DatasetRef, classes: string[]): Promise<DatasetMeta> {
    const k = this.keys(ref);
    for (let attempt = 0; attempt < 10; attempt++) {
      const meta = await this.require(ref);
      const added = cleanClassNames(classes, meta.classes);
      const next = [...meta.classes, ...added];
      const ok = await runScript(this.redis, SET_CLASSES, [k.meta], [JSON.stringify(meta.classes), JSON.stringify(next)]);
      if (ok === 1) return (await this.get(ref))!;
    }
    throw new Error('addClasses: too much contention on the class list');
  }

  /** The dataset with `name` among its classes, adding it when missing (concurrent callers agree). */
  async ensureClass(ref: DatasetRef, name: string): Promise<DatasetMeta> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const meta = await this.require(ref);
      if (findClass(meta.classes, name)) return meta;
      const next = [...meta.classes, ...cleanClassNames([name], meta.classes)];
      const ok = await runScript(this.redis, SET_CLASSES, [this.keys(ref).meta], [JSON.stringify(meta.classes), JSON.stringify(next)]);
      if (ok === 1) return (await this.get(ref))!;
    }
    throw new Error('ensureClass: too much contention on the class list');
  }

  async addItem(ref: DatasetRef, input: Omit<DatasetItem, 'split' | 'status' | 'addedAt'>, known?: DatasetMeta): Promise<AddItemOutcome> {
    const k = this.keys(ref);
    // Classes only grow and the seed never changes, so metadata read once serves a whole batch;
    // the script refuses the add if the dataset was deleted (or made again) since.
    const cached = known && known.name === ref.name && known.guildId === ref.guildId && findClass(known.classes, input.label) ? known : undefined;
    const meta = cached ?? (await this.require(ref));
    const label = findClass(meta.classes, input.label);
    if (!label) throw new UserError(`"${input.label}" is not a class of ${ref.name} (classes: ${meta.classes.join(', ')})`);
    if (!/^[0-9a-f]{16}$/.test(input.phash)) throw new Error(`phash must be 16 hex characters, got ${input.phash}`);
    // The near-duplicate index stores ids end to end, 64 characters each.
    if (!/^[0-9a-f]{64}$/.test(input.id)) throw new Error(`item id must be a sha256 (64 hex characters), got ${input.id}`);
    const base: Omit<DatasetItem, 'split'> = { ...input, label, status: 'active', addedAt: Date.now() };
    const asJson = (split: 'train' | 'valid') => JSON.stringify({ ...base, split });
    const split = drawnSplit(ref.name, input.id, meta.validPct);
    const reply = (await runScript(
      this.redis,
      ADD_ITEM,
      [k.meta, k.items, k.phash, k.counts, k.phidx],
      [input.id, input.phash, label, split, this.nearBits, asJson('train'), asJson('valid'), String(meta.createdAt)],
    )) as string[];
    switch (reply[0]) {
      case 'added':
        return { outcome: 'added', item: JSON.parse(reply[1]!) };
      case 'duplicate':
        return { outcome: 'duplicate', existing: JSON.parse(reply[1]!) };
      case 'near':
        return { outcome: 'near-duplicate', existing: JSON.parse(reply[1]!), distance: Number(reply[2]) };
      default:
        throw new UserError(`no dataset called "${ref.name}" (it was deleted meanwhile)`);
    }
  }

  async items(ref: DatasetRef, opts: { includeTrashed?: boolean; orderBy?: 'added' | 'id' } = {}): Promise<DatasetItem[]> {
    const [[, meta], [, raw]] = (await this.redis.multi().hget(this.keys(ref).meta, 'validPct').hvals(this.keys(ref).items).exec()) as [
      [null, string | null],
      [null, string[]],
    ];
    const all = raw.map((j) => JSON.parse(j) as DatasetItem);
    // The split is recomputed from the active images (split.ts): the stored one is the image's
    // own draw, which the stand-in rule may override, and older stores drew it differently.
    const active = all.filter((i) => i.status === 'active');
    const splits = assignSplits(ref.name, active, Number(meta ?? 0.2));
    for (const it of active) it.split = splits.get(it.id)!;
    const wanted = opts.includeTrashed ? all : active;
    const byId = (a: DatasetItem, b: DatasetItem) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    return wanted.sort(opts.orderBy === 'id' ? byId : (a, b) => a.addedAt - b.addedAt || byId(a, b));
  }

  async imageCount(ref: DatasetRef): Promise<number> {
    const counts = await this.redis.hvals(this.keys(ref).counts);
    return counts.reduce((n, c) => n + Number(c), 0);
  }

  async getItem(ref: DatasetRef, id: string): Promise<DatasetItem | undefined> {
    const json = await this.redis.hget(this.keys(ref).items, id);
    return json ? (JSON.parse(json) as DatasetItem) : undefined;
  }

  async relabel(ref: DatasetRef, id: string, to: string, expected?: string): Promise<LabelChange> {
    const meta = await this.require(ref);
    const label = findClass(meta.classes, to);
    if (!label) throw new UserError(`"${to}" is not a class of ${ref.name} (classes: ${meta.classes.join(', ')})`);
    return this.setField(ref, id, 'label', label, expected);
  }

  async setStatus(ref: DatasetRef, id: string, status: ItemStatus, expected?: ItemStatus): Promise<LabelChange> {
    return this.setField(ref, id, 'status', status, expected);
  }

  private async setField(ref: DatasetRef, id: string, field: 'label' | 'status', to: string, expected?: string): Promise<LabelChange> {
    const k = this.keys(ref);
    const reply = (await runScript(this.redis, SET_FIELD, [k.meta, k.items, k.counts], [id, field, to, expected ?? ''])) as string[];
    if (reply[0] === 'missing') throw new UserError(`that image is no longer in ${ref.name}`);
    return { ok: reply[0] === 'ok', item: JSON.parse(reply[1]!) as DatasetItem };
  }

  async addRejections(ref: DatasetRef, counts: Record<string, number>, operation?: string): Promise<void> {
    const k = this.keys(ref);
    const entries = Object.entries(counts).filter(([, n]) => n > 0);
    if (operation) {
      await runScript(this.redis, SET_REJECTIONS, [k.rejected, k.rejectedOps], [operation, JSON.stringify(Object.fromEntries(entries))]);
      return;
    }
    if (entries.length === 0) return;
    const tx = this.redis.multi();
    for (const [reason, n] of entries) tx.hincrby(k.rejected, reason, n);
    await tx.exec();
  }

  /** Active images per class and split (the split of items(), stand-ins included). */
  async splitCounts(ref: DatasetRef): Promise<Record<string, { train: number; valid: number }>> {
    const meta = await this.require(ref);
    const out: Record<string, { train: number; valid: number }> = {};
    for (const c of meta.classes) out[c] = { train: 0, valid: 0 };
    for (const it of await this.items(ref)) (out[it.label] ??= { train: 0, valid: 0 })[it.split]++;
    return out;
  }
}
