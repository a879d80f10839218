// Discord's error shape: { code, message, errors? } with the HTTP status Discord uses.
// `errors` is the nested tree Discord sends for 50035 "Invalid Form Body", e.g.
// { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 2000 or fewer in length.' }] } }.

export interface FieldError {
  code: string;
  message: string;
}

export type ErrorTree = { _errors?: FieldError[] } & { [key: string]: ErrorTree | FieldError[] | undefined };

export class DiscordError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: ErrorTree,
  ) {
    super(message);
  }

  toJSON(): { code: number; message: string; errors?: ErrorTree } {
    return this.errors ? { code: this.code, message: this.message, errors: this.errors } : { code: this.code, message: this.message };
  }
}

/** Collects field errors under dotted paths ("embeds.0.title") and turns them into Discord's tree. */
export class FormErrors {
  private readonly tree: ErrorTree = {};
  private count = 0;

  add(path: (string | number)[], code: string, message: string): void {
    let node: ErrorTree = this.tree;
    for (const key of path.map(String)) {
      node[key] ??= {};
      node = node[key] as ErrorTree;
    }
    (node._errors ??= []).push({ code, message });
    this.count++;
  }

  maxLength(path: (string | number)[], value: string | undefined | null, max: number): void {
    if (typeof value === 'string' && [...value].length > max) {
      this.add(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`);
    }
  }

  get empty(): boolean {
    return this.count === 0;
  }

  /** Throws 50035 Invalid Form Body when anything was collected. */
  throwIfAny(): void {
    if (this.count > 0) throw new DiscordError(400, 50035, 'Invalid Form Body', this.tree);
  }
}

// The errors the fake raises, named as Discord names them.
export const Errors = {
  unauthorized: () => new DiscordError(401, 0, '401: Unauthorized'),
  notFound: () => new DiscordError(404, 0, '404: Not Found'),
  methodNotAllowed: () => new DiscordError(405, 0, '405: Method Not Allowed'),
  unknownChannel: () => new DiscordError(404, 10003, 'Unknown Channel'),
  unknownGuild: () => new DiscordError(404, 10004, 'Unknown Guild'),
  unknownMember: () => new DiscordError(404, 10007, 'Unknown Member'),
  unknownMessage: () => new DiscordError(404, 10008, 'Unknown Message'),
  unknownUser: () => new DiscordError(404, 10013, 'Unknown User'),
  unknownEmoji: () => new DiscordError(400, 10014, 'Unknown Emoji'),
  unknownWebhook: () => new DiscordError(404, 10015, 'Unknown Webhook'),
  unknownApplication: () => new DiscordError(404, 10002, 'Unknown Application'),
  unknownCommand: () => new DiscordError(404, 10063, 'Unknown application command'),
  unknownInteraction: () => new DiscordError(404, 10062, 'Unknown interaction'),
  alreadyAcknowledged: () => new DiscordError(400, 40060, 'Interaction has already been acknowledged.'),
  cannotEditOthers: () => new DiscordError(403, 50005, 'Cannot edit a message authored by another user'),
  emptyMessage: () => new DiscordError(400, 50006, 'Cannot send an empty message'),
  missingPermissions: () => new DiscordError(403, 50013, 'Missing Permissions'),
  missingAccess: () => new DiscordError(403, 50001, 'Missing Access'),
  threadArchived: () => new DiscordError(400, 50083, 'Thread is archived'),
  threadLocked: () => new DiscordError(400, 160005, 'Thread is locked'),
  invalidWebhookToken: () => new DiscordError(401, 50027, 'Invalid Webhook Token'),
  tooLarge: () => new DiscordError(413, 40005, 'Request entity too large'),
  maxReactions: () => new DiscordError(400, 30010, 'Maximum number of reactions reached (20)'),
  invalidFormBody: (message = 'Invalid Form Body') => new DiscordError(400, 50035, message),
  badJson: () => new DiscordError(400, 50109, 'The request body contains invalid JSON.'),
};
