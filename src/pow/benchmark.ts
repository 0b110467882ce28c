/**
 * A short start-up benchmark: how fast is this backend, and so how long will a job at the hub's
 * difficulty take? Real difficulties take seconds to minutes per job, so the backend solves random
 * roots at a low difficulty and the rate is extrapolated with expectedHashes. The difficulty grows
 * until one job takes a noticeable share of the budget, so per-job overhead (thread hand-off, an
 * HTTP round trip to a GPU server) does not dominate the measurement.
 */
import { expectedHashes, fromMultiplier } from "../nano/difficulty.js";
import type { WorkBackend } from "./backend.js";

export interface BenchmarkResult {
  /** Estimated hashes per second. */
  hashRate: number;
  /** Jobs solved at the difficulty the estimate is based on. */
  jobs: number;
}

const START_HASHES = 2 ** 16;
const MAX_HASHES = 2 ** 36;
/**
 * The hash count of one job is geometric, so n jobs estimate the rate to about 1/sqrt(n): ~50 jobs
 * give ~15%, while each job stays long enough (~2% of the budget) for per-job overhead not to count.
 */
const JOBS_WANTED = 50;
/** Jobs timed at a difficulty before deciding it is too easy; one lucky job must not decide it. */
const CALIBRATION_JOBS = 16;

export async function benchmark(backend: WorkBackend, durationMs: number): Promise<BenchmarkResult> {
  const solve = async (hashes: number) => {
    // Expected hashes of threshold 0 is 1, so "multiplier N over 0" expects N hashes.
    const started = performance.now();
    await backend.generate(crypto.getRandomValues(new Uint8Array(32)), fromMultiplier(hashes, 0n));
    return (performance.now() - started) / 1000;
  };
  // Warm-up, not counted: the first job also pays for starting threads and compiling kernels.
  await solve(START_HASHES);
  let hashesPerJob = START_HASHES;
  let seconds = 0;
  let jobs = 0;
  const deadline = performance.now() + durationMs;
  do {
    seconds += await solve(hashesPerJob);
    jobs += 1;
    const tooEasy = (seconds / jobs) * 1000 < durationMs / JOBS_WANTED;
    if (jobs === CALIBRATION_JOBS && tooEasy && hashesPerJob < MAX_HASHES) {
      hashesPerJob *= 4;
      seconds = jobs = 0;
    }
  } while (performance.now() < deadline || jobs === 0);
  return { hashRate: (hashesPerJob * jobs) / seconds, jobs };
}

/** Expected seconds per job at `threshold` for a backend hashing at `hashRate`. */
export function expectedSeconds(threshold: bigint, hashRate: number): number {
  return expectedHashes(threshold) / hashRate;
}
