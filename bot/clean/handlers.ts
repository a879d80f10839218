// The cleaner's buttons, class menu and reactions. Everything a click needs is in its custom_id
// (clean:<reportId>:<index>:<action>[:<arg>]) and the report is in Redis, so buttons keep
// working after a restart; a reaction finds its suspect through the message id map.
//
// Reactions cannot answer privately, so: an applied decision edits the message like a button;
// a reaction by someone not allowed is removed (when the bot may) and changes nothing, silently;
// a reaction on a decided item is removed and answered with a short reply that mentions no one.
import { MessageFlags, type GuildMember, type Message, type MessageReaction, type PartialMessage, type PartialMessageReaction } from 'discord.js';
import type { Decider } from '../../core/clean/decisions.js';
import type { StoredCleanReport } from '../../core/clean/runClean.js';
import { isPairKind, type Suspect } from '../../core/clean/types.js';
import { UserError } from '../../core/errors.js';
import { escapeMarkdown } from '../../core/render/markdown.js';
import {
  currentDecisions,
  decideSuspect,
  mayDecide,
  notAllowedText,
  requireReport,
  requireSuspect,
  suspectOfMessage,
  undoSuspect,
  type SuspectAction,
  type SuspectDecideResult,
} from './decisions.js';
import { claimPage, postPage } from './posting.js';
import {
  alreadyDecidedText, bareEmoji, CLASS_INPUT, CLEAN_PREFIX, DEFAULT_PAGE, DELETE_EMOJI, KEEP_EMOJI, NUMBER_EMOJIS, OTHER_CLASS, relabelChoices, relabelModal, suspectBody,
} from './views.js';
import { findClass } from '../../core/store/classNames.js';
import type { BotContext, ComponentHandler, ComponentInteraction, ReactionHandler } from '../types.js';

function buttonAction(action: string, arg: string | undefined, interaction: ComponentInteraction, report: StoredCleanReport): SuspectAction {
  const classAt = (j: string | undefined) => {
    const to = report.classes[Number(j)];
    if (j === undefined || !to) throw new UserError('that class is not in this report');
    return to;
  };
  switch (action) {
    case 'keep':
      return { type: 'keep' };
    case 'del':
      return { type: 'delete' };
    case 'rl':
      return { type: 'relabel', to: classAt(arg) };
    case 'rs':
      if (!interaction.isStringSelectMenu()) throw new Error('relabel menu expected');
      return { type: 'relabel', to: classAt(interaction.values[0]) };
    case 'rm': {
      if (!interaction.isModalSubmit()) throw new Error('relabel modal expected');
      const typed = interaction.fields.getTextInputValue(CLASS_INPUT);
      const to = findClass(report.classes, typed);
      if (!to) throw new UserError(`"${typed.slice(0, 100)}" is not a class of this dataset`);
      return { type: 'relabel', to };
    }
    case 'dl':
      return { type: 'delete-left' };
    case 'dr':
      return { type: 'delete-right' };
    case 'kb':
      return { type: 'keep-both' };
    default:
      throw new Error(`unknown cleaner action '${action}'`);
  }
}

/** ✅ keep (both), 🗑️ delete (a pair: the right one), n️⃣ relabel to the n-th choice (the suggested class first). */
export function reactionAction(emoji: string | null, report: StoredCleanReport, s: Suspect): SuspectAction | undefined {
  const e = bareEmoji(emoji);
  const pair = isPairKind(s.kind);
  if (e === bareEmoji(KEEP_EMOJI)) return pair ? { type: 'keep-both' } : { type: 'keep' };
  if (e === bareEmoji(DELETE_EMOJI)) return pair ? { type: 'delete-right' } : { type: 'delete' };
  const n = NUMBER_EMOJIS.findIndex((x) => bareEmoji(x) === e);
  const to = n < 0 || pair ? undefined : relabelChoices(report, s)[n]?.c;
  return to === undefined ? undefined : { type: 'relabel', to };
}

function interactionMayDecide(interaction: ComponentInteraction, ctx: BotContext): boolean {
  const member = interaction.member;
  const roleIds: string[] = !member ? [] : Array.isArray(member.roles) ? member.roles : [...member.roles.cache.keys()];
  const roles = roleIds.map((id) => ({ id, name: interaction.guild?.roles.cache.get(id)?.name }));
  return mayDecide(interaction.memberPermissions, roles, ctx.config.CLEANER_ROLE);
}

function memberMayDecide(member: GuildMember, channelId: string, ctx: BotContext): boolean {
  let permissions;
  try {
    permissions = member.permissionsIn(channelId);
  } catch {
    permissions = member.permissions;
  }
  return mayDecide(permissions, member.roles.cache.map((r) => ({ id: r.id, name: r.name })), ctx.config.CLEANER_ROLE);
}

async function render(ctx: BotContext, report: StoredCleanReport, index: number) {
  return { ...suspectBody(report, index, await currentDecisions(ctx, report, index)), allowedMentions: { parse: [] as [] } };
}

function outcomeText(r: Exclude<SuspectDecideResult, { outcome: 'applied' }>, s: Suspect): string {
  return r.outcome === 'already-decided' ? alreadyDecidedText(r.decision, s) : `⚠️ ${r.message}`;
}

async function showMore(interaction: ComponentInteraction, ctx: BotContext, report: StoredCleanReport, offset: number, pageSize: number): Promise<void> {
  if (!Number.isInteger(offset) || offset < 0) throw new UserError('that page is not in this report');
  if (!(await claimPage(ctx, report.id, offset))) {
    await interaction.reply({ content: 'Those suspects are posted already (or being posted).', flags: MessageFlags.Ephemeral });
    return;
  }
  const upTo = Math.min(report.suspects.length, offset + pageSize);
  await interaction.update({ content: `Showing suspects 1–${upTo} of ${report.suspects.length}.`, components: [] });
  await postPage(ctx, interaction.channelId, report, offset, pageSize);
}

async function handleComponent(interaction: ComponentInteraction, args: string[], ctx: BotContext): Promise<void> {
  const [reportId = '', indexText = '', action = '', arg] = args;
  const report = await requireReport(ctx, reportId, interaction.guildId);
  if (action === 'more') return showMore(interaction, ctx, report, Number(indexText), Number(arg) || DEFAULT_PAGE);
  const index = Number(indexText);
  const suspect = requireSuspect(report, index);
  if (!interactionMayDecide(interaction, ctx)) {
    await interaction.reply({ content: notAllowedText(ctx.config.CLEANER_ROLE), flags: MessageFlags.Ephemeral });
    return;
  }
  if (action === 'rs' && interaction.isStringSelectMenu() && interaction.values[0] === OTHER_CLASS) {
    await interaction.showModal(relabelModal(report, index));
    return;
  }
  const by: Decider = { userId: interaction.user.id, name: interaction.user.globalName ?? interaction.user.username };
  if (action === 'undo') {
    const r = await undoSuspect(ctx, report, index, by);
    if (r.outcome !== 'undone') {
      await interaction.reply({ content: `⚠️ ${r.message}`, flags: MessageFlags.Ephemeral });
      return;
    }
    await interaction.update(await render(ctx, report, index));
    return;
  }
  const r = await decideSuspect(ctx, report, index, buttonAction(action, arg, interaction, report), by);
  if (r.outcome === 'applied') {
    await interaction.update(await render(ctx, report, index));
    return;
  }
  await interaction.reply({ content: outcomeText(r, suspect), flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
}

export const cleanComponents: ComponentHandler = { prefix: CLEAN_PREFIX, handle: handleComponent };

async function removeReaction(reaction: MessageReaction | PartialMessageReaction, userId: string, ctx: BotContext): Promise<void> {
  // Needs Manage Messages; without it the reaction stays, and nothing else changes either.
  await reaction.users.remove(userId).catch((err) => ctx.log.debug({ err }, 'could not remove a reaction'));
}

async function replyQuietly(message: Message | PartialMessage, content: string): Promise<void> {
  await message.reply({ content, allowedMentions: { parse: [], repliedUser: false } });
}

export const cleanReactions: ReactionHandler = async (reaction, user, ctx) => {
  const where = await suspectOfMessage(ctx, reaction.message.id);
  if (!where) return false;
  // The message map is ours, but check the guild anyway: a decision never crosses servers.
  const found = await ctx.decisions.reportForGuild(where.reportId, reaction.message.guildId);
  if (!found.ok) {
    if (found.problem === 'foreign') await removeReaction(reaction, user.id, ctx);
    return true;
  }
  const report = found.report as StoredCleanReport;
  const suspect = report.suspects[where.index];
  if (!suspect) return true;
  const action = reactionAction(reaction.emoji.name, report, suspect);
  if (!action) return true;
  const message = reaction.message;
  const member = await message.guild?.members.fetch(user.id).catch(() => undefined);
  if (!member || !memberMayDecide(member, message.channelId, ctx)) {
    await removeReaction(reaction, user.id, ctx);
    return true;
  }
  const by: Decider = { userId: user.id, name: member.user.globalName ?? member.user.username };
  let r: SuspectDecideResult;
  try {
    r = await decideSuspect(ctx, report, where.index, action, by);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    await replyQuietly(message, `⚠️ ${err.message}`);
    return true;
  }
  if (r.outcome === 'applied') {
    // By id through the channel: the message may be a partial (no fetch), which Message#edit refuses.
    await message.channel.messages.edit(message.id, await render(ctx, report, where.index));
    return true;
  }
  await removeReaction(reaction, user.id, ctx);
  await replyQuietly(message, `${outcomeText(r, suspect)} (the reaction of ${escapeMarkdown(by.name)} changed nothing)`);
  return true;
};
