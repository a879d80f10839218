// The foundation end to end: the real discord.js client logs into the fake Discord, registers
// its commands, /help lists them, /status shows queues and workers with their backends, and a
// command that throws becomes an ephemeral error while the bot stays up.
import { SlashCommandBuilder } from 'discord.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerCommands } from '../bot/commands.js';
import type { Command } from '../bot/types.js';
import { expectNoInvalidRequests, startKodiak, type Kodiak } from './helpers/harness.js';

let k: Kodiak;

// Discord bans an application after 10,000 invalid requests: normal flows make none.
afterEach(() => expectNoInvalidRequests(k));
beforeAll(async () => {
  k = await startKodiak();
});
afterAll(async () => {
  await k?.stop();
});

const text = (m: { content: string; embeds?: { title?: string; description?: string; fields?: { name: string; value: string }[] }[] }) =>
  [m.content, ...(m.embeds ?? []).flatMap((e) => [e.title, e.description, ...(e.fields ?? []).flatMap((f) => [f.name, f.value])])].join('\n');

describe('the bot against the fake Discord', () => {
  it('registers every command file as a guild command', () => {
    const registered = k.fake.commands(k.fake.guild.id).map((c) => c.name).sort();
    expect(registered).toEqual([...k.ctx.commands.keys()].sort());
    expect(registered).toEqual(expect.arrayContaining(['help', 'status']));
  });

  it('/help lists every command with its description', async () => {
    const handle = await k.fake.user('alice').runCommand('help', {});
    const reply = await handle.reply();
    expect(handle.ephemeral).toBe(true);
    for (const name of k.ctx.commands.keys()) expect(text(reply)).toContain(`/${name}`);
    expect(text(reply)).toContain('Health of Kodiak');
  });

  it('/status shows Redis, the queues and connected workers with their backend', async () => {
    const handle = await k.fake.user('alice').runCommand('status', {});
    const reply = await handle.reply();
    const body = text(reply);
    expect(body).toMatch(/Redis[\s\S]*reachable/);
    for (const queue of ['collect', 'train', 'clean', 'predict', 'notify']) expect(body).toContain(`**${queue}**`);
    expect(body).toMatch(/[1-9]\d* workers? connected/);
    expect(body).toMatch(/predict on .*: (wasm|cpu|tensorflow)/);
    expect(body).toContain(`version ${k.ctx.version}`);
  });

  it('turns an error thrown by a command into an ephemeral reply and stays up', async () => {
    const explode: Command = {
      data: new SlashCommandBuilder().setName('explode').setDescription('throws'),
      execute: async () => {
        throw new Error('kaboom');
      },
    };
    (k.ctx.commands as Map<string, Command>).set('explode', explode);
    await registerCommands(k.bot!.client, k.ctx.commands, k.fake.guild.id, k.ctx.log);
    await k.fake.waitForCommands(['explode']);
    const handle = await k.fake.user('bob').runCommand('explode', {});
    const reply = await handle.reply();
    expect(handle.ephemeral).toBe(true);
    expect(reply.content).toMatch(/went wrong on our side.*ref `[0-9a-f]{8}`/);
    expect(reply.content).not.toContain('kaboom');
    // Still up: the next command works.
    const after = await (await k.fake.user('bob').runCommand('help', {})).reply();
    expect(text(after)).toContain('/status');
  });
});
