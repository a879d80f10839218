// Network latency for the gateway: what is sent arrives `latencyMs` later, in the order it was
// sent (a WebSocket is one ordered stream), whatever the latency was when each was queued.
export class DelayedStream {
  private readonly queue: { at: number; run: () => void }[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly latencyMs: () => number) {}

  push(run: () => void): void {
    const latency = this.latencyMs();
    if (latency <= 0 && this.queue.length === 0) return run();
    const last = this.queue.at(-1)?.at ?? 0;
    this.queue.push({ at: Math.max(Date.now() + latency, last), run });
    this.schedule();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = Date.now();
      while (this.queue.length && this.queue[0]!.at <= now) this.queue.shift()!.run();
      this.schedule();
    }, Math.max(0, this.queue[0]!.at - Date.now()));
  }
}
