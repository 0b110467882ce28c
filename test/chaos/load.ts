/**
 * The chaos run's services: a few clients sending steady requests, each for a new random hash at
 * one of a few difficulties, to whichever hub replicas are up (as a load balancer with health
 * checks would), every one recorded with how it ended and how long it took.
 */
import { fromMultiplier } from "../../src/nano/difficulty.js";
import { parseHash, parseU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import { randomHash } from "../helpers/fake-worker.js";

export interface Target {
  name: string;
  /** The replica's service URL, or undefined while it is down. */
  url(): string | undefined;
}

export interface Credentials {
  user: string;
  api_key: string;
}

export type Outcome =
  /** Work that the client checked itself. */
  | "work"
  /** A JSON answer with an error text. */
  | "error"
  /** The connection failed (the replica was killed under it, or refused it). */
  | "connection"
  /** No answer within the request's timeout plus the margin: a hang. */
  | "hang"
  /** Work that fails the difficulty asked for, or an answer that is neither work nor an error. */
  | "bad";

export interface RequestRecord {
  target: string;
  phase: string;
  hash: string;
  /** The difficulty the returned work must reach. */
  threshold: bigint;
  startedAt: number;
  ms: number;
  outcome: Outcome;
  /** Error text (or the reason for "bad" / "connection"). */
  detail?: string;
  work?: bigint;
}

export interface LoadOptions {
  targets: Target[];
  credentials: Credentials;
  /** Base difficulty of the hub. */
  base: bigint;
  clients: number;
  /** Pause between one client's requests. */
  pauseMs: number;
  /** The request's `timeout` field, in seconds. */
  timeoutS: number;
  /** How long past its timeout a request may take before it counts as a hang. */
  hangMarginMs: number;
  /** The label recorded with each request (what is being done to the system right now). */
  phase(): string;
}

/** What each request asks for: the default, a multiplier, an explicit difficulty. */
function shapes(base: bigint): Array<{ extra: Record<string, unknown>; threshold: bigint }> {
  return [
    { extra: {}, threshold: base },
    { extra: { multiplier: 2 }, threshold: fromMultiplier(2, base) },
    { extra: { difficulty: fromMultiplier(4, base).toString(16) }, threshold: fromMultiplier(4, base) },
  ];
}

export class Load {
  readonly records: RequestRecord[] = [];
  private running = false;
  private readonly loops: Promise<void>[] = [];
  private turn = 0;
  private readonly shapes: ReturnType<typeof shapes>;

  constructor(private readonly options: LoadOptions) {
    this.shapes = shapes(options.base);
  }

  start(): void {
    this.running = true;
    for (let i = 0; i < this.options.clients; i++) this.loops.push(this.loop());
  }

  /** Stops sending and waits for every request in flight to end. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const live = this.options.targets.filter((t) => t.url() !== undefined);
      const turn = this.turn++;
      const shape = this.shapes[turn % this.shapes.length] as ReturnType<typeof shapes>[number];
      const hash = randomHash();
      // Every fourth hash is asked of every live replica at once: one job, answered by each.
      const chosen = turn % 4 === 0 ? live : live.slice(turn % Math.max(1, live.length)).slice(0, 1);
      await Promise.all(chosen.map((target) => this.request(target, hash, shape)));
      await new Promise((resolve) => setTimeout(resolve, this.options.pauseMs));
    }
  }

  private async request(target: Target, hash: string, shape: ReturnType<typeof shapes>[number]) {
    const { credentials, timeoutS, hangMarginMs } = this.options;
    const url = target.url();
    if (url === undefined) return;
    const record: RequestRecord = {
      target: target.name,
      phase: this.options.phase(),
      hash,
      threshold: shape.threshold,
      startedAt: Date.now(),
      ms: 0,
      outcome: "bad",
    };
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...credentials, hash, timeout: timeoutS, ...shape.extra }),
        signal: AbortSignal.timeout(timeoutS * 1000 + hangMarginMs),
      });
      const json = (await response.json()) as Record<string, unknown>;
      judge(record, json);
    } catch (err) {
      const error = err as Error & { cause?: { code?: string } };
      if (error.name === "TimeoutError") record.outcome = "hang";
      else {
        record.outcome = "connection";
        record.detail = error.cause?.code ?? error.message;
      }
    }
    record.ms = Date.now() - record.startedAt;
    this.records.push(record);
  }
}

function judge(record: RequestRecord, json: Record<string, unknown>): void {
  if (typeof json.error === "string" && json.error.length > 0) {
    record.outcome = "error";
    record.detail = json.error;
    return;
  }
  if (json.hash !== record.hash || typeof json.work !== "string") {
    record.detail = `neither work nor error: ${JSON.stringify(json).slice(0, 200)}`;
    return;
  }
  const work = parseU64(json.work, "work");
  if (workValue(parseHash(record.hash), work) < record.threshold) {
    record.detail = `work ${json.work} fails ${record.threshold.toString(16)}`;
    return;
  }
  record.outcome = "work";
  record.work = work;
}
