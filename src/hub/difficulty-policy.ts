import { fromMultiplier, toMultiplier } from "../nano/difficulty.js";
import { formatU64, parseU64 } from "../nano/hex.js";

/** Receive work is 1/64 of the send base in multiplier terms, as on the live network. */
const RECEIVE_MULTIPLIER = 1 / 64;

/** Expected hashes 2^16: one CPU thread solves it in milliseconds; max multiplier 8 stays well under a second. */
export const DEV_BASE = 0xffff000000000000n;

/** What a request asking for a difficulty outside [receive .. max] gets: the nearest bound with a hint, or an error. */
export type OutOfRange = "clamp" | "refuse";

/** The difficulty a request gets; `error` set when it is out of range and this hub refuses it. */
export interface Resolved {
  difficulty: bigint;
  hint?: string;
  error?: string;
}

/** The difficulties this hub works at: the send base, and the range a request is clamped to. */
export class DifficultyPolicy {
  readonly receive: bigint;
  readonly max: bigint;

  constructor(
    readonly base: bigint,
    readonly maxMultiplier: number,
    readonly outOfRange: OutOfRange = "clamp",
  ) {
    this.receive = fromMultiplier(RECEIVE_MULTIPLIER, base);
    this.max = fromMultiplier(maxMultiplier, base);
  }

  /**
   * The difficulty a request gets: its multiplier (which wins over its difficulty), else its
   * difficulty, else the base; out of [receive .. max] clamped with a hint saying so, or refused.
   */
  resolve(request: { difficulty?: string; multiplier?: number }): Resolved {
    const asked =
      request.multiplier !== undefined
        ? fromMultiplier(request.multiplier, this.base)
        : request.difficulty !== undefined
          ? parseU64(request.difficulty, "difficulty")
          : this.base;
    if ((asked < this.receive || asked > this.max) && this.outOfRange === "refuse") {
      return {
        difficulty: asked < this.receive ? this.receive : this.max,
        error: `difficulty out of range: this hub computes from ${formatU64(this.receive)} (receive threshold) to ${formatU64(this.max)} (${this.maxMultiplier}x the base ${formatU64(this.base)}), multiplier ${this.multiplierOf(this.receive)} to ${this.maxMultiplier}`,
      };
    }
    if (asked < this.receive) {
      return {
        difficulty: this.receive,
        hint: `difficulty raised to ${formatU64(this.receive)}, the lowest this hub computes (receive threshold)`,
      };
    }
    if (asked > this.max) {
      return {
        difficulty: this.max,
        hint: `difficulty lowered to ${formatU64(this.max)}, the highest this hub computes (${this.maxMultiplier}x the base ${formatU64(this.base)})`,
      };
    }
    return { difficulty: asked };
  }

  multiplierOf(difficulty: bigint): number {
    return toMultiplier(difficulty, this.base);
  }
}
