// Where each provider's results for a query stopped, kept in Redis so a later round, a retried
// job or a top-up continues there instead of asking for page 1 again (anonymous Openverse allows
// a few requests an hour: re-reading pages already seen wasted most of them). Hits of a page
// that were not needed yet are kept with the cursor, so they are used before the next request.
import type { SearchProviderId } from '../../config.js';
import type { Redis } from '../../redis.js';
import { createHash } from 'node:crypto';
import type { SearchHit } from './types.js';

export interface CursorState {
  /** Where the next page starts; null when the provider has no more; undefined: from the start. */
  next?: string | null;
  /** Hits already fetched and not handed out yet. */
  buffer: SearchHit[];
}

export interface CursorStore {
  get(provider: SearchProviderId, query: string): Promise<CursorState>;
  set(provider: SearchProviderId, query: string, state: CursorState): Promise<void>;
}

/** A week: long enough for top-ups, short enough that new results of a search get a chance. */
const TTL_SECONDS = 7 * 24 * 3600;

export class RedisCursorStore implements CursorStore {
  /** `scope`: whose search this is (one dataset), so another dataset starts from the best results. */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly scope: string,
  ) {}

  private key(provider: SearchProviderId, query: string): string {
    const id = createHash('sha256').update(`${this.scope}\n${query.trim().toLowerCase()}`).digest('hex').slice(0, 32);
    return `${this.prefix}:search:cursor:${provider}:${id}`;
  }

  async get(provider: SearchProviderId, query: string): Promise<CursorState> {
    const raw = await this.redis.get(this.key(provider, query));
    return raw ? (JSON.parse(raw) as CursorState) : { buffer: [] };
  }

  async set(provider: SearchProviderId, query: string, state: CursorState): Promise<void> {
    await this.redis.set(this.key(provider, query), JSON.stringify(state), 'EX', TTL_SECONDS);
  }
}

/** For one search call when nothing is to be remembered (tests, benchmarks). */
export class MemoryCursorStore implements CursorStore {
  private readonly states = new Map<string, CursorState>();

  async get(provider: SearchProviderId, query: string): Promise<CursorState> {
    return this.states.get(`${provider}\n${query}`) ?? { buffer: [] };
  }

  async set(provider: SearchProviderId, query: string, state: CursorState): Promise<void> {
    this.states.set(`${provider}\n${query}`, state);
  }
}
