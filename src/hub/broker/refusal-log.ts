/**
 * One log line per interval for refusals a stranger can cause at will (wrong passwords, too many
 * connections), instead of one line each: a log flood is itself an attack on the operator.
 */
import type { BrokerLogger } from "./logger.js";

/** Distinct addresses remembered per interval; past it they are still counted, just not told apart. */
const MAX_ADDRESSES = 10_000;

export class RefusalLog {
  /** Refusals since the start, for metrics (the log line counts per interval). */
  total = 0;
  private count = 0;
  private readonly addresses = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly logger: BrokerLogger,
    /** e.g. "MQTT logins refused" */
    private readonly what: string,
    private readonly intervalMs: number,
    private readonly details: () => object = () => ({}),
  ) {
    this.timer = setInterval(() => this.flush(), intervalMs);
    this.timer.unref();
  }

  note(address: string): void {
    this.total++;
    this.count++;
    if (this.addresses.size < MAX_ADDRESSES) this.addresses.add(address);
  }

  /** Logs what was counted since the last line, if anything; close() calls it a last time. */
  flush(): void {
    if (this.count === 0) return;
    const seconds = Math.round(this.intervalMs / 1000);
    this.logger.warn(
      { refused: this.count, addresses: this.addresses.size, ...this.details() },
      `${this.what} in the last ${seconds} s: ${this.count} from ${this.addresses.size} address${this.addresses.size === 1 ? "" : "es"}`,
    );
    this.count = 0;
    this.addresses.clear();
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
