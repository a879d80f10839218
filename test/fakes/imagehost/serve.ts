// The fake image host as its own process, for the download benchmark: the host's memory (every
// picture held in RAM, as a real server's cache would) and its event loop stay out of the
// measured process, as a remote host's would. It still shares the machine's cores.
//   tsx test/fakes/imagehost/serve.ts --dir <folder of 0.jpg, 1.jpg, ...> --n <count> --latency <ms> --hosts <a,b,...>
// Prints one line of JSON, {"urls": [...]}, once listening; exits when stdin closes.
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startImageHost } from './server.js';

const { values } = parseArgs({ options: { dir: { type: 'string' }, n: { type: 'string' }, latency: { type: 'string' }, hosts: { type: 'string' } } });
if (!values.dir || !values.n) throw new Error('serve.ts: --dir and --n are required');
const dir = values.dir;
const pictures = await Promise.all(Array.from({ length: Number(values.n) }, (_, i) => fs.readFile(path.join(dir, `${i}.jpg`))));
const host = await startImageHost({
  hosts: values.hosts?.split(','),
  latencyMs: Number(values.latency ?? 0),
  imageFor: (seed) => (pictures[seed] ? Promise.resolve(pictures[seed]) : undefined),
});
process.stdout.write(`${JSON.stringify({ urls: host.urls })}\n`);
process.stdin.resume();
process.stdin.on('end', () => void host.close().then(() => process.exit(0)));
