// `npx tsx workers/main.ts`: only the workers (for a machine that runs no bot, e.g. a GPU box).
import { loadDotEnv } from '../core/dotenv.js';
import { runWorkersStandalone } from './index.js';

loadDotEnv();
await runWorkersStandalone();
