// The playground's own store under DATA_DIR/playground: state.json (guild, channels, users,
// token, messages, registered commands) and files/<attachment id>. Kodiak's data stays where it
// always is (Redis and DATA_DIR); this keeps what Discord would have kept, so a restart shows
// the same channel and the bot finds the same guild.
import fs from 'node:fs';
import path from 'node:path';
import type { FakeDiscord } from './server/index.js';
import { attachmentIds, parseSnapshot, restoreFrom, serializeSnapshot, takeSnapshot, type Snapshot } from './server/snapshot.js';

const SAVE_DELAY_MS = 250;

export class PlaygroundStore {
  private readonly stateFile: string;
  private readonly filesDir: string;
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private stopWatching: (() => void) | undefined;

  constructor(readonly dir: string) {
    this.stateFile = path.join(dir, 'state.json');
    this.filesDir = path.join(dir, 'files');
    fs.mkdirSync(this.filesDir, { recursive: true });
  }

  /** The saved state, or undefined on a first start. A corrupt file stops start-up rather than being overwritten. */
  load(): Snapshot | undefined {
    if (!fs.existsSync(this.stateFile)) return undefined;
    let snapshot: Snapshot;
    try {
      snapshot = parseSnapshot(fs.readFileSync(this.stateFile, 'utf8'));
    } catch (err) {
      throw new Error(`the playground's saved state ${this.stateFile} is not readable (${(err as Error).message}); move it away to start afresh`);
    }
    if (snapshot.version !== 1) throw new Error(`the playground's saved state ${this.stateFile} has unknown version ${String(snapshot.version)}`);
    return snapshot;
  }

  /** The `restore` option for startFakeDiscord, or undefined when nothing was saved. */
  restore(): ReturnType<typeof restoreFrom> | undefined {
    const snapshot = this.load();
    return snapshot && restoreFrom(snapshot, (id) => this.readFile(id));
  }

  /** Saves shortly after every change (messages, reactions, commands, members) until `close`. */
  watch(fake: FakeDiscord): void {
    const schedule = (): void => {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.saving = this.saving.then(() => this.save(fake)).catch((err: unknown) => {
          process.stderr.write(`kodiak: the playground could not save its state: ${(err as Error).message}\n`);
        });
      }, SAVE_DELAY_MS);
    };
    const unsubscribe = fake.core.events.subscribe(schedule);
    fake.core.bus.on('dispatch', schedule);
    this.stopWatching = () => {
      unsubscribe();
      fake.core.bus.off('dispatch', schedule);
    };
  }

  /** Stops watching and writes the last state. */
  async close(fake: FakeDiscord): Promise<void> {
    this.stopWatching?.();
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.saving;
    await this.save(fake);
  }

  async save(fake: FakeDiscord): Promise<void> {
    const snapshot = takeSnapshot(fake.core);
    const wanted = attachmentIds(snapshot);
    const onDisk = new Set(await fs.promises.readdir(this.filesDir));
    for (const id of wanted) {
      if (onDisk.has(id)) continue;
      const file = fake.core.messages.files.get(id);
      if (file) await writeAtomically(path.join(this.filesDir, id), file.data);
    }
    await writeAtomically(this.stateFile, serializeSnapshot(snapshot));
    // Files of deleted messages go once the state that no longer names them is on disk.
    for (const name of onDisk) if (!wanted.has(name) && !name.endsWith('.tmp')) await fs.promises.rm(path.join(this.filesDir, name), { force: true });
  }

  private readFile(id: string): Buffer | undefined {
    if (!/^\d+$/.test(id)) return undefined;
    try {
      return fs.readFileSync(path.join(this.filesDir, id));
    } catch {
      return undefined;
    }
  }
}

async function writeAtomically(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.promises.writeFile(tmp, data);
  await fs.promises.rename(tmp, file);
}
