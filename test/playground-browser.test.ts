// The playground in a real browser (Debian's chromium, driven by puppeteer-core): /train with
// classes through the command picker, the progress message filling in, Relabel on a suspect
// (after switching on Manage Messages), a dropped photo classified, and /sgd's GIF. A
// screenshot of each step goes to test-results/playground/. Needs chromium (.ci/run installs it).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { startPlayground, type Playground } from '../playground/start.js';
import { startImageHost, type ImageHost } from './fakes/imagehost/server.js';
import { startFakeSearch, type FakeImage, type FakeSearch } from './fakes/search/server.js';
import { syntheticImages } from './fixtures/images.js';
import { startModelMirror, type ModelMirror } from './fixtures/modelMirror.js';
import { startStack, type TestStack } from './helpers/stack.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => fs.existsSync(p));
const ARTIFACTS = path.resolve('test-results/playground');
const BEARS = ['grizzly bear', 'black bear', 'teddy bear'];
const PER_CLASS = 16;
/** The i-th search result of class c shows class c+1: a wrong label for the cleaner to find. */
const FLIP_AT = [3, 7, 11];

let host: ImageHost;
let search: FakeSearch;
let mirror: ModelMirror;
let playground: Playground;
let stack: TestStack;
let browser: Browser;
let page: Page;
const pictures = new Map<number, Buffer>();
let photo: Buffer;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kodiak-browser-'));

function catalogue(query: string): FakeImage[] {
  const c = BEARS.indexOf(query);
  if (c < 0) return [];
  return Array.from({ length: PER_CLASS }, (_, i) => {
    const shown = FLIP_AT[c] === i ? (c + 1) % BEARS.length : c;
    return { url: `${host.url}/img/${1000 * (shown + 1) + i}.jpg`, title: `${query} ${i}`, creator: 'Test', license: 'cc0' };
  });
}

/** Screenshots the page with message `id` (default: the last one) scrolled into view. */
async function shot(name: string, id?: string): Promise<void> {
  await page.evaluate((target) => {
    const el = target ? document.getElementById(`m-${target}`) : document.querySelector('.message:last-child');
    el?.scrollIntoView({ block: 'end' });
  }, id ?? '');
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/** Waits until some message on the page has text matching `pattern`; returns its id. */
async function messageMatching(pattern: RegExp, timeout = 60_000): Promise<string> {
  const handle = await page.waitForFunction((source: string) => {
    const re = new RegExp(source);
    return [...document.querySelectorAll('.message')].reverse().find((m) => re.test((m as HTMLElement).innerText))?.getAttribute('data-id') ?? false;
  }, { timeout, polling: 200 }, pattern.source);
  return (await handle.jsonValue()) as string;
}

/** Types "/<command>" in the composer, picks it, fills the form and runs it. */
async function runCommand(command: string, options: Record<string, string>): Promise<void> {
  await page.click('#composer');
  await page.type('#composer', `/${command}`);
  await page.waitForSelector(`.pick[data-path="${command}"]`);
  await page.click(`.pick[data-path="${command}"]`);
  await page.waitForSelector(`.command-form[data-command="${command}"]`);
  for (const [name, value] of Object.entries(options)) await page.type(`.command-form [data-option="${name}"]`, value);
  await page.click('.command-form button[type=submit]');
  await page.waitForFunction(() => !document.querySelector('.command-form'));
}

beforeAll(async () => {
  if (!CHROMIUM) return;
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const generated = await syntheticImages(PER_CLASS + 1, { size: 96, seed: 7 });
  const seen = [0, 0, 0];
  for (const img of generated) pictures.set(1000 * (img.classIndex + 1) + seen[img.classIndex]!++, img.bytes);
  photo = pictures.get(1000 + PER_CLASS)!;
  host = await startImageHost({ imageFor: (seed) => (pictures.has(seed) ? Promise.resolve(pictures.get(seed)!) : undefined) });
  search = await startFakeSearch({ images: (_p, query) => catalogue(query) });
  mirror = await startModelMirror();
  const env = { SEARCH_PROVIDERS: 'openverse', OPENVERSE_URL: search.url, MODEL_MIRROR_URL: mirror.url, DOWNLOAD_RETRIES: '0', CLEAN_REPEATS: '1', EMBED_THREADS: '1' };
  playground = await startPlayground(loadConfig({ DATA_DIR: dataDir, PLAYGROUND_PORT: '0', ...env }), createLogger('silent'));
  stack = await startStack({ bot: true, env: { ...env, ...playground.env } });
  await playground.fake.waitForCommands(['train', 'sgd', 'model']);
  browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--headless=new'] });
  page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 800 });
  await page.goto(`${playground.url}/`, { waitUntil: 'networkidle2' });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await playground?.close();
  await Promise.all([search?.close(), host?.close(), mirror?.close()]);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe.skipIf(!CHROMIUM)('the playground in a browser', () => {
  it('trains through the picker, relabels a suspect, classifies a dropped photo and shows /sgd', async () => {
    await page.waitForSelector('.channel-link.active');
    await shot('01-page');

    // /train with classes, through the command picker.
    await runCommand('train', { name: 'bears', classes: BEARS.join(', '), images: String(PER_CLASS) });
    await messageMatching(/Created \*?\*?bears|Created bears/);
    await shot('02-progress', await messageMatching(/collect/i));
    await shot('03-report', await messageMatching(/Model bears v1/, 240_000));

    // A suspect: switch on Manage Messages, then Relabel, and the message says who did it.
    const relabel = await page.waitForFunction(() => {
      const button = [...document.querySelectorAll('.message button.button:not([disabled])')].find((b) => (b as HTMLElement).innerText.startsWith('Relabel →'));
      return button ? [button.closest('.message')!.getAttribute('data-id'), button.getAttribute('data-custom-id')] : false;
    }, { timeout: 240_000, polling: 250 });
    const [suspectId, customId] = (await relabel.jsonValue()) as [string, string];
    // "You" start with Manage Messages (the commands that change things need it); keep it on.
    if (!(await page.$eval('#me-moderator', (box) => (box as HTMLInputElement).checked))) await page.click('#me-moderator');
    await page.waitForFunction(() => {
      const box = document.querySelector('#me-moderator') as HTMLInputElement;
      return box.checked && !box.disabled;
    });
    // Messages are re-drawn as they change (the bot adds its reactions, the role switch reloads
    // the channel), so the button is looked up and clicked in one step in the page.
    await page.waitForFunction(([id, custom]) => {
      const button = document.querySelector(`#m-${id} button[data-custom-id="${custom}"]`) as HTMLButtonElement | null;
      button?.scrollIntoView({ block: 'center' });
      button?.click();
      return Boolean(button);
    }, { polling: 250 }, [suspectId, customId]);
    await page.waitForFunction((id) => /relabelled .* by you/.test((document.getElementById(`m-${id}`) as HTMLElement | null)?.innerText ?? ''), { timeout: 30_000 }, suspectId);
    await shot('04-relabelled', suspectId);

    // /model use bears, then a photo dropped on the page is sent and classified.
    await runCommand('model use', { name: 'bears' });
    await messageMatching(/bears/);
    await page.evaluate((base64: string) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'grizzly.jpg', { type: 'image/jpeg' }));
      document.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, photo.toString('base64'));
    await page.waitForSelector('.chip');
    await page.click('#send');
    const prediction = await messageMatching(/grizzly bear \(\d+(\.\d+)?%\)/, 90_000);
    await shot('05-prediction', prediction);

    // /sgd posts its animation: a GIF shown inline.
    await runCommand('sgd', {});
    const gif = await page.waitForSelector('.message img[src$=".gif"]', { timeout: 120_000 });
    await shot('06-sgd', await gif!.evaluate((img) => img.closest('.message')!.getAttribute('data-id')!));
    expect(fs.readdirSync(ARTIFACTS)).toEqual(expect.arrayContaining(['01-page.png', '03-report.png', '04-relabelled.png', '05-prediction.png', '06-sgd.png']));
  }, 600_000);
});
