/**
 * A value computed at most once per `maxAgeMs`, however many ask: callers within that time share
 * the last result, and callers while it is being computed share that computation. A failed
 * computation is not kept (the next caller tries again).
 */
export class Refreshing<T> {
  private value: { at: number; value: T } | undefined;
  private running: Promise<T> | undefined;

  constructor(
    private readonly maxAgeMs: number,
    private readonly compute: () => Promise<T>,
  ) {}

  /** Forgets the value if it is older than `ms` (the next get computes it afresh). */
  expireOlderThan(ms: number, now = Date.now()): void {
    if (this.value && now - this.value.at >= ms) this.value = undefined;
  }

  get(now = Date.now()): Promise<T> {
    if (this.value && now - this.value.at < this.maxAgeMs) return Promise.resolve(this.value.value);
    this.running ??= this.compute()
      .then((value) => {
        this.value = { at: Date.now(), value };
        return value;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }
}
