// Progress messages: workers report progress through BullMQ; the bot edits one channel
// message per job. Edits are lossy on purpose: at most one per message every `minIntervalMs`,
// and the latest state wins, which keeps the bot under Discord's per-route rate limits.
// In an archived thread Discord refuses every edit (50083) until a message unarchives it, so
// intermediate edits there are skipped rather than sent to be refused one per progress event.
import { Events, type Client, type MessageEditOptions } from 'discord.js';
import type { Logger } from '../core/log.js';
import { discordCode, refusesMessages, THREAD_ARCHIVED } from './resultPost.js';

/** A progress event, a job's final state, or the final state again after the result unarchived the thread. */
type EditMode = 'progress' | 'final' | 'after-post';

/** Threads remembered as archived; past this the oldest are forgotten (one refused edit each). */
const MAX_ARCHIVED = 1000;

interface Pending {
  render: () => MessageEditOptions;
  timer?: NodeJS.Timeout;
  lastEdit: number;
  inFlight?: Promise<boolean>;
}

export class ProgressEditor {
  private readonly pending = new Map<string, Pending>();
  /** Threads where an edit was refused as archived, for when the cache did not know. */
  private readonly archived = new Set<string>();

  constructor(
    private readonly client: Client,
    private readonly log: Logger,
    private readonly minIntervalMs = 1500,
  ) {
    // Unarchived (a message in it, or a moderator): the thread takes edits again.
    client.on(Events.ThreadUpdate, (_old, thread) => {
      if (!thread.archived) this.archived.delete(thread.id);
    });
  }

  /**
   * Schedule an edit of a channel message; `final` edits are sent at once and always. Resolves
   * true when the edit was held back because the message is in an archived thread.
   */
  update(channelId: string, messageId: string, render: () => MessageEditOptions, final = false): Promise<boolean> {
    return this.schedule(channelId, messageId, render, final ? 'final' : 'progress');
  }

  /**
   * The end of a job: the final edit, then `post` (the result). In a thread archived meanwhile
   * the post unarchives it, so a final edit held back is tried once more after it.
   */
  async finish(channelId: string, messageId: string, render: () => MessageEditOptions, post: () => Promise<unknown>): Promise<void> {
    const held = await this.update(channelId, messageId, render, true);
    await post();
    if (held) await this.schedule(channelId, messageId, render, 'after-post');
  }

  private schedule(channelId: string, messageId: string, render: () => MessageEditOptions, mode: EditMode): Promise<boolean> {
    const key = `${channelId}/${messageId}`;
    const final = mode !== 'progress';
    const entry = this.pending.get(key) ?? { render, lastEdit: 0 };
    entry.render = render;
    this.pending.set(key, entry);
    const wait = final ? 0 : Math.max(0, entry.lastEdit + this.minIntervalMs - Date.now());
    if (entry.timer) {
      if (!final) return Promise.resolve(false);
      clearTimeout(entry.timer);
      entry.timer = undefined;
    }
    return new Promise((resolve) => {
      entry.timer = setTimeout(() => {
        entry.timer = undefined;
        entry.lastEdit = Date.now();
        const previous = entry.inFlight ?? Promise.resolve(false);
        const edit = previous.then(() => this.edit(channelId, messageId, entry.render(), mode));
        entry.inFlight = edit;
        void edit.then(resolve);
        if (final) this.pending.delete(key);
      }, wait);
    });
  }

  /**
   * One edit; true when held back by an archived thread. Progress and first final edits skip a
   * thread known archived (each would be refused with 50083); the one after the result's post
   * is tried unless the thread is also locked (then the post went to the parent and the thread
   * stays archived). Never throws: a progress message must not fail the job reporting a result.
   */
  private async edit(channelId: string, messageId: string, body: MessageEditOptions, mode: EditMode): Promise<boolean> {
    try {
      const channel = await this.client.channels.fetch(channelId);
      if (!channel?.isTextBased()) return false;
      const archived = channel.isThread() && channel.archived === true;
      if (mode !== 'after-post' && (archived || this.archived.has(channelId))) return true;
      if (mode === 'after-post' && archived && channel.isThread() && refusesMessages(channel)) return true;
      await channel.messages.edit(messageId, body);
      return false;
    } catch (err) {
      if (discordCode(err) === THREAD_ARCHIVED) {
        // Logged once per thread: the edits skipped after this one are expected.
        if (!this.archived.has(channelId)) this.log.info({ channelId, messageId, mode }, 'the progress message is in an archived thread; not editing it until the thread is unarchived');
        this.archived.add(channelId);
        if (this.archived.size > MAX_ARCHIVED) this.archived.delete(this.archived.values().next().value!);
        return true;
      }
      this.log.warn({ err, channelId, messageId }, 'could not edit a progress message');
      return false;
    }
  }

  stop(): void {
    for (const entry of this.pending.values()) if (entry.timer) clearTimeout(entry.timer);
    this.pending.clear();
  }
}

/** A text progress bar like `██████░░░░ 60%`. */
export function progressBar(done: number, total: number, width = 12): string {
  const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const full = Math.round(frac * width);
  return `${'█'.repeat(full)}${'░'.repeat(width - full)} ${Math.round(frac * 100)}%`;
}
