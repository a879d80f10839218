// Why an image was not kept. A fixed set of codes so rejections can be counted per dataset and
// shown to users in plain words (`/dataset show`, the collection summary).

export const REJECT_REASONS = {
  'bad-url': 'not an http(s) URL',
  'blocked-address': 'points inside a private network',
  'http-error': 'the server answered with an error (e.g. 404)',
  'rate-limited': 'the server kept rate-limiting us (429)',
  'server-error': 'the server kept failing (5xx)',
  timeout: 'timed out',
  connection: 'connection failed',
  truncated: 'the download was cut short',
  'too-large': 'file too large',
  'too-many-redirects': 'too many redirects',
  'robots-noai': 'the site asks not to be used for AI (X-Robots-Tag)',
  'not-an-image': 'not an image',
  svg: 'SVG drawings are not accepted',
  'too-small': 'smaller than 64 px on a side',
  'too-many-pixels': 'too many pixels',
  corrupt: 'corrupt or unreadable image',
  'unsafe-path': 'unsafe file name in an archive',
} as const;

export type RejectReason = keyof typeof REJECT_REASONS;

/** A failure with a reason code; thrown inside the pipeline and counted, never shown raw. */
export class RejectError extends Error {
  constructor(
    readonly reason: RejectReason,
    detail?: string,
  ) {
    super(detail ? `${REJECT_REASONS[reason]}: ${detail}` : REJECT_REASONS[reason]);
    this.name = 'RejectError';
  }
}

export function isRejectError(err: unknown): err is RejectError {
  return err instanceof RejectError;
}

/** The user-facing text for a reason code (codes stored earlier keep working if renamed). */
export function describeReason(code: string): string {
  return (REJECT_REASONS as Record<string, string>)[code] ?? code;
}

export function countReason(counts: Record<string, number>, reason: string, n = 1): void {
  counts[reason] = (counts[reason] ?? 0) + n;
}
