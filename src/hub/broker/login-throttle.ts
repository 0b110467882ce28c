/**
 * Failed MQTT logins, throttled per address. A wrong password is answered only after a delay that
 * doubles with each failure from that address, and only a few such refusals may be pending per
 * address at once; past that, every login from the address is refused unchecked until they are
 * answered. A guesser who gives up waiting early gains nothing: its refusal still holds one of the
 * few slots for the whole delay, so guesses are limited to `maxWaiting` per delay. A right password
 * is answered at once, so honest workers sharing an address (a NAT) with someone failing are only
 * refused while that address is saturated, and retry.
 */
export interface LoginThrottleOptions {
  /** Delay after the first failure; doubles with each further one. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** An address with no failure for this long starts afresh. */
  forgetMs: number;
  /** Refusals pending per address; while at it, logins from there are refused unchecked. */
  maxWaiting: number;
  /** Addresses tracked; the one failing least recently is forgotten first. */
  maxAddresses: number;
  now: () => number;
}

export const LOGIN_THROTTLE_DEFAULTS: LoginThrottleOptions = {
  firstDelayMs: 250,
  /**
   * 8 s and 4 pending: at most one guess every 2 s per address (43,000 a day), against 2,000 in
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

  /** Whether logins from `address` are refused unchecked now (too many refusals pending). */
  blocked(address: string): boolean {
    const record = this.current(address);
    return record !== undefined && record.waiting >= this.options.maxWaiting;
  }

  /** Counts a failed login from `address`; returns how long to wait before refusing it, then call released(). */
  failed(address: string): number {
    const now = this.options.now();
    let record = this.current(address);
    if (!record) {
      record = { failures: 0, lastFailure: now, waiting: 0 };
      if (this.records.size >= this.options.maxAddresses) {
        const oldest = this.records.keys().next().value;
        if (oldest !== undefined) this.records.delete(oldest);
      }
    }
    record.failures++;
    record.waiting++;
    record.lastFailure = now;
    this.records.delete(address);
    this.records.set(address, record);
    const delay = this.delayFor(record.failures);
    this.maxDelaySeen = Math.max(this.maxDelaySeen, delay);
    return delay;
  }

  /** The refusal of a failed login from `address` went out. */
  released(address: string): void {
    const record = this.records.get(address);
    if (record && record.waiting > 0) record.waiting--;
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
