// The playground keeps its own state under DATA_DIR/playground: a restart brings back the same
// guild, token, roles, members, messages, reactions and attachment files; deleted and ephemeral
// messages are not kept, nor the files only they had.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startFakeDiscord } from '../playground/server/index.js';
import { PlaygroundStore } from '../playground/store.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kodiak-pgstore-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the playground store', () => {
  it('restores guild, token, members, messages, reactions and files after a restart', async () => {
    const store = new PlaygroundStore(dir);
    expect(store.restore()).toBeUndefined();
    const first = await startFakeDiscord({ guilds: [{ name: 'Playground', channels: ['general', 'training'], roles: [{ name: 'Moderators', permissions: ['ManageMessages'] }] }] });
    store.watch(first);
    const you = first.user('you', { roles: ['Moderators'] });
    const kept = await you.send({ content: 'a **bear**', attachments: [{ name: 'bear.png', data: Buffer.from('not really a png') }] });
    await you.react(kept, '✅');
    const gone = await you.send({ content: 'deleted soon', attachments: [{ name: 'gone.txt', data: 'bye' }], channel: 'training' });
    first.core.deleteMessage(first.core.findMessage(gone.id));
    const guild = first.guild;
    const token = first.token;
    await store.close(first);
    await first.close();
    // Only the kept message's file is on disk.
    expect(fs.readdirSync(path.join(dir, 'files'))).toEqual([kept.attachments[0]!.id]);

    const again = new PlaygroundStore(dir);
    const second = await startFakeDiscord({ restore: again.restore()! });
    try {
      expect(second.guild).toEqual(guild);
      expect(second.token).toBe(token);
      expect(second.channel('training').guildId).toBe(guild.id);
      const messages = second.messages('general');
      expect(messages.map((m) => m.id)).toEqual([kept.id]);
      expect(messages[0]!.content).toBe('a **bear**');
      expect(messages[0]!.reactions?.[0]).toMatchObject({ emoji: { name: '✅' }, count: 1 });
      expect(second.messages('training')).toEqual([]);
      // The file is served again, from the new server's address.
      const file = await fetch(`${second.url}${new URL(messages[0]!.attachments[0]!.url).pathname}`);
      expect(await file.text()).toBe('not really a png');
      // The same user by name, still a moderator (permission bits survive as bigints).
      expect(second.user('you').id).toBe(you.id);
      const member = second.core.model.member(guild.id, you.id);
      const roles = second.core.model.guild(guild.id).roles.filter((r) => member.roleIds.includes(r.id));
      expect(roles.map((r) => r.name)).toContain('Moderators');
      expect(second.core.model.hasPermissions(guild.id, you.id, ['ManageMessages'])).toBe(true);
    } finally {
      await second.close();
    }
  });
});
