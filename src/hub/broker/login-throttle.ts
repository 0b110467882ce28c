/**
 * Failed MQTT logins slow down every later login from the same address: a growing delay before
 * the password is even checked (so a guesser cannot cut the wait short to learn the answer), and a
 * small bound on logins waiting at once per address. Honest workers log in with the right password
 * and never fail, so they meet no delay unless they share an address with someone who does.
 */
export interface LoginThrottleOptions {
  /** Delay after the first failure; doubles with each further one. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** An address with no failure for this long starts afresh. */
  forgetMs: number;
  /** Logins from one throttled address waiting at once; more are refused unchecked. */
  maxWaiting: number;
  /** Addresses tracked; the one failing least recently is forgotten first. */
  maxAddresses: number;
  now: () => number;
}

export const LOGIN_THROTTLE_DEFAULTS: LoginThrottleOptions = {
  firstDelayMs: 250,
  /**
   * 8 s and 4 waiting: at most one guess every 2 s per address (43,000 a day), against 2,000 in
   * 1.3 s before; a worker with a mistyped password retries every 30 s at most and barely notices.
   */
  maxDelayMs: 8_000,
  forgetMs: 10 * 60_000,
  maxWaiting: 4,
  maxAddresses: 100_000,
  now: Date.now,
};

interface AddressRecord {
  failures: number;
  lastFailure: number;
  waiting: number;
}

export class LoginThrottle {
  private readonly options: LoginThrottleOptions;
  /** Address -> record, least recently failed first (Map order). */
  private readonly records = new Map<string, AddressRecord>();
  /** The longest delay handed out since the last call of takeMaxDelay(), for the summary line. */
  private maxDelaySeen = 0;

  constructor(options: Partial<LoginThrottleOptions> = {}) {
    this.options = { ...LOGIN_THROTTLE_DEFAULTS, ...options };
  }

  /**
   * How long a login from `address` must wait before its password is checked, or null to refuse it
   * unchecked (too many already waiting). Every non-null answer must be followed by done().
   */
  admit(address: string): number | null {
    const record = this.current(address);
    if (record === undefined) return 0;
    if (record.waiting >= this.options.maxWaiting) return null;
    record.waiting++;
    const delay = this.delayFor(record.failures);
    this.maxDelaySeen = Math.max(this.maxDelaySeen, delay);
    return delay;
  }

  /** The login admitted for `address` was checked: `ok` false counts a failure. */
  done(address: string, ok: boolean): void {
    let record = this.records.get(address);
    if (record && record.waiting > 0) record.waiting--;
    if (ok) return;
    const now = this.options.now();
    if (!record) {
      record = { failures: 0, lastFailure: now, waiting: 0 };
      if (this.records.size >= this.options.maxAddresses) {
        const oldest = this.records.keys().next().value;
        if (oldest !== undefined) this.records.delete(oldest);
      }
    }
    record.failures++;
    record.lastFailure = now;
    this.records.delete(address);
    this.records.set(address, record);
  }

  delayFor(failures: number): number {
    if (failures <= 0) return 0;
    return Math.min(this.options.maxDelayMs, this.options.firstDelayMs * 2 ** Math.min(failures - 1, 30));
  }

  takeMaxDelay(): number {
    const seen = this.maxDelaySeen;
    this.maxDelaySeen = 0;
    return seen;
  }

  private current(address: string): AddressRecord | undefined {
    const record = this.records.get(address);
    if (!record) return undefined;
    if (record.waiting === 0 && this.options.now() - record.lastFailure > this.options.forgetMs) {
      this.records.delete(address);
      return undefined;
    }
    return record;
  }
}
