// Progress messages: workers report progress through BullMQ; the bot edits one channel
// message per job. Edits are lossy on purpose: at most one per message every `minIntervalMs`,
// and the latest state wins, which keeps the bot under Discord's per-route rate limits.
import type { Client, MessageEditOptions } from 'discord.js';
import type { Logger } from '../core/log.js';

interface Pending {
  render: () => MessageEditOptions;
  timer?: NodeJS.Timeout;
  lastEdit: number;
  inFlight?: Promise<void>;
}

export class ProgressEditor {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly client: Client,
    private readonly log: Logger,
    private readonly minIntervalMs = 1500,
  ) {}

  /** Schedule an edit of a channel message; `final` edits are sent at once and always. */
  update(channelId: string, messageId: string, render: () => MessageEditOptions, final = false): Promise<void> {
    const key = `${channelId}/${messageId}`;
    const entry = this.pending.get(key) ?? { render, lastEdit: 0 };
    entry.render = render;
    this.pending.set(key, entry);
    const wait = final ? 0 : Math.max(0, entry.lastEdit + this.minIntervalMs - Date.now());
    if (entry.timer) {
      if (!final) return Promise.resolve();
      clearTimeout(entry.timer);
      entry.timer = undefined;
    }
    return new Promise((resolve) => {
      entry.timer = setTimeout(() => {
        entry.timer = undefined;
        entry.lastEdit = Date.now();
        const previous = entry.inFlight ?? Promise.resolve();
        entry.inFlight = previous.then(() => this.edit(channelId, messageId, entry.render()));
        void entry.inFlight.then(resolve);
        if (final) this.pending.delete(key);
      }, wait);
    });
  }

  private async edit(channelId: string, messageId: string, body: MessageEditOptions): Promise<void> {
    try {
      const channel = await this.client.channels.fetch(channelId);
      if (!channel?.isTextBased()) return;
      await channel.messages.edit(messageId, body);
    } catch (err) {
      this.log.warn({ err, channelId, messageId }, 'could not edit a progress message');
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
