// Kodiak and discord.js must share one undici. Each undici version installs its own Agent as the
// process-wide global dispatcher when it loads; when two versions live in one process, the
// second one's requests run on the first one's Agent and uploads fail ("action is not a
// function"), depending only on which module happened to load first.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

describe('undici', () => {
  it('is one copy for Kodiak and for discord.js', () => {
    const fromRoot = createRequire(import.meta.url).resolve('undici');
    const restEntry = createRequire(import.meta.url).resolve('@discordjs/rest');
    const fromDiscord = createRequire(restEntry).resolve('undici');
    expect(fromDiscord).toBe(fromRoot);
  });
});
