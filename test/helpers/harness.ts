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
  /** Everything the bot knows, for assertions that read state back (datasets, labels, models). */
  ctx: NonNullable<TestStack['bot']>['ctx'];
}

export interface KodiakOptions extends StackOptions {
  discord?: FakeDiscordOptions;
}

export async function startKodiak(opts: KodiakOptions = {}): Promise<Kodiak> {
  const fake = await startFakeDiscord(opts.discord);
  let stack: TestStack;
  try {
    stack = await startStack({
      ...opts,
      bot: true,
      env: {
        DISCORD_API_URL: `${fake.url}/api`,
        DISCORD_TOKEN: fake.token,
        DISCORD_GUILD_ID: fake.guild.id,
        ...opts.env,
      },
    });
  } catch (err) {
    await fake.close();
    throw err;
  }
  const names = [...stack.bot!.ctx.commands.keys()];
  await fake.waitForCommands(names);
  const kodiak: Kodiak = {
    ...stack,
    fake,
    ctx: stack.bot!.ctx,
    async restartBot() {
      const bot = await stack.restartBot();
      kodiak.bot = bot;
      kodiak.ctx = bot.ctx;
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
