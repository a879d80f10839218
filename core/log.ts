import { pino, type Logger } from 'pino';

export type { Logger };

/** The one logger factory: JSON lines to stdout, child loggers carry context. */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', name = 'kodiak'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}
