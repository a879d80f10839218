// The end-to-end harness: a fake Discord, the real bot logged into it, and the workers, all
// in this process against real Redis. Every e2e test starts here.
//
//   const k = await startKodiak();
//   const alice = k.fake.user('alice', { permissions: ['ManageMessages'] });
//   const reply = await (await alice.runCommand('help')).reply();
//   await k.stop();
import { startFakeDiscord, type FakeDiscord, type FakeDiscordOptions } from '../../playground/server/index.js';
import { startStack, type StackOptions, type TestStack } from './stack.js';

export interface Kodiak extends TestStack {
  fake: FakeDiscord;
  /** Moves the fake Discord's clock and the bot's together (e.g. past an interaction token's 15 minutes). */
  advanceTime(ms: number): void;
  /** Everything the bot knows, for assertions that read state back (datasets, labels, models). */
  ctx: NonNullable<TestStack['bot']>['ctx'];
}

export interface KodiakOptions extends StackOptions {
  discord?: FakeDiscordOptions;
}

/** Network latency each way in every e2e test, so the 3-second window means what it does on Discord. */
export const E2E_LATENCY_MS = 100;

export async function startKodiak(opts: KodiakOptions = {}): Promise<Kodiak> {
  const fake = await startFakeDiscord({ latencyMs: E2E_LATENCY_MS, ...opts.discord });
  let stack: TestStack;
  try {
    stack = await startStack({
      ...opts,
      bot: true,
      env: {
        DISCORD_API_URL: `${fake.url}/api`,
        DISCORD_TOKEN: fake.token,
        DISCORD_GUILD_ID: fake.guild.id,
        // The test users hold no permissions unless a test gives them some; one test checks the default.
        COMMAND_PERMISSION: 'everyone',
        ...opts.env,
      },
    });
  } catch (err) {
    await fake.close();
    throw err;
  }
  const names = [...stack.bot!.ctx.commands.keys()];
  await fake.waitForCommands(names);
  let offset = 0;
  const shiftBotClock = () => {
    if (offset) kodiak.ctx.now = () => Date.now() + offset;
  };
  const kodiak: Kodiak = {
    ...stack,
    fake,
    ctx: stack.bot!.ctx,
    advanceTime(ms) {
      fake.advanceTime(ms);
      offset += ms;
      shiftBotClock();
    },
    async restartBot() {
      const bot = await stack.restartBot();
      kodiak.bot = bot;
      kodiak.ctx = bot.ctx;
      shiftBotClock();
      return bot;
    },
    async stop() {
      // The client first: a gateway closed under it makes discord.js reconnect.
      await stack.stop();
      await fake.close();
    },
  };
  return kodiak;
}

/**
 * Every e2e test ends with this: the bot made no request Discord counts towards its ban
 * (401, 403, 429). Tests that provoke one on purpose pass `since` from after it.
 */
export function expectNoInvalidRequests(k: Pick<Kodiak, 'fake'> | undefined, since = 0): void {
  if (!k) return;
  const invalid = k.fake.invalidRequests(since);
  if (invalid.length) throw new Error(`the bot made ${invalid.length} invalid request(s): ${invalid.map((r) => `${r.method} ${r.path} -> ${r.status} ${r.code ?? ''}`).join('; ')}`);
}
