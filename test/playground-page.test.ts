// The playground page's backend over HTTP, as the page uses it: state, messages and live events
// for "you", sending messages with files (Discord's upload limits), clicking, reacting,
// switching role, ephemeral replies only for their user, and the password off loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../core/log.js';
import { attachPage } from '../playground/page/index.js';
import { startFakeDiscord, type FakeDiscord } from '../playground/server/index.js';

let fake: FakeDiscord;
let locked: FakeDiscord;
const log = createLogger('silent');
const search = Promise.resolve({ reachable: [], unreachable: { openverse: 'ECONNREFUSED' } });

beforeAll(async () => {
  const guilds = [{ name: 'Playground', channels: ['general', 'training'], roles: [{ name: 'Moderators', permissions: ['ManageMessages' as const] }] }];
  fake = await startFakeDiscord({ guilds });
  attachPage(fake, { search, moderatorRole: 'Moderators', log });
  locked = await startFakeDiscord({ guilds });
  attachPage(locked, { search, moderatorRole: 'Moderators', log, password: 'open sesame' });
});
afterAll(async () => {
  await fake?.close();
  await locked?.close();
});

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Reads server-sent events until `until` says stop; returns them. */
async function readEvents(user: string, until: (events: { event: string; data: any }[]) => boolean): Promise<{ event: string; data: any }[]> {
  const res = await fetch(`${fake.url}/playground/events?user=${user}`);
  const reader = res.body!.getReader();
  const events: { event: string; data: any }[] = [];
  let buffer = '';
  while (!until(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += Buffer.from(value).toString('utf8');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) });
    }
  }
  await reader.cancel();
  return events;
}

describe('the playground page backend', () => {
  it('serves the page, the guild, its channels and the image-search state', async () => {
    const page = await fetch(`${fake.url}/`);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/web/app.js">');
    expect((await fetch(`${fake.url}/web/../server/core.ts`)).status).toBe(404);
    const state = await (await fetch(`${fake.url}/playground/state?user=you`)).json();
    expect(state.guild.name).toBe('Playground');
    expect(state.channels.map((c: { name: string }) => c.name)).toEqual(['general', 'training']);
    expect(state.search).toEqual({ reachable: [], unreachable: { openverse: 'ECONNREFUSED' } });
  });

  it('sends a message with a photo and tells every page live', async () => {
    const channel = fake.channel('general').id;
    const live = readEvents('someone', (events) => events.some((e) => e.event === 'message' && e.data.content === 'a bear'));
    const form = new FormData();
    form.append('json', JSON.stringify({ user: 'you', channel, content: 'a bear' }));
    form.append('files', new Blob([Buffer.from('GIF89a')], { type: 'image/gif' }), 'bear.gif');
    const res = await fetch(`${fake.url}/playground/send`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const message = (await live).find((e) => e.data.content === 'a bear')!.data;
    expect(message.author.username).toBe('you');
    // Attachment URLs are relative: the page may be opened through another address.
    expect(message.attachments[0].url).toMatch(/^\/attachments\/\d+\/\d+\/bear\.gif$/);
    expect((await fetch(`${fake.url}${message.attachments[0].url}`)).headers.get('content-type')).toBe('image/gif');
  });

  it('refuses what Discord refuses: files over 10 MiB, more than 10 files', async () => {
    const channel = fake.channel('general').id;
    const big = new FormData();
    big.append('json', JSON.stringify({ user: 'you', channel }));
    big.append('files', new Blob([Buffer.alloc(10 * 1024 * 1024 + 1)]), 'huge.png');
    const tooBig = await fetch(`${fake.url}/playground/send`, { method: 'POST', body: big });
    expect(tooBig.status).toBe(413);
    expect((await tooBig.json()).message).toContain('10 MiB');
    const many = new FormData();
    many.append('json', JSON.stringify({ user: 'you', channel }));
    for (let i = 0; i < 11; i++) many.append('files', new Blob(['x']), `${i}.txt`);
    const tooMany = await fetch(`${fake.url}/playground/send`, { method: 'POST', body: many });
    expect(tooMany.status).toBe(400);
    expect((await tooMany.json()).message).toContain('at most 10');
  });

  it('reacts and un-reacts as you, clicks a button, and tells you when the bot does not answer', async () => {
    const channel = fake.channel('general').id;
    const sent = await (await post('/playground/send', { user: 'you', channel, content: 'react to me' })).json();
    expect((await post('/playground/react', { user: 'you', message: sent.id, emoji: '✅' })).status).toBe(200);
    const mine = await (await fetch(`${fake.url}/playground/messages?user=you&channel=${channel}`)).json();
    expect(mine.find((m: { id: string }) => m.id === sent.id).reactions[0]).toMatchObject({ count: 1, me: true });
    await post('/playground/react', { user: 'you', message: sent.id, emoji: '✅', on: false });
    expect(fake.message(sent.id).reactions).toBeUndefined();

    // A button on a message; no bot is connected here, so the click goes unanswered.
    const buttons = await fake.core.postMessage({ channelId: channel, authorId: fake.botUser.id, body: { content: 'pick', components: [{ type: 1, components: [{ type: 2, style: 1, label: 'Keep', custom_id: 'keep:1' }] }] }, files: [] });
    const failed = readEvents('you', (events) => events.some((e) => e.event === 'failed'));
    const click = await (await post('/playground/click', { user: 'you', message: buttons.id, customId: 'Keep' })).json();
    expect(fake.interaction(click.interaction).payload.data).toEqual({ custom_id: 'keep:1', component_type: 2 });
    fake.advanceTime(4_000);
    expect((await failed).find((e) => e.event === 'failed')!.data.message).toBe('The application did not respond');
    // Unknown buttons and commands get a plain reason.
    const wrong = await post('/playground/click', { user: 'you', message: buttons.id, customId: 'Nope' });
    expect(wrong.status).toBe(400);
    expect((await wrong.json()).message).toContain('has no button "Nope"');
  });

  it('switches your role to see permissions at work', async () => {
    const off = await (await post('/playground/me', { user: 'mod', moderator: false })).json();
    expect(fake.core.model.hasPermissions(fake.guild.id, off.id, ['ManageMessages'])).toBe(false);
    const on = await (await post('/playground/me', { user: 'mod', moderator: true })).json();
    expect(on).toMatchObject({ name: 'mod', moderator: true });
    expect(fake.core.model.hasPermissions(fake.guild.id, on.id, ['ManageMessages'])).toBe(true);
    expect((await post('/playground/me', { user: '<script>' })).status).toBe(400);
  });

  it('shows an ephemeral reply only to the user it answers', async () => {
    const channel = fake.channel('training').id;
    const you = fake.user('you');
    await fake.core.postMessage({ channelId: channel, authorId: fake.botUser.id, body: { content: 'just for you' }, files: [], flags: 64, interaction: { id: '1', type: 2, userId: you.id, name: 'help' } });
    const forYou = await (await fetch(`${fake.url}/playground/messages?user=you&channel=${channel}`)).json();
    const forOthers = await (await fetch(`${fake.url}/playground/messages?user=someone&channel=${channel}`)).json();
    expect(forYou.map((m: { content: string }) => m.content)).toContain('just for you');
    expect(forOthers.map((m: { content: string }) => m.content)).not.toContain('just for you');
  });

  it('asks for the password when one is set, and the Discord API and files stay as they are', async () => {
    expect((await fetch(`${locked.url}/`)).status).toBe(401);
    expect((await fetch(`${locked.url}/playground/state?user=you`)).status).toBe(401);
    const wrong = Buffer.from('x:nope').toString('base64');
    expect((await fetch(`${locked.url}/`, { headers: { authorization: `Basic ${wrong}` } })).status).toBe(401);
    const right = Buffer.from('anyone:open sesame').toString('base64');
    expect((await fetch(`${locked.url}/`, { headers: { authorization: `Basic ${right}` } })).status).toBe(200);
    expect((await fetch(`${locked.url}/api/v10/gateway`)).status).not.toBe(401);
  });
});
