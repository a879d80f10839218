import { EmbedBuilder, MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import type { BotContext } from '../bot/types.js';
import { searchNotes, userAgent } from '../core/collect/identity.js';
import type { Config } from '../core/config.js';
import { QUEUE_NAMES } from '../core/jobs.js';
import { listWorkers, type WorkerInfo } from '../core/workerRegistry.js';

export const data = new SlashCommandBuilder().setName('status').setDescription('Health of Kodiak: Redis, queues, workers and their ML backends');

function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const [d, h, m] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60)];
  return d ? `${d}d ${h}h ${m}m` : h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
}

async function redisLatency(ctx: BotContext): Promise<string> {
  const start = performance.now();
  try {
    await ctx.redis.ping();
    return `reachable (${(performance.now() - start).toFixed(1)} ms)`;
  } catch (err) {
    return `unreachable: ${(err as Error).message}`;
  }
}

/** One worker for /status: where it runs, its backend, and its note (e.g. a backbone fallback). */
export function workerLine(w: WorkerInfo): string {
  return `${w.queue} on ${w.host} (pid ${w.pid}): ${w.backend}` + (w.note ? `\n⚠️ ${w.note}` : '');
}

/** What /status says about image search: who will refuse or throttle this configuration, and why. */
export function searchStatus(config: Config): string {
  const notes = searchNotes(config);
  const ua = `identifies as \`${userAgent(config.HTTP_CONTACT)}\`; providers: ${config.SEARCH_PROVIDERS.join(', ')}`;
  return [ua, ...notes.map((n) => `${n.kind === 'refused' ? '⚠️' : '⏳'} ${n.text}`)].join('\n').slice(0, 1024);
}

/** Whether dropped photos can be read: Discord sends their attachments only with the Message Content intent. */
export function messageContentStatus(config: Pick<Config, 'DISCORD_MESSAGE_CONTENT'>): string {
  return config.DISCORD_MESSAGE_CONTENT
    ? 'on: photos dropped in a channel with an active model are classified'
    : '⚠️ off: photos dropped in channels are not read, because the bot runs without the Message Content intent (DISCORD_MESSAGE_CONTENT=false). Switch on "Message Content Intent" in the Discord developer portal (your application -> Bot) and set DISCORD_MESSAGE_CONTENT=true; `/predict` works either way.';
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const [redis, workers] = await Promise.all([redisLatency(ctx), listWorkers(ctx.redis, ctx.config.QUEUE_PREFIX).catch(() => [] as WorkerInfo[])]);
  const queueLines = await Promise.all(
    QUEUE_NAMES.map(async (name) => {
      const queue = ctx.queues[name];
      const [counts, connected] = await Promise.all([
        queue.getJobCounts('waiting', 'active', 'delayed', 'failed'),
        queue.getWorkersCount().catch(() => 0),
      ]);
      const here = workers.filter((w) => w.queue === name);
      const backends = [...new Set(here.map((w) => w.backend))].join(', ');
      return `**${name}**: ${counts.waiting} waiting, ${counts.active} active, ${counts.delayed} delayed, ${counts.failed} failed; ${connected} worker${connected === 1 ? '' : 's'} connected${backends ? ` (${backends})` : ''}`;
    }),
  );
  const embed = new EmbedBuilder()
    .setTitle('Kodiak status')
    .addFields(
      { name: 'Redis', value: redis },
      { name: 'Queues', value: queueLines.join('\n').slice(0, 1024) },
      { name: 'Image search', value: searchStatus(ctx.config) },
      { name: 'Workers', value: workers.length ? workers.map(workerLine).join('\n').slice(0, 1024) : 'none announced' },
      { name: 'Bot', value: `version ${ctx.version}, up ${formatUptime(Date.now() - ctx.startedAt)}` },
      { name: 'Photo classification', value: messageContentStatus(ctx.config) },
    );
  await interaction.editReply({ embeds: [embed] });
}
