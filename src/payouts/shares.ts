/**
 * Splits `budget` raw among claimants in proportion to their weights by the largest-remainder
 * method: everyone gets floor(budget * w / total), then the raw left over (fewer than the number of
 * claimants) goes one each to the largest remainders, ties broken by key order. The amounts sum to
 * exactly `budget` (0 when every weight is 0) and never exceed it.
 */
export function splitBudget(
  budget: bigint,
  weights: ReadonlyArray<{ key: string; weight: bigint }>,
): Map<string, bigint> {
  if (budget < 0n) throw new RangeError("budget must not be negative");
  const total = weights.reduce((sum, w) => sum + w.weight, 0n);
  const shares = new Map<string, bigint>();
  if (total === 0n) {
    for (const w of weights) shares.set(w.key, 0n);
    return shares;
  }
  const remainders: Array<{ key: string; remainder: bigint }> = [];
  let given = 0n;
  for (const w of weights) {
    if (w.weight < 0n) throw new RangeError(`weight of ${w.key} is negative`);
    const exact = budget * w.weight;
    const share = exact / total;
    shares.set(w.key, share);
    given += share;
    remainders.push({ key: w.key, remainder: exact % total });
  }
  remainders.sort((a, b) =>
    a.remainder === b.remainder
      ? a.key < b.key
        ? -1
        : a.key > b.key
          ? 1
          : 0
      : a.remainder > b.remainder
        ? -1
        : 1,
  );
  for (let i = 0; given < budget; i++, given++) {
    const key = (remainders[i] as { key: string }).key;
    shares.set(key, (shares.get(key) as bigint) + 1n);
  }
  return shares;
}
