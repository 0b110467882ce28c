import { NanoInputError } from "./errors.js";
import { U64_MAX } from "./hex.js";

const TWO_64 = 1n << 64n;

/** Live network thresholds since epoch 2 (2020). */
export const SEND_THRESHOLD = 0xfffffff800000000n;
export const RECEIVE_THRESHOLD = 0xfffffe0000000000n;
/** The single threshold used before epoch 2, still the base of many multipliers in the wild. */
export const LEGACY_BASE = 0xffffffc000000000n;

/** How many hashes a search needs on average to reach `threshold`: 2^64 / (2^64 - t). */
export function expectedHashes(threshold: bigint): number {
  return Number(TWO_64) / Number(TWO_64 - threshold);
}

/** (2^64 - base) / (2^64 - difficulty): how much harder `difficulty` is than `base`. */
export function toMultiplier(difficulty: bigint, base: bigint): number {
  return Number(TWO_64 - base) / Number(TWO_64 - difficulty);
}

/**
 * The difficulty that is `multiplier` times as hard as `base`, rounded so that it is never easier
 * than asked: toMultiplier(result, base) >= multiplier holds exactly, not just in floating point.
 * The multiplier (a double) is converted to an exact fraction so no rounding happens in between.
 */
export function fromMultiplier(multiplier: number, base: bigint): bigint {
  if (!Number.isFinite(multiplier) || multiplier <= 0) {
    throw new NanoInputError(`multiplier must be a positive finite number, got ${multiplier}`);
  }
  const [num, den] = exactFraction(multiplier);
  // 2^64 - d <= (2^64 - base) / m  <=>  distance = floor((2^64 - base) * den / num)
  const distance = ((TWO_64 - base) * den) / num;
  if (distance < 1n) return U64_MAX;
  if (distance > TWO_64) return 0n;
  return TWO_64 - distance;
}

/** A finite positive double as an exact fraction num/den of bigints. */
function exactFraction(x: number): [bigint, bigint] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = exponent === 0 ? fraction : fraction | (1n << 52n);
  const shift = (exponent === 0 ? 1 : exponent) - 1075;
  return shift >= 0 ? [mantissa << BigInt(shift), 1n] : [mantissa, 1n << BigInt(-shift)];
}

/** Fixed-point scale of a win's weight: weight 1.0 (a win at the send threshold) = 2^32 units. */
export const WEIGHT_UNIT = 1n << 32n;

/**
 * A win's weight: its difficulty multiplier relative to the send threshold (fffffff800000000),
 * i.e. how many send-threshold works it is worth on average. A receive-threshold win weighs 1/64,
 * a 2x win weighs 2. Exact integer arithmetic (floored to 2^-32) so plans are reproducible.
 */
export function winWeight(difficulty: bigint): bigint {
  return ((TWO_64 - SEND_THRESHOLD) * WEIGHT_UNIT) / (TWO_64 - difficulty);
}
