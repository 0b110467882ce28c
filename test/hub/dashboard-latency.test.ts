/** The dashboard's answer-time estimate from histogram buckets (the /metrics buckets). */
import { describe, expect, it } from "vitest";
import { bucketOf, quantileMs } from "../../src/hub/dashboard/latency.js";
import { LATENCY_BUCKETS_S } from "../../src/hub/metrics.js";

const buckets = (counts: Record<number, number>) =>
  Array.from({ length: LATENCY_BUCKETS_S.length + 1 }, (_, i) => counts[i] ?? 0);

describe("answer-time quantiles", () => {
  it("puts an answer in the first bucket whose bound it does not exceed", () => {
    expect(bucketOf(0.0001)).toBe(0);
    expect(bucketOf(0.0005)).toBe(0);
    expect(bucketOf(0.0006)).toBe(1);
    expect(bucketOf(0.3)).toBe(7); // (0.1, 0.5]
    expect(bucketOf(31)).toBe(LATENCY_BUCKETS_S.length); // slower than the last bound
  });

  it("interpolates within the bucket the rank falls in", () => {
    // 100 answers in (0.1 s, 0.5 s]: the median is halfway, 300 ms; p99 near the top.
    expect(quantileMs(buckets({ 7: 100 }), 0.5)).toBe(300);
    expect(quantileMs(buckets({ 7: 100 }), 0.99)).toBe(496);
    // 90 cache hits under 0.5 ms and 10 slow answers: p50 is a cache hit, p99 a slow one.
    const mixed = buckets({ 0: 90, 8: 10 });
    expect(quantileMs(mixed, 0.5)).toBeLessThanOrEqual(0.5);
    expect(quantileMs(mixed, 0.99)).toBeGreaterThan(500);
  });

  it("is null with no answers, and the last bound for the slowest", () => {
    expect(quantileMs(buckets({}), 0.5)).toBeNull();
    expect(quantileMs(buckets({ [LATENCY_BUCKETS_S.length]: 3 }), 0.5)).toBe(30_000);
  });
});
