/**
 * A pool thread: searches the job it is given in small batches until it finds work or the pool's
 * shared control word no longer names its job (found elsewhere, cancelled, shut down).
 */
import { parentPort, workerData } from "node:worker_threads";
import { instantiateKernel, type KernelSpec } from "./engine.js";
import type { FromSearchThread, ToSearchThread } from "./pool-messages.js";

/** Batches are sized to take about this long, so a cancel is seen within a few milliseconds. */
const BATCH_MS = 2;
const MIN_BATCH = 1 << 10;
const MAX_BATCH = 1 << 24;

const { spec, control } = workerData as { spec: KernelSpec; control: SharedArrayBuffer };
const active = new Int32Array(control);
const kernel = instantiateKernel(spec);
const port = parentPort;
if (port === null) throw new Error("search-thread.ts must run in a worker thread (the pool starts it)");
const send = (message: FromSearchThread) => port.postMessage(message);

const U64_MASK = 0xffffffffffffffffn;
let batch = 1 << 14;

function roundBatch(n: number): number {
  const g = kernel.granularity;
  return Math.max(MIN_BATCH, Math.min(MAX_BATCH, Math.floor(n / g) * g));
}

function run(job: Extract<ToSearchThread, { type: "job" }>): void {
  let nonce = job.start;
  let hashes = 0;
  while (Atomics.load(active, 0) === job.id) {
    const began = performance.now();
    const found = kernel.search(job.root, nonce, batch, job.threshold);
    if (found !== undefined) {
      hashes += Number((found - nonce) & U64_MASK) + 1;
      send({ type: "found", id: job.id, nonce: found, hashes });
      return;
    }
    hashes += batch;
    nonce = (nonce + BigInt(batch)) & U64_MASK;
    const took = performance.now() - began;
    if (took > 0) batch = roundBatch((batch * BATCH_MS) / took);
  }
  send({ type: "stopped", id: job.id, hashes });
}

port.on("message", (message: ToSearchThread) => {
  if (message.type === "job") run(message);
});
send({ type: "ready" });
