/**
 * The browser side of `dpow bench --only browser`: the browser worker's own WASM pool (the same
 * search threads /worker runs) searching for a value no nonce reaches, for a given time. The bench
 * drives it through `globalThis.dpowBench` and compares it with the CLI's kernel in the same run.
 */
import { WasmPool } from "../worker/kernels/wasm-pool.js";

const NEVER = (1n << 64n) - 1n;

export interface BrowserRate {
  kernel: string;
  threads: number;
  /** Million hashes per second of wall time, from the job's start until every thread stopped. */
  mhs: number;
}

const pools = new Map<number, Promise<WasmPool>>();

async function rate(threads: number, seconds: number): Promise<BrowserRate> {
  let pool = pools.get(threads);
  if (!pool) {
    pool = WasmPool.start(threads);
    pools.set(threads, pool);
  }
  const ready = await pool;
  const root = crypto.getRandomValues(new Uint8Array(32));
  const before = ready.hashesDone;
  const abort = new AbortController();
  const began = performance.now();
  const job = ready.generate(root, NEVER, { signal: abort.signal }).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  abort.abort();
  await job;
  await ready.idle();
  const took = performance.now() - began;
  return { kernel: ready.name, threads, mhs: (ready.hashesDone - before) / took / 1000 };
}

(globalThis as unknown as { dpowBench: unknown }).dpowBench = {
  rate,
  threads: () => navigator.hardwareConcurrency || 1,
};
