import { LATENCY_BUCKETS_S } from "../metrics.js";

/**
 * The answer time (ms) below which a share `q` of answers fall, from histogram bucket counts
 * (LATENCY_BUCKETS_S, then one for slower): linear within the bucket it lands in, as Prometheus'
 * histogram_quantile does, so it is an estimate good to a bucket's width. Answers slower than the
 * last bound count as the last bound. Null when there are no answers.
 */
export function quantileMs(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i] ?? 0;
    if (n > 0 && below + n >= rank) {
      const upper = LATENCY_BUCKETS_S[i];
      if (upper === undefined) break;
      const lower = i === 0 ? 0 : (LATENCY_BUCKETS_S[i - 1] as number);
      return round((lower + ((upper - lower) * (rank - below)) / n) * 1000);
    }
    below += n;
  }
  return round((LATENCY_BUCKETS_S.at(-1) as number) * 1000);
}

/** The bucket an answer of `seconds` counts in. */
export function bucketOf(seconds: number): number {
  let i = 0;
  while (i < LATENCY_BUCKETS_S.length && seconds > (LATENCY_BUCKETS_S[i] as number)) i++;
  return i;
}

/** Three significant digits: the estimate is not better than that. */
function round(ms: number): number {
  return Number(ms.toPrecision(3));
}
