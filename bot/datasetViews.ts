// What the /dataset commands show. Pure functions: data in, message text or embeds out. Every
// name that came from a user (dataset, class, provider text) is markdown-escaped here; the
// messages that carry them are sent with no allowed mentions.
import { ActionRowBuilder, ButtonBuilder, ButtonStyle, EmbedBuilder } from 'discord.js';
import { escapeMarkdown, sourceText } from '../core/render/markdown.js';
import type { AddSummary } from '../core/collect/collect.js';
import { providerLines } from '../core/collect/providerReport.js';
import type { ProviderReport } from '../core/jobs.js';
import type { DatasetItem, DatasetMeta } from '../core/store/types.js';
import { reasonLines } from './collectReports.js';
import { customId } from './types.js';

export const DELETE_PREFIX = 'dsdel';
export const CONTACT_SHEET_NAME = 'contact-sheet.png';

const plural = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;
const bold = (name: string) => `**${escapeMarkdown(name)}**`;
const fieldValue = (lines: string[], empty = 'none') => lines.join('\n').slice(0, 1024) || empty;

export function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export interface SplitCounts {
  train: number;
  valid: number;
}

/** Active images per class and split, every class listed (also the empty ones), in class order. */
export function countByClassAndSplit(classes: string[], items: DatasetItem[]): Map<string, SplitCounts> {
  const out = new Map<string, SplitCounts>(classes.map((c) => [c, { train: 0, valid: 0 }]));
  for (const item of items) {
    if (item.status !== 'active') continue;
    const counts = out.get(item.label) ?? { train: 0, valid: 0 };
    counts[item.split]++;
    out.set(item.label, counts);
  }
  return out;
}

/** Where images came from: "search via openverse", "upload", "zip", ... with counts, largest first. */
export function sourceCounts(items: DatasetItem[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const { source } of items) {
    const key = source.kind === 'search' && source.provider ? `search via ${source.provider}` : source.kind;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** Openverse-style codes, with or without a version: `by-sa`, `by 2.0`, `cc0 1.0`, `pdm`. */
const CC = /^(by(?:-nc)?(?:-sa|-nd)?)(?:\s+(\d+(?:\.\d+)?))?$/i;
const CC0 = /^cc0(?:\s+(\d+(?:\.\d+)?))?$/i;

/** A licence code as people know it: `by-sa 4.0` -> CC BY-SA 4.0, `cc0` -> CC0; others as given. */
export function licenceName(code: string | undefined): string {
  if (!code?.trim()) return 'not recorded';
  const c = code.trim();
  const cc = CC.exec(c);
  if (cc) return `CC ${cc[1]!.toUpperCase()}${cc[2] ? ` ${cc[2]}` : ''}`;
  const zero = CC0.exec(c);
  if (zero) return `CC0${zero[1] ? ` ${zero[1]}` : ''}`;
  if (/^pdm$/i.test(c)) return 'Public Domain Mark';
  return c;
}

export function licenceCounts(items: DatasetItem[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const item of items) {
    const name = licenceName(item.source.license);
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** /dataset show: counts per class and split, rejections by reason, sources and licences. */
export function datasetShowEmbed(meta: DatasetMeta, items: DatasetItem[], opts: { image?: boolean; collection?: Record<string, ProviderReport> } = {}): EmbedBuilder {
  const active = items.filter((i) => i.status === 'active');
  const perClass = countByClassAndSplit(meta.classes, active);
  const valid = active.filter((i) => i.split === 'valid').length;
  const header = [
    `${plural(active.length, 'image')} in ${plural(meta.classes.length, 'class', 'classes')}: ${active.length - valid} to train on, ${valid} held out for validation (${Math.round(meta.validPct * 100)}%).`,
    `Created <t:${Math.floor(meta.createdAt / 1000)}:R>${meta.createdBy ? ` by <@${meta.createdBy}>` : ''}; revision ${meta.revision}.`,
    '',
  ];
  const classLines = [...perClass].map(([label, c]) => `${bold(label)}: ${c.train + c.valid} (train ${c.train}, valid ${c.valid})${c.train + c.valid === 0 ? ' ⚠️ empty' : ''}`);
  const embed = new EmbedBuilder()
    .setTitle(`Dataset ${escapeMarkdown(meta.name)}`.slice(0, 256))
    .setDescription([...header, ...classLines].join('\n').slice(0, 4096))
    .addFields(
      { name: 'Rejected while collecting', value: fieldValue(reasonLines(meta.rejected)), inline: false },
      { name: 'Sources', value: fieldValue(sourceCounts(active).map(([s, n]) => `${escapeMarkdown(s)}: ${n}`)), inline: true },
      { name: 'Licences', value: fieldValue(licenceCounts(active).map(([l, n]) => `${escapeMarkdown(l)}: ${n}`)), inline: true },
    )
    .setFooter({ text: '/dataset export gives every image with labels.csv and attribution.csv (creator, licence, source).' });
  const sources = providerLines(opts.collection ?? {});
  if (sources.length) embed.addFields({ name: 'Where images came from (latest collection of each class)', value: fieldValue(sources.map((l) => escapeMarkdown(l))) });
  if (opts.image) embed.setImage(`attachment://${CONTACT_SHEET_NAME}`);
  return embed;
}

/** /dataset list: one line per dataset. */
export function datasetListText(entries: { meta: DatasetMeta; images: number }[]): string {
  if (entries.length === 0) return 'No datasets in this server yet. Start one with `/dataset create`.';
  const lines = entries.map(({ meta, images }) => `${bold(meta.name)}: ${plural(meta.classes.length, 'class', 'classes')}, ${plural(images, 'image')}`);
  return [`**Datasets in this server** (${entries.length})`, ...lines].join('\n').slice(0, 2000);
}

/** What /dataset create answers, saying when a name was changed to make it safe. */
export function createdText(meta: DatasetMeta, asked: string[]): string {
  const changed = asked.filter((raw, i) => raw !== meta.classes[i]);
  const lines = [
    `Created dataset ${bold(meta.name)} with ${plural(meta.classes.length, 'class', 'classes')}: ${meta.classes.map(bold).join(', ')}.`,
    changed.length ? `(Mentions and markdown were taken out of ${plural(changed.length, 'class name')}.)` : '',
    `Next: \`/dataset collect ${meta.name}\` fills it from image search, or \`/dataset add\` takes your own images, a URL list or a .zip.`,
  ];
  return lines.filter(Boolean).join('\n').slice(0, 2000);
}

/** The result of /dataset add. */
export function addSummaryText(name: string, summary: AddSummary): string {
  const perClass = Object.entries(summary.perClass).map(([label, n]) => `${bold(label)}: ${n}`);
  const notAdded = reasonLines(summary.failed);
  const lines = [
    `Added ${plural(summary.kept, 'image')} to ${bold(name)}${perClass.length ? ` (${perClass.join(', ')})` : ''} out of ${summary.total}.`,
    summary.addedClasses.length ? `New classes from the zip's folders: ${summary.addedClasses.map(bold).join(', ')}.` : '',
    summary.duplicates ? `${plural(summary.duplicates, 'duplicate')} of images already there skipped${skippedList(summary.skippedDuplicates)}.` : '',
    notAdded.length ? `Not added: ${notAdded.join('; ')}.` : '',
  ];
  return lines.filter(Boolean).join('\n').slice(0, 2000);
}

/** Which files were duplicates of which images (the first few), so a user can check them. */
function skippedList(skipped: AddSummary['skippedDuplicates'], max = 5): string {
  if (skipped.length === 0) return '';
  const shown = skipped.slice(0, max).map((d) => `${sourceText(d.source)} ${d.distance === undefined ? 'is' : 'looks like'} ${sourceText(d.of.source)} (${bold(d.of.label)})`);
  return `: ${shown.join('; ')}${skipped.length > max ? `; and ${skipped.length - max} more` : ''}`;
}

/** Adds up the summaries of several attachments. */
export function mergeAddSummaries(all: AddSummary[]): AddSummary {
  const out: AddSummary = { total: 0, kept: 0, duplicates: 0, failed: {}, perClass: {}, addedClasses: [], skippedDuplicates: [] };
  for (const s of all) {
    out.total += s.total;
    out.kept += s.kept;
    out.duplicates += s.duplicates;
    for (const [r, n] of Object.entries(s.failed)) out.failed[r] = (out.failed[r] ?? 0) + n;
    for (const [c, n] of Object.entries(s.perClass)) out.perClass[c] = (out.perClass[c] ?? 0) + n;
    out.addedClasses.push(...s.addedClasses.filter((c) => !out.addedClasses.includes(c)));
    out.skippedDuplicates.push(...s.skippedDuplicates);
  }
  return out;
}

/** What /dataset export says when the zip cannot be uploaded here. */
export function exportTooLargeText(name: string, guildId: string, bytes: number, limit: number): string {
  return [
    `The export of ${bold(name)} is about ${megabytes(bytes)}, over the ${megabytes(limit)} Discord lets a bot upload here.`,
    `On the machine that runs Kodiak, export it to a folder instead: \`kodiak dataset export ${name} ./${name} --guild ${guildId}\``,
  ].join('\n');
}

/** The confirm and cancel buttons of /dataset delete; their ids carry all a click needs. */
export function deleteButtons(guildId: string, name: string, requesterId: string): ActionRowBuilder<ButtonBuilder> {
  return new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(customId(DELETE_PREFIX, 'yes', guildId, name, requesterId)).setLabel('Delete').setStyle(ButtonStyle.Danger),
    new ButtonBuilder().setCustomId(customId(DELETE_PREFIX, 'no', guildId, name, requesterId)).setLabel('Cancel').setStyle(ButtonStyle.Secondary),
  );
}

export function deletePromptText(name: string, images: number): string {
  return `Delete dataset ${bold(name)} and its ${plural(images, 'image')}? This cannot be undone. Only the person who asked or someone with Manage Server can confirm.`;
}
