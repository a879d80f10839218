// The fake's notion of "now". Real time plus an offset a test can push forward, so a test can
// expire an interaction (3 s) or its token (15 min) without waiting and without fake timers
// (which would also freeze discord.js's own heartbeats and REST pacing).
export class FakeClock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Move the fake's clock forward; only the fake sees this, the client keeps real time. */
  advance(ms: number): void {
    if (ms < 0) throw new Error('the clock only moves forward');
    this.offsetMs += ms;
  }
}

/** Discord's epoch (2015-01-01T00:00:00.000Z), the zero of every snowflake's timestamp. */
export const DISCORD_EPOCH = 1_420_070_400_000n;

/** Makes snowflakes in Discord's real format: ms since the Discord epoch << 22 | worker | process | increment. */
export class SnowflakeFactory {
  private increment = 0n;

  constructor(private readonly clock: FakeClock) {}

  next(): string {
    const ms = BigInt(this.clock.now()) - DISCORD_EPOCH;
    const id = (ms << 22n) | (1n << 17n) | (1n << 12n) | (this.increment++ & 0xfffn);
    return id.toString();
  }
}

/** The creation time encoded in a snowflake. */
export function snowflakeTime(id: string): number {
  return Number((BigInt(id) >> 22n) + DISCORD_EPOCH);
}
