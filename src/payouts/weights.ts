/** A win's weight in payouts: defined in nano/ so the hub can weigh its workers' shares alike. */
export { WEIGHT_UNIT, winWeight } from "../nano/difficulty.js";

import { WEIGHT_UNIT } from "../nano/difficulty.js";

/** A weight in units as a decimal number of send-threshold works, for display. */
export function formatWeight(units: bigint): string {
  return (Number(units) / Number(WEIGHT_UNIT)).toFixed(3);
}
