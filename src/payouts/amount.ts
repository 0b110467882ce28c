import { NanoInputError } from "../nano/errors.js";

const RAW_PER_NANO = 10n ** 30n;

/** Raw as Nano with up to 30 decimals and no trailing zeros: 1500000000000000000000000000000 -> "1.5". */
export function formatNano(raw: bigint): string {
  const whole = raw / RAW_PER_NANO;
  const fraction = (raw % RAW_PER_NANO).toString().padStart(30, "0").replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : `${whole}`;
}

/** An exact decimal fraction in (0, 1]. */
export interface Fraction {
  numerator: bigint;
  denominator: bigint;
}

/** A decimal fraction text such as "0.5", refused unless it is above 0 and at most 1. */
export function parseFraction(text: string): Fraction {
  const match = /^(\d+)(?:\.(\d{1,30}))?$/.exec(text.trim());
  if (!match) throw new NanoInputError(`--fraction must be a decimal number such as 0.5, got "${text}"`);
  const decimals = match[2] ?? "";
  const numerator = BigInt(`${match[1]}${decimals}`);
  const denominator = 10n ** BigInt(decimals.length);
  if (numerator === 0n || numerator > denominator) {
    throw new NanoInputError(`--fraction must be above 0 and at most 1, got ${text}`);
  }
  return { numerator, denominator };
}

/** floor(amount * fraction) for a decimal fraction text in (0, 1], computed exactly. */
export function applyFraction(amount: bigint, fraction: string | Fraction): bigint {
  const { numerator, denominator } = typeof fraction === "string" ? parseFraction(fraction) : fraction;
  return (amount * numerator) / denominator;
}
