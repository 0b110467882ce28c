/**
 * A search thread in the browser: the CLI's WASM kernel (src/pow/wasm), searching one job in batches
 * until it finds work or is told to stop. A page is not cross-origin isolated, so there is no shared
 * memory to poll for a cancel as the CLI's threads do: the thread yields to its message queue after
 * every batch instead, and batches are sized to about BATCH_MS so a stop is seen that quickly while
 * the yield (a few microseconds) costs well under 1%.
 */
import type { SearchKernel } from "../../../pow/kernel.js";
import { wasmKernel } from "../../../pow/wasm/wasm-kernel.js";
import type { FromSearchThread, ToSearchThread } from "./search-messages.js";

const BATCH_MS = 8;
const MIN_BATCH = 1 << 10;
const MAX_BATCH = 1 << 24;
const U64_MASK = 0xffffffffffffffffn;

interface WorkerScope {
  postMessage(message: FromSearchThread): void;
  addEventListener(type: "message", listener: (event: MessageEvent<ToSearchThread>) => void): void;
}
const scope = self as unknown as WorkerScope;

let kernel: SearchKernel | undefined;
let current = -1;
let batch = 1 << 14;

/** Lets queued messages (a stop) run: a message to ourselves is queued behind them. */
const channel = new MessageChannel();
const yielded: Array<() => void> = [];
channel.port1.onmessage = () => yielded.shift()?.();
const yieldToMessages = () =>
  new Promise<void>((resolve) => {
    yielded.push(resolve);
    channel.port2.postMessage(0);
  });

async function run(job: Extract<ToSearchThread, { type: "job" }>, searching: SearchKernel): Promise<void> {
  let nonce = job.start;
  let hashes = 0;
  while (current === job.id) {
    const began = performance.now();
    const found = searching.search(job.root, nonce, batch, job.threshold);
    if (found !== undefined) {
      hashes += Number((found - nonce) & U64_MASK) + 1;
      scope.postMessage({ type: "found", id: job.id, nonce: found, hashes });
      return;
    }
    hashes += batch;
    nonce = (nonce + BigInt(batch)) & U64_MASK;
    const took = performance.now() - began;
    if (took > 0) batch = Math.max(MIN_BATCH, Math.min(MAX_BATCH, Math.floor((batch * BATCH_MS) / took)));
    await yieldToMessages();
  }
  scope.postMessage({ type: "stopped", id: job.id, hashes });
}

scope.addEventListener("message", ({ data }) => {
  try {
    if (data.type === "init") {
      kernel = wasmKernel({ flavour: data.flavour, module: data.module });
      scope.postMessage({ type: "ready", kernel: kernel.name });
    } else if (data.type === "job" && kernel) {
      current = data.id;
      void run(data, kernel);
    } else if (data.type === "stop" && current === data.id) {
      current = -1;
    }
  } catch (err) {
    scope.postMessage({ type: "failed", message: err instanceof Error ? err.message : String(err) });
  }
});
