// Configuration from the environment, validated once at start-up. Every variable is listed,
// with its default, in .env.example; a wrong value stops start-up with its name in the message.
import path from 'node:path';
import { z } from 'zod';
import { VIEWS } from './ml/views.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const num = (min: number, max: number) => z.coerce.number().min(min).max(max);
const url = z.string().url();
/** Contact information for the User-Agent: an http(s) URL or an email address, nothing that could break the header. */
const contact = z
  .string()
  .trim()
  .refine(
    (s) => !/[\s()`<>"]/.test(s) && (/^[^@]+@[^@]+\.[^@]+$/.test(s) || (/^https?:\/\//.test(s) && URL.canParse(s))),
    'must be a URL (https://...) or an email address where the operators of image APIs can reach you',
  );
const RATE_UNITS = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
export interface Rate {
  limit: number;
  unit: keyof typeof RATE_UNITS;
  windowMs: number;
}
/** Request budgets such as `5/hour,100/day` (the notation of Django REST framework's throttles). */
const rates = z.string().transform((s, ctx) => {
  const out: Rate[] = [];
  for (const part of s.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^(\d+)\s*\/\s*(second|minute|hour|day)$/.exec(part);
    if (!m || Number(m[1]) < 1) {
      ctx.addIssue({ code: 'custom', message: `"${part}" is not a rate such as 5/hour (units: second, minute, hour, day)` });
      return z.NEVER;
    }
    const unit = m[2] as Rate['unit'];
    out.push({ limit: Number(m[1]), unit, windowMs: RATE_UNITS[unit] });
  }
  return out;
});
const list = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);

export const QUEUE_NAMES = ['collect', 'train', 'clean', 'predict', 'notify'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export const SEARCH_PROVIDER_IDS = ['openverse', 'wikimedia', 'duckduckgo', 'brave'] as const;
export type SearchProviderId = (typeof SEARCH_PROVIDER_IDS)[number];

const schema = z.object({
  // Discord
  DISCORD_TOKEN: z.string().optional(),
  DISCORD_GUILD_ID: z.string().regex(/^\d{5,25}$/, 'must be a guild id (a snowflake)').optional(),
  DISCORD_API_URL: url.optional(),
  CLEANER_ROLE: z.string().optional(),
  // Message Content is a privileged intent: a new application has it off until the portal toggle is on.
  DISCORD_MESSAGE_CONTENT: bool.default(true),
  // Who sees the commands that change things by default (server admins can override per role).
  COMMAND_PERMISSION: z
    .string()
    .regex(/^(everyone|[A-Z][A-Za-z]+)$/, 'must be a permission name such as ManageMessages, or everyone')
    .default('ManageMessages'),

  // Playground (npm start without DISCORD_TOKEN, or with --playground)
  PLAYGROUND_PORT: int(0, 65535).default(3210),
  PLAYGROUND_HOST: z.string().default('127.0.0.1'),
  PLAYGROUND_PASSWORD: z.string().optional(),

  // Infrastructure
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .refine((s) => /^rediss?:\/\//.test(s) && URL.canParse(s), 'must look like redis://host:port'),
  START_REDIS: z.enum(['auto', 'never']).default('auto'),
  QUEUE_PREFIX: z.string().regex(/^[\w-]+$/).default('kodiak'),
  DATA_DIR: z.string().default('./data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  // Workers
  WORKER_QUEUES: z
    .string()
    .default('all')
    .transform((s, ctx) => {
      if (s.trim() === 'all' || s.trim() === '') return [...QUEUE_NAMES];
      const names = s.split(',').map((x) => x.trim()).filter(Boolean);
      const bad = names.filter((n) => !(QUEUE_NAMES as readonly string[]).includes(n));
      if (bad.length) {
        ctx.addIssue({ code: 'custom', message: `unknown queue ${bad.join(', ')}; known: ${QUEUE_NAMES.join(', ')}` });
        return z.NEVER;
      }
      return names as QueueName[];
    }),
  COLLECT_CONCURRENCY: int(1, 64).default(2),
  TRAIN_CONCURRENCY: int(1, 8).default(1),
  CLEAN_CONCURRENCY: int(1, 8).default(1),
  PREDICT_CONCURRENCY: int(1, 64).default(4),
  NOTIFY_CONCURRENCY: int(1, 64).default(4),
  WORKER_SHUTDOWN_GRACE_MS: int(0, 600_000).default(10_000),

  // Collection
  HTTP_CONTACT: contact.optional(),
  SEARCH_PROVIDERS: list.default(['openverse', 'wikimedia', 'brave']).pipe(z.array(z.enum(SEARCH_PROVIDER_IDS))),
  OPENVERSE_URL: url.default('https://api.openverse.org'),
  OPENVERSE_CLIENT_ID: z.string().optional(),
  OPENVERSE_CLIENT_SECRET: z.string().optional(),
  OPENVERSE_ANON_RATE: rates.prefault('5/hour,100/day'),
  OPENVERSE_LICENSE_TYPE: list.default([]).pipe(z.array(z.enum(['commercial', 'modification']))),
  OPENVERSE_EXTENSIONS: list.default([]).pipe(z.array(z.string().regex(/^[a-z0-9]{2,5}$/, 'must be file extensions such as jpg,png,gif,webp'))),
  WIKIMEDIA_URL: url.default('https://commons.wikimedia.org'),
  DUCKDUCKGO_URL: url.default('https://duckduckgo.com'),
  BRAVE_URL: url.default('https://api.search.brave.com'),
  BRAVE_API_KEY: z.string().optional(),
  DOWNLOAD_CONCURRENCY: int(1, 1024).default(64),
  DOWNLOAD_PER_HOST: int(1, 256).default(8),
  DOWNLOAD_TIMEOUT_MS: int(100, 600_000).default(10_000),
  DOWNLOAD_RETRIES: int(0, 10).default(3),
  DOWNLOAD_MAX_BYTES: int(1024).default(20 * 1024 * 1024),
  DOWNLOAD_BUDGET_BYTES: int(1024 * 1024).default(256 * 1024 * 1024),
  MAX_PROGRESSIVE_PIXELS: int(1024).default(16_000_000),
  ALLOW_PRIVATE_URLS: bool.default(false),
  /** Origins (scheme://host:port) downloads may reach even on a private address; the playground sets its own. */
  DOWNLOAD_TRUSTED_ORIGINS: list.default([]).pipe(z.array(z.string().refine((o) => URL.canParse(o) && new URL(o).origin === o, 'must be origins like http://127.0.0.1:3210'))),
  MAX_IMAGE_SIZE: int(64, 4096).default(500),
  MAX_IMAGE_PIXELS: int(1024).default(50_000_000),
  VALID_PCT: num(0, 0.9).default(0.2),
  SEED: int(0).default(42),

  // Machine learning
  TF_BACKEND: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  /** Unset: the default backbone, which falls back to a bundled one offline; set: that one or an error. */
  BACKBONE: z.string().optional(),
  /** Views each image is embedded in (core/ml/views.ts); the head trains on all, predictions average them. */
  IMAGE_VIEWS: list.pipe(z.array(z.enum(VIEWS)).refine((v) => v.includes('original'), 'must include original')).default([...VIEWS]),
  MODEL_MIRROR_URL: url.optional(),
  BACKBONE_SHA256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  EMBED_THREADS: int(1, 64).default(2),
  /**
   * Differently seeded k-fold runs the cleaner averages (fewer = faster, noisier). Unset: 2 with
   * several IMAGE_VIEWS, 5 with one (core/clean/confident.ts defaultRepeats).
   */
  CLEAN_REPEATS: int(1, 20).optional(),

  // Quotas (core/quotas.ts): runs per member per hour and per server per day, runs in progress
  // per server, images per dataset.
  QUOTA_TRAIN_PER_USER_HOUR: int(1).default(10),
  QUOTA_TRAIN_PER_GUILD_DAY: int(1).default(50),
  QUOTA_COLLECT_PER_USER_HOUR: int(1).default(10),
  QUOTA_COLLECT_PER_GUILD_DAY: int(1).default(50),
  QUOTA_ADD_PER_USER_HOUR: int(1).default(30),
  QUOTA_ADD_PER_GUILD_DAY: int(1).default(300),
  QUOTA_JOBS_PER_GUILD: int(1).default(3),
  QUOTA_IMAGES_PER_DATASET: int(10).default(5000),

  // Predictions
  PREDICT_THRESHOLD: num(0, 1).default(0.5),
  PREDICT_RATE_PER_MINUTE: int(1, 10_000).default(20),
  PREDICT_MAX_BYTES: int(1024).default(10 * 1024 * 1024),
});

export type Config = z.infer<typeof schema>;

/** Every variable Kodiak reads (.env.example must list each one). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

export class ConfigError extends Error {
  constructor(readonly variables: string[], message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parse the environment into a Config; throws ConfigError naming every wrong variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, as they do in most .env files.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
    const vars = [...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? '')))];
    throw new ConfigError(vars, `Invalid configuration:\n  ${lines.join('\n  ')}\nSee .env.example for every variable and its default.`);
  }
  return { ...parsed.data, DATA_DIR: path.resolve(parsed.data.DATA_DIR) };
}
