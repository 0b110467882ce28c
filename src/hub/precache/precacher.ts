import type { Logger } from "pino";
import { addressToPublicKey, publicKeyToAddress } from "../../nano/account.js";
import { ExpiringMap } from "../coordinator/expiring-map.js";
import type { Coordinator } from "../ports.js";
import { type Confirmation, isAuthentic } from "./confirmation.js";

/** What the precacher needs of the work flow (the real WorkFlow in the hub). */
export interface PrecacheFlow {
  precache(hash: string, difficulty: bigint, ttlMs: number): Promise<boolean>;
  forget(hash: string): Promise<void>;
}

export interface PrecacherOptions {
  /** Difficulty precache work is computed at (the send base unless configured higher). */
  difficulty: bigint;
  /** How long an unsolved precache job stays open. */
  jobTtlMs: number;
  /** Bound and lifetime of the memory of superseded hashes (as for the tracked frontiers). */
  limit: number;
  ttlMs: number;
  /** Confirmations waiting to be handled at most; beyond that the node floods and they are dropped. */
  maxPending?: number;
  logger: Logger;
  now?: () => number;
}

/** What became of one confirmation; each is counted in the metrics. */
export type ConfirmationOutcome =
  /** The account never used the hub: nothing to do. */
  | "untracked"
  /** The account's frontier already is this block (the node sent it twice). */
  | "duplicate"
  /** A later block of the account was seen first (confirmations arrive out of order). */
  | "stale"
  /** Claimed a tracked account, but its hash or signature is wrong: ignored. */
  | "forged"
  | "precached"
  | "dropped";

/**
 * Frontier tracking: which accounts use the hub, and what to precompute when one of them publishes
 * a block. An account is tracked once a request names it, or once a confirmed block's own root is
 * work the hub holds (it served that block's work). On a tracked account's block the hub
 * precaches its next root (the block's hash, for an open block too) and forgets the work held for
 * the block's own root, which is now superseded.
 *
 * Duplicated and reordered confirmations are safe: a duplicate finds its work held or its job
 * open, and a late one finds its hash in the memory of superseded hashes (a block was confirmed on
 * top of it), so nothing is computed for it again. A block that arrives before its predecessor's
 * successor cannot be told from a new one (confirmations carry no height) and is precached until
 * that successor arrives; once all have arrived, only the newest block's work is held and the
 * frontier is the newest block. Confirmations of one account are handled one at a time, in
 * arrival order, so those checks cannot interleave.
 */
export class Precacher {
  /** Superseded hash -> the confirmed block built on it. */
  private readonly superseded: ExpiringMap<string, string>;
  private readonly chains = new Map<string, Promise<unknown>>();
  private pending = 0;
  private lastBlockAt: number;
  private readonly now: () => number;

  constructor(
    private readonly flow: PrecacheFlow,
    private readonly coordinator: Coordinator,
    private readonly options: PrecacherOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.superseded = new ExpiringMap(options.limit, this.now);
    this.lastBlockAt = this.now();
  }

  /** Seconds since the node last reported a block (since start before the first one). */
  secondsSinceBlock(): number {
    return Math.floor((this.now() - this.lastBlockAt) / 1000);
  }

  /** A service asked for work on `hash` for `account`: the account is tracked from now on. */
  async requested(hash: string, account: string): Promise<void> {
    // Confirmations name accounts as nano_; a request may say xrb_.
    const canonical = publicKeyToAddress(addressToPublicKey(account));
    if ((await this.coordinator.frontier(canonical)) === undefined) {
      await this.coordinator.setFrontier(canonical, hash);
    }
  }

  /** Handles a confirmation after the ones of the same account that arrived before it. */
  confirmed(confirmation: Confirmation): Promise<ConfirmationOutcome> {
    this.lastBlockAt = this.now();
    if (this.pending >= (this.options.maxPending ?? 10_000)) return Promise.resolve("dropped");
    this.pending += 1;
    const { account } = confirmation;
    const before = this.chains.get(account) ?? Promise.resolve();
    const handled = before.then(() => this.handle(confirmation));
    const chain = handled
      .catch(() => {})
      .finally(() => {
        this.pending -= 1;
        if (this.chains.get(account) === chain) this.chains.delete(account);
      });
    this.chains.set(account, chain);
    return handled;
  }

  /** The last block known to be built on `hash`, following successors (bounded, in case of a cycle). */
  private newest(hash: string): string {
    let head = hash;
    for (let step = 0; step < 1000; step++) {
      const next = this.superseded.get(head);
      if (next === undefined) break;
      head = next;
    }
    return head;
  }

  private async handle(c: Confirmation): Promise<ConfirmationOutcome> {
    const frontier = await this.coordinator.frontier(c.account);
    if (frontier === c.hash) return "duplicate";
    const stale = this.superseded.get(c.hash) !== undefined;
    const tracked =
      stale || frontier !== undefined || (await this.coordinator.cachedWork(c.root)) !== undefined;
    if (!tracked) return "untracked";
    // Only now, for a block the hub would act on, is the (costlier) signature check worth it.
    if (!isAuthentic(c)) {
      this.options.logger.warn(
        { hash: c.hash, account: c.account },
        "confirmation with a wrong hash or signature ignored",
      );
      return "forged";
    }
    this.superseded.set(c.root, c.hash, this.options.ttlMs);
    await this.flow.forget(c.root);
    if (stale) {
      // The frontier may have moved back to an older block that arrived before its successor did.
      if (frontier !== undefined && this.superseded.get(frontier) !== undefined) {
        await this.coordinator.setFrontier(c.account, this.newest(frontier));
      }
      return "stale";
    }
    await this.coordinator.setFrontier(c.account, c.hash);
    await this.flow.precache(c.hash, this.options.difficulty, this.options.jobTtlMs);
    return "precached";
  }
}
