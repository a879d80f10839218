// A Redis outage: interactions get an answer ("storage is unavailable") instead of hanging, no
// connection leaves an error unhandled, and BullMQ's blocking connections keep waiting.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorReplyText } from '../bot/errors.js';
import { blockingConnection, createRedis, interactiveConnection, isStorageUnavailable, type Redis } from '../core/redis.js';
import { RedisDatasetStore } from '../core/store/datasets.js';

/** A port that accepts connections and never answers: a Redis that is paused, or behind a dead link. */
let silent: Server;
let main: Redis;
let interactive: Redis;
const connections = new Set<import('node:net').Socket>();

beforeAll(async () => {
  silent = createServer((socket) => connections.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as import('node:net').AddressInfo;
  main = createRedis(`redis://127.0.0.1:${port}`, { enableReadyCheck: false });
  interactive = interactiveConnection(main);
});

afterAll(async () => {
  interactive?.disconnect();
  main?.disconnect();
  for (const s of connections) s.destroy();
  await new Promise((resolve) => silent?.close(resolve));
});

async function outcome(p: Promise<unknown>): Promise<unknown> {
  return p.then((value) => ({ value }), (err: unknown) => err);
}

describe('when Redis does not answer', () => {
  it('a store call serving an interaction fails as "storage is unavailable" (well within 5 s)', async () => {
    const store = new RedisDatasetStore(interactive, 't-outage', { seed: 1, validPct: 0.2 });
    const err = await outcome(store.get({ guildId: 'g', name: 'cats' }));
    expect(isStorageUnavailable(err)).toBe(true);
    expect(errorReplyText(err, 'ref')).toBe('⏳ Storage is unavailable, try again in a moment.');
  }, 5000);

  it('a store call with nothing listening at all fails the same way', async () => {
    const closed = interactiveConnection(createRedis('redis://127.0.0.1:1'));
    try {
      const store = new RedisDatasetStore(closed, 't-outage', { seed: 1, validPct: 0.2 });
      expect(isStorageUnavailable(await outcome(store.list('g')))).toBe(true);
    } finally {
      closed.disconnect();
    }
  }, 5000);

  it('every connection listens for errors; blocking ones have no command timeout', () => {
    for (const c of [main, interactive]) expect(c.listenerCount('error')).toBeGreaterThan(0);
    expect(interactive.options.commandTimeout).toBeGreaterThan(0);
    const blocking = blockingConnection(interactive);
    try {
      expect(blocking.options.commandTimeout).toBeUndefined();
      expect(blocking.options.maxRetriesPerRequest).toBeNull();
    } finally {
      blocking.disconnect();
    }
  });

  it('our own bugs are not blamed on storage', () => {
    expect(isStorageUnavailable(new TypeError('x is undefined'))).toBe(false);
    expect(errorReplyText(new Error('boom'), 'abc')).toMatch(/ref `abc`/);
  });
});
