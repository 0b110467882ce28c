import type { Logger } from "pino";
import { topics } from "../protocol/topics.js";
import type { Broker, Ledger } from "./ports.js";
import type { ServiceCounters } from "./service-counters.js";

export interface AnnouncementOptions {
  heartbeatMs: number;
  statisticsMs: number;
}

export const DEFAULT_ANNOUNCEMENTS: AnnouncementOptions = { heartbeatMs: 1000, statisticsMs: 5 * 60_000 };

/**
 * What the hub says to everyone on a schedule: `heartbeat` (workers use its absence to notice a
 * dead hub) and the retained `statistics` (the latest is what a new subscriber sees first).
 */
export class Announcements {
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly broker: Broker,
    private readonly ledger: Ledger,
    private readonly counters: ServiceCounters,
    private readonly logger: Logger,
    private readonly options: AnnouncementOptions = DEFAULT_ANNOUNCEMENTS,
  ) {}

  async start(): Promise<void> {
    await this.publishStatistics();
    this.timers = [
      setInterval(() => this.safely(this.broker.publish(topics.heartbeat, "")), this.options.heartbeatMs),
      // Service counters are batched: flush them every second so `dpow service stats` stays current.
      setInterval(() => this.safely(this.counters.flush()), 1000),
      setInterval(() => this.safely(this.publishStatistics()), this.options.statisticsMs),
    ];
  }

  async publishStatistics(): Promise<void> {
    await this.counters.flush();
    const statistics = await this.ledger.statistics();
    await this.broker.publish(topics.statistics, JSON.stringify(statistics), { retain: true, qos: 1 });
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  private safely(task: Promise<void>): void {
    task.catch((err: unknown) => this.logger.warn({ err }, "scheduled publish failed"));
  }
}
