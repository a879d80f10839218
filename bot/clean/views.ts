// What the cleaner looks like in Discord: the summary, one message per suspect (text, image,
// buttons or a class menu, the reaction legend), the decided state with its Undo button, the
// "show more" footer and /clean's progress. Pure rendering plus the image preparation.
import type { Job } from 'bullmq';
import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  EmbedBuilder,
  ModalBuilder,
  StringSelectMenuBuilder,
  TextInputBuilder,
  TextInputStyle,
  type MessageActionRowComponentBuilder,
  type MessageEditOptions,
} from 'discord.js';
import sharp from 'sharp';
import type { Decision } from '../../core/clean/decisions.js';
import type { CleanProgress } from '../../core/clean/runClean.js';
import { cleanPayload } from '../../core/jobs.js';
import { escapeMarkdown, sourceText } from '../../core/render/markdown.js';
import { isPairKind, type CleanReport, type Suspect, type SuspectKind } from '../../core/clean/types.js';
import type { BlobStore } from '../../core/store/types.js';
import { progressBar } from '../progress.js';
import { customId } from '../types.js';

export const CLEAN_PREFIX = 'clean';
/** Up to this many other classes get one button each; more get a select menu. */
export const MAX_RELABEL_BUTTONS = 4;
export const DEFAULT_PAGE = 10;
/** The job name /clean uses, so its progress (and not the training's clean stage) is rendered. */
export const CLEAN_COMMAND_JOB = 'clean-command';

export const KEEP_EMOJI = '✅';
export const DELETE_EMOJI = '🗑️';
export const NUMBER_EMOJIS = ['1️⃣', '2️⃣', '3️⃣', '4️⃣', '5️⃣', '6️⃣', '7️⃣', '8️⃣', '9️⃣'];

/** Button actions as they appear in custom_ids: clean:<reportId>:<index>:<action>[:<class index>]. */
export type ButtonAction = 'keep' | 'del' | 'rl' | 'rs' | 'rm' | 'dl' | 'dr' | 'kb' | 'undo' | 'more';

const KIND_TITLE: Record<SuspectKind, string> = {
  label: '🏷️ Label issue',
  leak: '🔀 In training and validation',
  duplicate: '👯 Duplicate',
  outlier: '❓ Outlier',
  quality: '🖼️ Image quality',
};

const pct = (p: number) => `${Math.round(p * 100)}%`;
const q = (s: string) => `**${escapeMarkdown(s)}**`;
const when = (ms: number) => `<t:${Math.floor(ms / 1000)}:R>`;

/** Emoji names arrive with or without the variation selector; compare without it. */
export function bareEmoji(name: string | null | undefined): string {
  return (name ?? '').replace(/\uFE0F/g, '');
}

/**
 * The classes a suspect can be relabelled to: the model's suggestion first (it is the likely
 * answer, and on a dataset with many classes it must not fall outside the menu or the nine
 * number reactions), then the others in class order. `j` is the class's index in the report.
 */
export function relabelChoices(report: Pick<CleanReport, 'classes'>, s: Suspect): { c: string; j: number }[] {
  const others = report.classes.map((c, j) => ({ c, j })).filter(({ c }) => c !== s.label);
  return [...others.filter(({ c }) => c === s.suggested), ...others.filter(({ c }) => c !== s.suggested)];
}

/** The select option that opens a modal where any class can be typed (past 25 choices). */
export const OTHER_CLASS = 'other';
/** The text input of that modal. */
export const CLASS_INPUT = 'class';

/** The modal of "Another class…": one text field, the class name as it is written. */
export function relabelModal(report: CleanReport, index: number): ModalBuilder {
  const s = report.suspects[index]!;
  const input = new TextInputBuilder()
    .setCustomId(CLASS_INPUT)
    .setLabel('Class name')
    .setStyle(TextInputStyle.Short)
    .setRequired(true)
    .setMaxLength(100)
    .setPlaceholder(`one of the ${report.classes.length} classes, e.g. ${relabelChoices(report, s).at(-1)?.c ?? ''}`.slice(0, 100));
  return new ModalBuilder()
    .setCustomId(customId(CLEAN_PREFIX, report.id, index, 'rm'))
    .setTitle(`Relabel ${index + 1}/${report.suspects.length} as…`.slice(0, 45))
    .addComponents(new ActionRowBuilder<TextInputBuilder>().addComponents(input));
}

/** The reactions this suspect understands, as the legend lists them. */
export function reactionLegend(report: CleanReport, s: Suspect): string {
  if (isPairKind(s.kind)) return `React ${KEEP_EMOJI} keep both · ${DELETE_EMOJI} delete the right one`;
  const relabels = relabelChoices(report, s)
    .slice(0, NUMBER_EMOJIS.length)
    .map(({ c }, n) => `${NUMBER_EMOJIS[n]} ${escapeMarkdown(c)}`);
  return `React ${KEEP_EMOJI} keep · ${DELETE_EMOJI} delete${relabels.length ? ` · relabel: ${relabels.join(' · ')}` : ''}`;
}

/** "labelled X; looks like Y (87%)", or the reason for the other kinds. */
export function suspectHeadline(s: Suspect): string {
  if (s.kind === 'label' && s.suggested) {
    const p = s.probs?.[s.suggested];
    return `labelled ${q(s.label)}; looks like ${q(s.suggested)}${p !== undefined ? ` (${pct(p)})` : ''}`;
  }
  if (s.kind === 'leak' && s.pairWith) {
    return `left in training, right in validation: ${escapeMarkdown(s.reason)}`;
  }
  if (s.kind === 'duplicate' && s.pairWith) {
    return `left labelled ${q(s.label)}, right labelled ${q(s.pairWith.label)}: ${escapeMarkdown(s.reason)}`;
  }
  return `labelled ${q(s.label)}; ${escapeMarkdown(s.reason)}`;
}

export function suspectText(report: CleanReport, index: number): string {
  const s = report.suspects[index]!;
  const sources = s.pairWith ? `left ${sourceText(s.source)}\nright ${sourceText(s.pairWith.source)}` : sourceText(s.source);
  return [`**${index + 1}/${report.suspects.length}** ${KIND_TITLE[s.kind]}: ${suspectHeadline(s)}`, sources, reactionLegend(report, s)].join('\n').slice(0, 1900);
}

export function decisionLine(d: Decision, s: Suspect): string {
  const side = s.pairWith ? (d.itemId === s.id ? 'left: ' : 'right: ') : '';
  const what =
    d.action.type === 'keep'
      ? `${KEEP_EMOJI} ${side}kept as ${q(d.from)}`
      : d.action.type === 'relabel'
        ? `🏷️ ${side}relabelled ${q(d.from)} → ${q(d.to)}`
        : `${DELETE_EMOJI} ${side}deleted (moved to the trash)`;
  return `${what} by ${q(d.by.name)} ${when(d.at)}`;
}

/** For "already decided": what was decided, by whom and when. */
export function alreadyDecidedText(d: Decision, s: Suspect): string {
  return `This was already decided by ${q(d.by.name)} ${when(d.at)}: ${decisionLine(d, s).replace(/ by \*\*.*$/, '')}.`;
}

type Row = ActionRowBuilder<MessageActionRowComponentBuilder>;
const row = (...components: MessageActionRowComponentBuilder[]): Row => new ActionRowBuilder<MessageActionRowComponentBuilder>().addComponents(...components);
const button = (id: string, label: string, style: ButtonStyle, emoji?: string) => {
  const b = new ButtonBuilder().setCustomId(id).setLabel(label.slice(0, 80)).setStyle(style);
  return emoji ? b.setEmoji(emoji) : b;
};

export function actionRows(report: CleanReport, index: number): Row[] {
  const s = report.suspects[index]!;
  const id = (action: ButtonAction, arg?: number) => customId(CLEAN_PREFIX, report.id, index, action, ...(arg === undefined ? [] : [arg]));
  if (isPairKind(s.kind)) {
    return [row(button(id('dl'), 'Delete left', ButtonStyle.Danger), button(id('dr'), 'Delete right', ButtonStyle.Danger), button(id('kb'), 'Keep both', ButtonStyle.Success))];
  }
  const others = relabelChoices(report, s);
  const rows = [row(button(id('keep'), 'Keep', ButtonStyle.Success, KEEP_EMOJI), button(id('del'), 'Delete', ButtonStyle.Danger, DELETE_EMOJI))];
  if (others.length > 0 && others.length <= MAX_RELABEL_BUTTONS) {
    rows.push(row(...others.map(({ c, j }) => button(id('rl', j), `Relabel → ${c}`, c === s.suggested ? ButtonStyle.Primary : ButtonStyle.Secondary))));
  } else if (others.length > MAX_RELABEL_BUTTONS) {
    const menu = new StringSelectMenuBuilder()
      .setCustomId(id('rs'))
      .setPlaceholder(s.suggested ? `Relabel (suggested: ${s.suggested})`.slice(0, 150) : 'Relabel as…')
      .addOptions(menuOptions(others));
    rows.push(row(menu));
  }
  return rows;
}

/** Up to 25 options; past that, 24 classes and "Another class…", which opens a modal that reaches every class. */
function menuOptions(choices: { c: string; j: number }[]): { label: string; value: string }[] {
  const option = ({ c, j }: { c: string; j: number }) => ({ label: c.slice(0, 100), value: String(j) });
  if (choices.length <= 25) return choices.map(option);
  return [...choices.slice(0, 24).map(option), { label: `Another class… (${choices.length - 24} more)`, value: OTHER_CLASS }];
}

export function undoRow(report: CleanReport, index: number): Row {
  return row(button(customId(CLEAN_PREFIX, report.id, index, 'undo'), 'Undo', ButtonStyle.Secondary, '↩️'));
}

/** The message body of a suspect: its actions while open, who decided what plus Undo once decided. */
export function suspectBody(report: CleanReport, index: number, decisions: Decision[]): { content: string; components: Row[] } {
  const s = report.suspects[index]!;
  const text = suspectText(report, index);
  if (decisions.length === 0) return { content: text, components: actionRows(report, index) };
  return { content: `${text}\n${decisions.map((d) => decisionLine(d, s)).join('\n')}`.slice(0, 2000), components: [undoRow(report, index)] };
}

/** The summary posted before the suspects: counts per kind, label-noise estimate per class. */
export function summaryMessage(report: CleanReport): { embeds: EmbedBuilder[]; allowedMentions: { parse: [] } } {
  const { summary } = report;
  const name = report.dataset?.name ?? 'dataset';
  const c = summary.counts;
  const lines = [
    // `?? 0`: a report stored before leaks were a kind has no count for them.
    `${summary.nItems} images checked; **${report.suspects.length} suspects**: ${c.label} label issues, ${c.leak ?? 0} pictures in both training and validation, ${c.duplicate} duplicates, ${c.outlier} outliers, ${c.quality} image-quality issues.`,
  ];
  if (summary.labelView === 'confident') {
    lines.push(
      `Label issues by confident learning on out-of-fold probabilities (${summary.folds ?? '?'} folds × ${summary.repeats ?? 1}): every image is judged by a model that never saw its label.` +
        (summary.outOfFoldAccuracy !== undefined ? ` Out-of-fold accuracy ${pct(summary.outOfFoldAccuracy)}.` : '') +
        (summary.estimatedLabelErrors !== undefined ? ` About ${Math.round(summary.estimatedLabelErrors)} wrong labels estimated.` : ''),
    );
  } else if (summary.labelView === 'top-losses') {
    lines.push('Label issues by in-sample top losses (the lesson\'s view).');
  }
  const noise = Object.entries(summary.noiseRate);
  if (noise.length) {
    const width = Math.min(24, Math.max(5, ...noise.map(([k]) => k.length)));
    lines.push('Estimated wrong labels per class:', '```', ...noise.map(([k, v]) => `${k.slice(0, width).padEnd(width)}  ${pct(v).padStart(4)}`), '```');
  }
  if (summary.skippedKept) lines.push(`${summary.skippedKept} suspect(s) not shown again: someone kept them at their label.`);
  lines.push(...summary.notes.map((n) => `_${escapeMarkdown(n)}_`));
  const embed = new EmbedBuilder()
    .setTitle(`Suspects in ${name}`.slice(0, 256))
    .setDescription(lines.join('\n').slice(0, 4096))
    .setFooter({ text: `Decide with the buttons or reactions (${KEEP_EMOJI} keep · ${DELETE_EMOJI} delete · 1️⃣… relabel); needs Manage Messages or the cleaner role. Then /train ${name} retrains on the fixed labels.`.slice(0, 2048) });
  return { embeds: [embed], allowedMentions: { parse: [] } };
}

/** The footer under a page: how far the list goes, and the button for the next page. */
export function pageFooter(report: CleanReport, shownUpTo: number, pageSize: number): { content: string; components: Row[] } {
  const total = report.suspects.length;
  const next = Math.min(pageSize, total - shownUpTo);
  return {
    content: `Showing suspects 1–${shownUpTo} of ${total}.`,
    components: next > 0 ? [row(button(customId(CLEAN_PREFIX, report.id, shownUpTo, 'more', pageSize), `Show ${next} more`, ButtonStyle.Primary))] : [],
  };
}

const SIDE = 320;

async function thumbnail(bytes: Buffer, height = SIDE): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(bytes).rotate().resize({ height, width: Math.round(height * 2), fit: 'inside', withoutEnlargement: false }).jpeg({ quality: 85 }).toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** The suspect's image, or a duplicate pair side by side (left = first, right = second). */
export async function suspectImage(blobs: BlobStore, s: Suspect, index: number): Promise<AttachmentBuilder | undefined> {
  try {
    const left = await thumbnail(await blobs.get(s.id));
    if (!s.pairWith) return new AttachmentBuilder(left.data, { name: `suspect-${index + 1}.jpg` });
    const right = await thumbnail(await blobs.get(s.pairWith.id));
    const gap = 12;
    const data = await sharp({ create: { width: left.width + gap + right.width, height: SIDE, channels: 3, background: { r: 255, g: 255, b: 255 } } })
      .composite([{ input: left.data, left: 0, top: 0 }, { input: right.data, left: left.width + gap, top: 0 }])
      .jpeg({ quality: 85 })
      .toBuffer();
    return new AttachmentBuilder(data, { name: `duplicate-${index + 1}.jpg` });
  } catch {
    // A missing blob should not stop the other suspects from being posted.
    return undefined;
  }
}

const STAGE_TEXT: Record<CleanProgress['stage'], string> = {
  embedding: 'reading image features (cached after a training)',
  folds: 'training out-of-fold heads',
  checks: 'checking duplicates, outliers and image quality',
  done: 'done',
};

/** /clean's progress message: queued (no progress yet), a stage with its bar, or done. */
export function cleanProgressBody(name: string, p?: CleanProgress): { embeds: EmbedBuilder[] } {
  const title = p?.stage === 'done' ? `Cleaned ${name}: ${p.suspects ?? 0} suspects (posted below)` : `Cleaning ${name}`;
  const line = !p ? 'queued…' : p.stage === 'done' ? 'done' : `\`${progressBar(p.done, p.total)}\` ${STAGE_TEXT[p.stage]} ${p.done}/${p.total}`;
  return { embeds: [new EmbedBuilder().setTitle(title.slice(0, 256)).setDescription(line)] };
}

/** The renderer for the clean queue; the training's clean stage keeps the training's message as it is. */
export async function renderCleanProgress(job: Job, data: unknown): Promise<MessageEditOptions | undefined> {
  if (job.name !== CLEAN_COMMAND_JOB || !data || typeof data !== 'object') return undefined;
  return cleanProgressBody(cleanPayload.safeParse(job.data).data?.dataset.name ?? '', data as CleanProgress);
}
