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

/** fs error codes that say the storage is at fault (full, read-only, not writable), not the data. */
const STORAGE_CODES: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  ENOTDIR: 'a part of the path is not a folder',
  EEXIST: 'a part of the path is a file, not a folder',
  EIO: 'input/output error',
};

/**
 * Writing DATA_DIR failed: the machine's fault, not the image's. It fails the job (every other
 * image would fail the same way) and is never counted as a rejected image. The message names
 * the path, for the log; userMessage leaves it out.
 */
export class StorageError extends Error {
  readonly userMessage: string;
  constructor(
    readonly path: string,
    readonly code: string,
    cause?: unknown,
  ) {
    super(`storage error: cannot write ${path}: ${code} (${STORAGE_CODES[code] ?? 'write failed'})`, { cause });
    this.name = 'StorageError';
    this.userMessage = `the server could not store images (${STORAGE_CODES[code] ?? code}); its admin has to fix its storage, then try again`;
  }
}

export function isStorageError(err: unknown): err is StorageError {
  return err instanceof Error && err.name === 'StorageError';
}

/** `err` as a StorageError when it is an fs error of the storage kind; otherwise `err` itself. */
export function asStorageError(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code && code in STORAGE_CODES ? new StorageError(path, code, err) : err;
}
