// Quotas (issue 12 finding 5): what one member and one server may ask of the workers, and a
// refusal that says when to try again, seen by the member alone.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRate } from '../bot/predictions.js';
import type { BotContext } from '../bot/types.js';
import { loadConfig } from '../core/config.js';
import { isUserError } from '../core/errors.js';
import { admitRun, checkDatasetRoom, releaseRun } from '../core/quotas.js';
import { createRedis } from '../core/redis.js';
import { startKodiak, type Kodiak } from './helpers/harness.js';
import { deleteKeys } from './helpers/stack.js';

const prefix = `t-${randomUUID().slice(0, 8)}`;
const redis = createRedis('redis://127.0.0.1:6379');
const config = loadConfig({ QUEUE_PREFIX: prefix, QUOTA_TRAIN_PER_USER_HOUR: '2', QUOTA_TRAIN_PER_GUILD_DAY: '3', QUOTA_JOBS_PER_GUILD: '10', PREDICT_RATE_PER_MINUTE: '20' });
const ctx = { redis, config };
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(isUserError(err), String(err)).toBe(true);
  return (err as Error).message;
}

const run = (userId: string, guildId = 'g1') => ({ action: 'train' as const, guildId, userId, runId: randomUUID() });

describe('quotas', () => {
  it('limits runs per member per hour and per server per day, saying when to retry', async () => {
    const now = 5_000_000;
    await admitRun(ctx, run('alice'), now);
    await admitRun(ctx, run('alice'), now + 1);
    expect(await refusal(admitRun(ctx, run('alice'), now + 60_000))).toBe('You have reached your limit of 2 trainings an hour; try again in 59 min.');
    // Alice's refusal cost the server nothing: Bob still gets the third of the day.
    await admitRun(ctx, run('bob'), now + 2);
    expect(await refusal(admitRun(ctx, run('carol'), now + 3))).toMatch(/^This server has reached its limit of 3 trainings a day; try again in 24 h\.$/);
    // Carol's refusal by the server did not use her hour either.
    await admitRun(ctx, run('carol', 'g2'), now + 4);
    await admitRun(ctx, run('carol', 'g2'), now + 5);
    expect(await refusal(admitRun(ctx, run('carol', 'g2'), now + 6))).toMatch(/limit of 2 trainings an hour/);
  });

  it('limits runs in progress per server until one ends', async () => {
    const two = { ...ctx, config: { ...config, QUOTA_JOBS_PER_GUILD: 2, QUOTA_TRAIN_PER_USER_HOUR: 100, QUOTA_TRAIN_PER_GUILD_DAY: 100 } };
    const first = await admitRun(two, run('dave', 'g3'));
    await admitRun(two, run('erin', 'g3'));
    expect(await refusal(admitRun(two, run('fay', 'g3')))).toMatch(/already has 2 trainings or collections in progress; try again when one finishes/);
    await releaseRun(two, 'g3', first);
    await admitRun(two, run('fay', 'g3'));
  });

  it('caps the images of a dataset', () => {
    const small = { ...config, QUOTA_IMAGES_PER_DATASET: 500 };
    checkDatasetRoom(small, 400, 100);
    expect(() => checkDatasetRoom(small, 400, 101, 'adding 101 images')).toThrow('adding 101 images would take the dataset to 501 images; a dataset holds at most 500 (room for 100 more); nothing was added.');
  });

  it('counts photos, not messages, against the prediction limit', async () => {
    const bot = ctx as unknown as BotContext;
    for (let i = 0; i < 2; i++) await checkRate(bot, 'gina', 10);
    expect(await refusal(checkRate(bot, 'gina', 1))).toMatch(/^You may have 20 photos classified per minute\. Try again in \d+ s\.$/);
    expect(await refusal(checkRate(bot, 'hal', 21))).toMatch(/these 21 would go over/);
  });
});

describe('quotas through Discord', () => {
  let k: Kodiak;
  beforeAll(async () => {
    // No workers: every accepted run stays in progress, holding its place.
    k = await startKodiak({ queues: [], env: { QUOTA_TRAIN_PER_USER_HOUR: '1', QUOTA_JOBS_PER_GUILD: '2', QUOTA_IMAGES_PER_DATASET: '500' } });
  });
  afterAll(async () => {
    await k?.stop();
  });

  it('answers the excess with a short ephemeral message, and creates nothing for it', async () => {
    const alice = k.fake.user('alice');
    const ok = await alice.runCommand('train', { name: 'pets', classes: 'cat, dog', images: 10 });
    expect((await ok.reply()).content).toContain('Created **pets**');
    const again = await alice.runCommand('train', { name: 'birds' });
    expect((await again.reply()).content).toBe('⚠️ You have reached your limit of 1 trainings an hour; try again in 60 min.');
    expect(again.ephemeral).toBe(true);
    const big = await k.fake.user('bob').runCommand('train', { name: 'zoo', classes: 'a, b, c', images: 200 });
    expect((await big.reply()).content).toMatch(/3 classes x 200 images would take the dataset to 600 images; a dataset holds at most 500/);
    expect(await k.ctx.datasets.get({ guildId: k.fake.guild.id, name: 'zoo' })).toBeUndefined();
    await (await k.fake.user('bob').runCommand('train', { name: 'bears' })).reply();
    const third = await k.fake.user('carol').runCommand('dataset collect', { name: 'pets', images: 10 });
    expect((await third.reply()).content).toMatch(/already has 2 trainings or collections in progress/);
    expect(third.ephemeral).toBe(true);
    // Adding the channel's recent images is refused as privately, before its history is read.
    const fourth = await k.fake.user('dave').runCommand('dataset add', { name: 'pets', recent: 5 });
    expect((await fourth.reply()).content).toMatch(/already has 2 trainings or collections in progress/);
    expect(fourth.ephemeral).toBe(true);
  });
});
