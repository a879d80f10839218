// A budget of bytes for downloads in flight in one process. A download reserves what it may
// receive (its Content-Length, or the per-download cap when the server does not say) before
// reading its body, and gives it back once its bytes are no longer held: 100 URLs of 18 MB
// then take at most the budget, not 1.8 GB. The whole reservation is taken at once, never
// chunk by chunk: two half-received downloads each waiting for the other's bytes would wait
// forever. One download is always let through, however large, so nothing waits for ever.
export class ByteBudget {
  private used = 0;
  private readonly waiting: { bytes: number; grant: () => void }[] = [];

  constructor(readonly limit: number) {}

  /** Resolves once `bytes` are reserved; the caller must release() them. */
  async reserve(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.fits(bytes) && this.waiting.length === 0) {
      this.used += bytes;
      return;
    }
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const entry = { bytes, grant: () => (signal?.removeEventListener('abort', onAbort), resolve()) };
      const onAbort = () => {
        this.waiting.splice(this.waiting.indexOf(entry), 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
    // First come, first served: a large reservation is not starved by small ones behind it.
    while (this.waiting.length && this.fits(this.waiting[0]!.bytes)) {
      const next = this.waiting.shift()!;
      this.used += next.bytes;
      next.grant();
    }
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.limit;
  }

  get inUse(): number {
    return this.used;
  }
}
