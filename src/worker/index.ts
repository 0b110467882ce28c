/**
 * The worker client as a library: `dpow worker` uses it, and so does the hub's all-in-one start to
 * run a local worker in-process.
 *
 *   const worker = await startWorker({ payout, server: "mqtt://client:client@127.0.0.1:1883", backend });
 *   ...
 *   await worker.stop(); // aborts the running job, disconnects, closes the backend
 */
export { type BenchmarkResult, benchmark, expectedSeconds } from "../pow/benchmark.js";
export {
  type RunningWorker,
  startWorker,
  type WorkChoice,
  type WorkerLog,
  type WorkerOptions,
  type WorkerStatus,
} from "../protocol/worker-session.js";
