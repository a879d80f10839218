// What the bot may do in the channel an interaction came from, read from the interaction itself
// (`app_permissions`, which Discord computes with the channel's overwrites), so a command can
// refuse before it changes anything and name what is missing, instead of failing half-way with
// a 403 (which Discord also counts towards its invalid-request ban).
import { PermissionFlagsBits, type PermissionsBitField } from 'discord.js';
import { UserError } from '../core/errors.js';

export type PermissionName = keyof typeof PermissionFlagsBits;

/** What a command that posts in the channel needs: see, post (in a thread: post in threads), embed, attach, read back. */
export const POSTING: PermissionName[] = ['ViewChannel', 'SendMessages', 'EmbedLinks', 'AttachFiles', 'ReadMessageHistory'];

/** "SendMessagesInThreads" -> "Send Messages in Threads", as Discord's settings name it. */
export function permissionLabel(name: PermissionName): string {
  return name.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/ In /g, ' in ').replace('Tts', 'TTS');
}

/** The permissions among `needed` that `granted` lacks; in a thread Send Messages in Threads stands for Send Messages. */
export function missingPermissions(granted: Readonly<PermissionsBitField> | bigint, needed: readonly PermissionName[], inThread: boolean): PermissionName[] {
  const bits = typeof granted === 'bigint' ? granted : granted.bitfield;
  const wanted = needed.map((name) => (inThread && name === 'SendMessages' ? 'SendMessagesInThreads' : name));
  return [...new Set(wanted)].filter((name) => (bits & PermissionFlagsBits[name]) === 0n);
}

export function missingPermissionsText(missing: readonly PermissionName[], where = 'this channel'): string {
  const names = missing.map((m) => `**${permissionLabel(m)}**`);
  const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names[0]!;
  return `I need ${list} in ${where} to do that. Ask a server admin to grant ${missing.length > 1 ? 'them' : 'it'} to me here (channel settings → Permissions), or use another channel. Nothing was changed.`;
}

interface PermissionSource {
  appPermissions: Readonly<PermissionsBitField> | null;
  channel: { isThread(): boolean } | null;
}

/**
 * Throws a UserError naming every permission the bot lacks here. Call it first thing in a
 * command that will post, edit or react in the channel, before any state changes.
 */
export function requireChannelPermissions(interaction: PermissionSource, needed: readonly PermissionName[] = POSTING): void {
  if (!interaction.appPermissions) return; // a DM: commands are guild-only, nothing to check
  const missing = missingPermissions(interaction.appPermissions, needed, interaction.channel?.isThread() ?? false);
  if (missing.length) throw new UserError(missingPermissionsText(missing));
}
