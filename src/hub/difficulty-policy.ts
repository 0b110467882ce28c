import { fromMultiplier, toMultiplier } from "../nano/difficulty.js";
import { formatU64, parseU64 } from "../nano/hex.js";

/** Receive work is 1/64 of the send base in multiplier terms, as on the live network. */
const RECEIVE_MULTIPLIER = 1 / 64;

/** Expected hashes 2^16: one CPU thread solves it in milliseconds; max multiplier 8 stays well under a second. */
export const DEV_BASE = 0xffff000000000000n;

/** The difficulties this hub works at: the send base, and the range a request is clamped to. */
export class DifficultyPolicy {
  readonly receive: bigint;
  readonly max: bigint;

  constructor(
    readonly base: bigint,
    readonly maxMultiplier: number,
  ) {
    this.receive = fromMultiplier(RECEIVE_MULTIPLIER, base);
    this.max = fromMultiplier(maxMultiplier, base);
  }

  /**
   * The difficulty a request gets: its multiplier (which wins over its difficulty), else its
   * difficulty, else the base; clamped to [receive .. max] with a hint saying so.
   */
  resolve(request: { difficulty?: string; multiplier?: number }): { difficulty: bigint; hint?: string } {
    const asked =
      request.multiplier !== undefined
        ? fromMultiplier(request.multiplier, this.base)
        : request.difficulty !== undefined
          ? parseU64(request.difficulty, "difficulty")
          : this.base;
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
