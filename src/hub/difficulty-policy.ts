import { fromMultiplier, toMultiplier } from "../nano/difficulty.js";
import { formatU64, parseU64 } from "../nano/hex.js";
import { ORIGINAL } from "../protocol/service.js";

/** Receive work is 1/64 of the send base in multiplier terms, as on the live network. */
const RECEIVE_MULTIPLIER = 1 / 64;

/** Expected hashes 2^16: one CPU thread solves it in milliseconds; max multiplier 8 stays well under a second. */
export const DEV_BASE = 0xffff000000000000n;

/**
 * What a request asking for less than the receive threshold gets: that threshold with a hint
 * ("clamp"; more work is valid for less), or an error ("refuse"). A request above the maximum is
 * always refused: work below what was asked must never be served (a client that trusts the
 * `difficulty` it asked for would publish blocks the network rejects).
 */
export type OutOfRange = "clamp" | "refuse";

/** What a hub serves where nothing else is configured (`dpow server`'s flags show these). */
export const POLICY_DEFAULTS = {
  maxMultiplier: 8,
  outOfRange: "clamp",
} satisfies { maxMultiplier: number; outOfRange: OutOfRange };

/** The difficulty a request gets; `error` set when it is out of range and this hub refuses it. */
export interface Resolved {
  difficulty: bigint;
  hint?: string;
  error?: string;
}

/** The difficulties this hub works at: the send base, and the range requests must fall in. */
export class DifficultyPolicy {
  readonly receive: bigint;
  readonly max: bigint;

  constructor(
    readonly base: bigint,
    readonly maxMultiplier: number,
    readonly outOfRange: OutOfRange = POLICY_DEFAULTS.outOfRange,
  ) {
    if (!Number.isFinite(maxMultiplier) || maxMultiplier < 1) {
      throw new RangeError(`maxMultiplier must be a number >= 1, got ${maxMultiplier}`);
    }
    this.receive = fromMultiplier(RECEIVE_MULTIPLIER, base);
    this.max = fromMultiplier(maxMultiplier, base);
  }

  /**
   * The difficulty a request gets: its multiplier (which wins over its difficulty), else its
   * difficulty, else the base. Above the maximum it is refused with the original DPoW's text;
   * below the receive threshold raised to it with a hint, or refused (see OutOfRange).
   */
  resolve(request: { difficulty?: string; multiplier?: number }): Resolved {
    const asked =
      request.multiplier !== undefined
        ? fromMultiplier(request.multiplier, this.base)
        : request.difficulty !== undefined
          ? parseU64(request.difficulty, "difficulty")
          : this.base;
    if (asked > this.max) {
      return {
        difficulty: this.max,
        error: `${ORIGINAL.tooHigh}. Maximum: ${formatU64(this.max)} ( ${this.maxMultiplier} multiplier ): this hub computes up to ${this.maxMultiplier}x its base ${formatU64(this.base)}`,
      };
    }
    if (asked < this.receive && this.outOfRange === "refuse") {
      return {
        difficulty: this.receive,
        error: `${ORIGINAL.tooLow}. Minimum: ${formatU64(this.receive)} ( ${this.multiplierOf(this.receive)} multiplier ): the receive threshold, the lowest this hub computes`,
      };
    }
    if (asked < this.receive) {
      return {
        difficulty: this.receive,
        hint: `difficulty raised to ${formatU64(this.receive)}, the lowest this hub computes (receive threshold)`,
      };
    }
    return { difficulty: asked };
  }

  multiplierOf(difficulty: bigint): number {
    return toMultiplier(difficulty, this.base);
  }
}
