// What a progress message shows for a collection and a training: one bar per class while
// collecting, then the training stage. Pure: state in, message body out.
import { EmbedBuilder } from 'discord.js';
import type { CollectProgress, TrainProgress } from '../core/jobs.js';
import { progressBar } from './progress.js';

export interface ProgressState {
  title: string;
  collect: Map<string, CollectProgress>;
  train?: TrainProgress;
  footer?: string;
}

const STAGE_TEXT: Record<TrainProgress['stage'], string> = {
  waiting: 'waiting for a worker',
  backbone: 'loading the backbone (downloaded once)',
  embedding: 'computing image features',
  training: 'training the head',
  evaluation: 'evaluating on the validation set',
  'fine-tuning': 'fine-tuning the backbone',
  cleaning: 'looking for label errors and odd images',
  saving: 'saving the model',
};

export function collectLine(p: CollectProgress): string {
  const failed = Object.values(p.failed).reduce((a, b) => a + b, 0);
  const extras = [failed ? `${failed} failed` : '', p.duplicates ? `${p.duplicates} duplicate${p.duplicates === 1 ? '' : 's'}` : ''].filter(Boolean);
  return `\`${progressBar(p.kept, p.wanted)}\` **${p.className}**: ${p.kept}/${p.wanted} kept${extras.length ? ` (${extras.join(', ')})` : ''}`;
}

export function trainLine(p: TrainProgress): string {
  const bar = p.total > 0 ? `\`${progressBar(p.done, p.total)}\` ` : '';
  return `${bar}${STAGE_TEXT[p.stage]}${p.total > 0 ? ` ${p.done}/${p.total}` : ''}${p.detail ? `: ${p.detail}` : ''}`;
}

/** Typed as a plain body so it can be both sent and used as an edit. */
export function renderProgress(state: ProgressState): { embeds: EmbedBuilder[] } {
  const parts: string[] = [];
  if (state.collect.size) parts.push('**Collecting images**', ...[...state.collect.values()].map(collectLine));
  if (state.train) parts.push('**Training**', trainLine(state.train));
  const embed = new EmbedBuilder().setTitle(state.title.slice(0, 256)).setDescription(parts.join('\n').slice(0, 4096) || 'queued…');
  if (state.footer) embed.setFooter({ text: state.footer.slice(0, 2048) });
  return { embeds: [embed] };
}
