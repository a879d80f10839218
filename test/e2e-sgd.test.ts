// /sgd end to end: the real bot in the fake Discord posts the animation, the loss curve and
// the summary; a learning rate that is too high is reported as diverging.
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectNoInvalidRequests, startKodiak, type Kodiak } from './helpers/harness.js';

let k: Kodiak;

// Discord bans an application after 10,000 invalid requests: normal flows make none.
afterEach(() => expectNoInvalidRequests(k));
beforeAll(async () => {
  k = await startKodiak({ queues: [] });
});
afterAll(async () => {
  await k?.stop();
});

async function fetchBytes(url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.ok).toBe(true);
  return Buffer.from(await res.arrayBuffer());
}

describe('/sgd against the fake Discord', () => {
  it('posts a GIF of the fitted line, the loss curve and the summary', async () => {
    const handle = await k.fake.user('alice').runCommand('sgd', { lr: 0.1, steps: 100 });
    // Rendering takes a few seconds, longer on a busy machine: the reply was deferred in time.
    const reply = await handle.reply({ timeout: 45_000 });
    const names = reply.attachments.map((a) => a.filename).sort();
    expect(names).toEqual(['sgd-loss.png', 'sgd.gif']);
    const embed = reply.embeds[0]!;
    expect(embed.image?.url).toBe('attachment://sgd.gif');
    const body = [embed.title, embed.description, ...(embed.fields ?? []).flatMap((f) => [f.name, f.value])].join('\n');
    expect(body.toLowerCase()).toContain('learning rate');
    expect(body).toMatch(/mini-batch/i);
    expect(body).toMatch(/3[.,]?\d*.*2/); // the true parameters are shown

    const gif = await fetchBytes(reply.attachments.find((a) => a.filename === 'sgd.gif')!.url);
    const meta = await sharp(gif, { animated: true }).metadata();
    expect(meta.format).toBe('gif');
    expect(meta.pages).toBeGreaterThan(10);
  }, 60_000);

  it('says a learning rate of 1.5 diverges', async () => {
    const reply = await (await k.fake.user('alice').runCommand('sgd', { lr: 1.5, steps: 50 })).reply({ timeout: 45_000 });
    const embed = reply.embeds[0]!;
    expect([embed.title, embed.description].join('\n')).toMatch(/diverg/i);
  }, 60_000);
});
