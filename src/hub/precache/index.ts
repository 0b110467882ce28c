/**
 * Precache: the hub watches a Nano node's confirmations and computes the work for the next block
 * of every account that uses it, before the account asks. Fed by the node's WebSocket
 * (`--node-ws`) and/or its HTTP callback (`POST /block/`).
 */
import type { Logger } from "pino";
import { Counter, Gauge } from "prom-client";
import type { HubMetrics } from "../metrics.js";
import type { Coordinator } from "../ports.js";
import { type ParsedConfirmation, parseCallbackBody, parseFeedMessage } from "./confirmation.js";
import { FrontierStore } from "./frontier-store.js";
import type { PrecacheEndpoints } from "./http-routes.js";
import { NodeFeed } from "./node-feed.js";

import { PersistentCoordinator } from "./persistent-coordinator.js";
import { type PrecacheFlow, Precacher } from "./precacher.js";

export interface PrecacheSettings {
  /** The node's WebSocket, e.g. ws://[::1]:7078; without one only the HTTP callback feeds precache. */
  nodeWs?: string;
  /** Difficulty of precache work: the send base, or higher when configured. */
  difficulty: bigint;
  /** Most accounts tracked, and how long one stays tracked after its last block. */
  frontierLimit: number;
  frontierTtlMs: number;
  /** How long an unsolved precache job stays open. */
  jobTtlMs?: number;
  /**
   * After a restart, how long to wait before precaching again what was left unsolved: a job
   * broadcast before the workers have reconnected reaches nobody.
   */
  resumeDelayMs?: number;
}

/** What precache takes where a setting is not given (`dpow server`'s flags show these). */
export const PRECACHE_DEFAULTS = {
  frontierLimit: 100_000,
  frontierTtlMs: 7 * 24 * 3_600_000,
  jobTtlMs: 10 * 60_000,
  resumeDelayMs: 5000,
} satisfies Required<
  Pick<PrecacheSettings, "frontierLimit" | "frontierTtlMs" | "jobTtlMs" | "resumeDelayMs">
>;

export interface PrecacheContext {
  flow: PrecacheFlow;
  coordinator: Coordinator;
  metrics: HubMetrics;
  logger: Logger;
}

export interface RunningPrecache extends PrecacheEndpoints {
  /** A service request named `account` (its optional field): track it. Never throws. */
  requested(hash: string, account: string): void;
  /** Stops the node feed; confirmations in progress finish on their own. */
  close(): void;
}

/** Starts precache on a running work flow; `resume` are frontiers to precache again (after a restart). */
export function startPrecache(
  settings: PrecacheSettings,
  context: PrecacheContext,
  resume: readonly string[] = [],
): RunningPrecache {
  const logger = context.logger.child({ component: "precache" });
  const jobTtlMs = settings.jobTtlMs ?? PRECACHE_DEFAULTS.jobTtlMs;
  const precacher = new Precacher(context.flow, context.coordinator, {
    difficulty: settings.difficulty,
    jobTtlMs,
    limit: settings.frontierLimit,
    ttlMs: settings.frontierTtlMs,
    logger,
  });
  const confirmations = new Counter({
    name: "dpow_precache_confirmations_total",
    help: "Confirmations from the node, by source and by what precache did with them",
    labelNames: ["source", "outcome"] as const,
    registers: [context.metrics.registry],
  });

  const take = async (source: "websocket" | "callback", parsed: ParsedConfirmation | { ok: "ignored" }) => {
    if (parsed.ok === "ignored") return null;
    if (!parsed.ok) {
      confirmations.inc({ source, outcome: "unreadable" });
      return parsed.error;
    }
    const outcome = await precacher.confirmed(parsed.confirmation);
    confirmations.inc({ source, outcome });
    return null;
  };
  const failed = (err: unknown) => logger.error({ err }, "handling a confirmation failed");

  let feed: NodeFeed | undefined;
  if (settings.nodeWs !== undefined) {
    feed = new NodeFeed({
      url: settings.nodeWs,
      logger,
      onMessage: (text) => {
        take("websocket", parseFeedMessage(text)).catch(failed);
      },
    });
    const subscribed = feed;
    new Gauge({
      name: "dpow_node_feed_subscribed",
      help: "1 while the hub is subscribed to the node's WebSocket confirmations",
      registers: [context.metrics.registry],
      collect() {
        this.set(subscribed.isSubscribed() ? 1 : 0);
      },
    });
    feed.start();
  }
  const resumeTimer = setTimeout(() => {
    if (resume.length > 0)
      logger.info({ frontiers: resume.length }, "precaching again what a restart left unsolved");
    for (const hash of resume) context.flow.precache(hash, settings.difficulty, jobTtlMs).catch(failed);
  }, settings.resumeDelayMs ?? PRECACHE_DEFAULTS.resumeDelayMs);
  resumeTimer.unref();

  return {
    requested: (hash, account) => {
      precacher
        .requested(hash, account)
        .catch((err: unknown) => logger.error({ err }, "tracking an account failed"));
    },
    callback: (body) =>
      take("callback", parseCallbackBody(body)).catch((err: unknown) => {
        failed(err);
        return null;
      }),
    secondsSinceBlock: () => precacher.secondsSinceBlock(),
    close: () => {
      clearTimeout(resumeTimer);
      feed?.stop();
    },
  };
}

/**
 * The coordinator `dpow server` runs with, and precache to start on its hub: with precache on,
 * the in-memory coordinator is made persistent for frontiers and precached work (in the SQLite
 * file `db`), and restored from it.
 */
export async function withPrecache(
  settings: PrecacheSettings | undefined,
  db: string,
  memory: Coordinator,
): Promise<{ coordinator: Coordinator; precache?: (context: PrecacheContext) => RunningPrecache }> {
  if (!settings) return { coordinator: memory };
  const store = new FrontierStore(db, { limit: settings.frontierLimit, ttlMs: settings.frontierTtlMs });
  const coordinator = new PersistentCoordinator(memory, store);
  const resume = await coordinator.restore();
  return { coordinator, precache: (context) => startPrecache(settings, context, resume) };
}
