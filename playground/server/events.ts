// The fake's record of everything that happened, in order, and the waiting built on it.
// Waiters re-check their condition on every recorded event, so `waitFor` never misses
// something that happened before it was called (tests are free of ordering races).
import { EventEmitter } from 'node:events';

export type FakeEventKind =
  | 'message.create'
  | 'message.update'
  | 'message.delete'
  | 'reaction.add'
  | 'reaction.remove'
  | 'interaction.create'
  | 'interaction.callback'
  | 'interaction.expired'
  | 'commands.update'
  | 'ratelimit.hit'
  | 'gateway.ready'
  | 'gateway.resumed';

export interface FakeEvent {
  seq: number;
  at: number;
  kind: FakeEventKind;
  /** What the event is about: a message id, an interaction id, a guild id (or 'global') for commands. */
  subject: string;
  detail?: Record<string, unknown>;
}

export interface WaitOptions {
  /** Milliseconds before the wait fails; default 15000 (generous: CI machines are small and busy). */
  timeout?: number;
}

export class EventLog {
  private readonly emitter = new EventEmitter();
  private readonly list: FakeEvent[] = [];
  private seq = 0;

  constructor(private readonly now: () => number) {
    this.emitter.setMaxListeners(0);
  }

  record(kind: FakeEventKind, subject: string, detail?: Record<string, unknown>): FakeEvent {
    const event: FakeEvent = { seq: ++this.seq, at: this.now(), kind, subject, ...(detail ? { detail } : {}) };
    this.list.push(event);
    this.emitter.emit('event', event);
    return event;
  }

  /** Takes a sequence number without recording an event (REST requests are numbered in the same order). */
  nextSeq(): number {
    return ++this.seq;
  }

  /** The sequence number of the last event; pass it as `since` to look only at what comes next. */
  mark(): number {
    return this.seq;
  }

  all(kind?: FakeEventKind, since = 0): FakeEvent[] {
    return this.list.filter((e) => e.seq > since && (kind === undefined || e.kind === kind));
  }

  /**
   * Resolves with the first truthy result of `check`, evaluated now, after every event, and
   * every 20 ms (so conditions on the client's side, which record no event here, work too).
   */
  waitFor<T>(check: () => T | undefined | null | false, what: string, options: WaitOptions = {}): Promise<T> {
    const timeoutMs = options.timeout ?? 15_000;
    return new Promise<T>((resolve, reject) => {
      const evaluate = (): boolean => {
        let result: T | undefined | null | false;
        try {
          result = check();
        } catch (error) {
          finish();
          reject(error);
          return true;
        }
        if (!result) return false;
        finish();
        resolve(result);
        return true;
      };
      const onEvent = (): void => void evaluate();
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`fake Discord: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const poll = setInterval(onEvent, 20);
      const finish = (): void => {
        clearTimeout(timer);
        clearInterval(poll);
        this.emitter.off('event', onEvent);
      };
      if (!evaluate()) this.emitter.on('event', onEvent);
    });
  }

  /** Calls `listener` with every event recorded from now on; returns the unsubscribe. */
  subscribe(listener: (event: FakeEvent) => void): () => void {
    const onEvent = (event?: FakeEvent): void => {
      if (event) listener(event);
    };
    this.emitter.on('event', onEvent);
    return () => this.emitter.off('event', onEvent);
  }

  /** Wakes every waiter without recording anything (used when the clock jumps). */
  poke(): void {
    this.emitter.emit('event');
  }
}
