// What a command file, a component handler and a reaction handler look like to the bot.
import type {
  ButtonInteraction,
  ChatInputCommandInteraction,
  AutocompleteInteraction,
  MessageReaction,
  PartialMessageReaction,
  PartialUser,
  StringSelectMenuInteraction,
  ModalMessageModalSubmitInteraction,
  User,
  Client,
  Message,
} from 'discord.js';
import type { Queues } from '../core/queues.js';
import type { Services } from '../core/services.js';

export interface BotContext extends Services {
  client: Client;
  queues: Queues;
  commands: ReadonlyMap<string, Command>;
  startedAt: number;
  version: string;
  /** The bot's clock (tests move it with the fake Discord's, e.g. past an interaction token's 15 minutes). */
  now: () => number;
}

/** Buttons, select menus, and the modals they open (routed by the same custom_id prefix). */
export type ComponentInteraction = ButtonInteraction | StringSelectMenuInteraction | ModalMessageModalSubmitInteraction;

/**
 * Buttons and select menus are routed by the part of their custom_id before the first ':'.
 * The rest of the id must carry everything the handler needs, so that buttons keep working
 * after a restart.
 */
export interface ComponentHandler {
  prefix: string;
  handle(interaction: ComponentInteraction, args: string[], ctx: BotContext): Promise<void>;
}

/** A reaction handler returns true when the reaction was meant for it. */
export type ReactionHandler = (
  reaction: MessageReaction | PartialMessageReaction,
  user: User | PartialUser,
  ctx: BotContext,
) => Promise<boolean>;

/** A handler for messages posted in channels (e.g. photos dropped for classification); true = handled. */
export type MessageHandler = (message: Message, ctx: BotContext) => Promise<boolean>;

export interface Command {
  data: { name: string; description: string; toJSON(): unknown };
  /** Changes datasets, models or jobs: registered with COMMAND_PERMISSION as its default member permission. */
  mutates?: boolean;
  execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void>;
  autocomplete?(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void>;
  components?: ComponentHandler[];
  reactions?: ReactionHandler[];
  messages?: MessageHandler[];
}

/** Build a custom_id from a handler prefix and its arguments; Discord caps it at 100 characters. */
export function customId(prefix: string, ...args: (string | number)[]): string {
  const id = [prefix, ...args].join(':');
  if (id.length > 100) throw new Error(`custom_id too long (${id.length}): ${id}`);
  return id;
}
