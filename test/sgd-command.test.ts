// The /sgd command module on its own: its registration JSON, and execute() against a minimal
// interaction double (the end-to-end test against the fake Discord covers the real wire).
import sharp from 'sharp';
import type { AttachmentBuilder, ChatInputCommandInteraction, EmbedBuilder } from 'discord.js';
import { describe, expect, it } from 'vitest';
import type { BotContext } from '../bot/types.js';
import { data, execute } from '../commands/sgd.js';

type Json = { name: string; description: string; options: { name: string; description: string; type: number; min_value?: number; max_value?: number }[] };

function fakeInteraction(values: Record<string, number | null>) {
  const calls: string[] = [];
  let edited: { embeds: EmbedBuilder[]; files: AttachmentBuilder[] } | undefined;
  const interaction = {
    options: {
      getNumber: (name: string) => values[name] ?? null,
      getInteger: (name: string) => values[name] ?? null,
    },
    async deferReply() {
      calls.push('deferReply');
    },
    async editReply(payload: { embeds: EmbedBuilder[]; files: AttachmentBuilder[] }) {
      calls.push('editReply');
      edited = payload;
    },
  };
  return { interaction: interaction as unknown as ChatInputCommandInteraction, calls, result: () => edited };
}

describe('/sgd command', () => {
  it('registers options with Discord-side limits and short descriptions', () => {
    const json = data.toJSON() as unknown as Json;
    expect(json.name).toBe('sgd');
    expect(json.description.length).toBeLessThanOrEqual(100);
    const byName = Object.fromEntries(json.options.map((o) => [o.name, o]));
    expect(Object.keys(byName).sort()).toEqual(['batch', 'lr', 'points', 'seed', 'steps']);
    expect(byName.steps).toMatchObject({ type: 4, min_value: 1, max_value: 1000 });
    expect(byName.points).toMatchObject({ type: 4, min_value: 10, max_value: 1000 });
    expect(byName.batch).toMatchObject({ type: 4, min_value: 0 });
    expect(byName.lr).toMatchObject({ type: 10 });
    for (const o of json.options) expect(o.description.length).toBeLessThanOrEqual(100);
  });

  it('defers first, then posts the summary embed with the GIF and the loss curve', async () => {
    const { interaction, calls, result } = fakeInteraction({ lr: 1.5, steps: 40 });
    await execute(interaction, {} as BotContext);
    expect(calls).toEqual(['deferReply', 'editReply']);
    const payload = result()!;
    const embed = payload.embeds[0]!.toJSON();
    expect(embed.title).toMatch(/Diverged/);
    expect(embed.description).toMatch(/learning rate 1\.5 is too high/);
    expect(embed.description).toContain('true a = (3, 2)');
    expect(embed.description!.length).toBeLessThanOrEqual(4096);
    expect(embed.image?.url).toBe('attachment://sgd.gif');
    const names = payload.files.map((f) => f.name);
    expect(names).toEqual(['sgd.gif', 'sgd-loss.png']);
    const gif = payload.files[0]!.attachment as Buffer;
    expect((await sharp(gif, { animated: true }).metadata()).format).toBe('gif');
    const total = payload.files.reduce((s, f) => s + (f.attachment as Buffer).length, 0);
    expect(total).toBeLessThan(10 * 1024 * 1024);
  });
});
