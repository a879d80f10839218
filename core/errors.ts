/**
 * An error the user caused and can fix (bad attachment, unknown dataset, missing permission).
 * The bot turns it into a clear ephemeral reply and does not log it as a failure; anything
 * else is our fault and is logged with context.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof Error && err.name === 'UserError';
}
