import { SEND_THRESHOLD } from "../nano/difficulty.js";

const TWO_64 = 1n << 64n;

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

/** A weight in units as a decimal number of send-threshold works, for display. */
export function formatWeight(units: bigint): string {
  return (Number(units) / Number(WEIGHT_UNIT)).toFixed(3);
}
