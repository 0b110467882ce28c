/**
 * The browser's CPU backend: the CLI's WASM kernel (SIMD where the browser validates it) in one Web
 * Worker per thread, all searching the current job from disjoint points of the nonce space.
 */
import { workValue } from "../../../nano/work.js";
import type { GenerateOptions, WorkBackend, WorkResult } from "../../../pow/backend.js";
import { kernelModuleBytes, type WasmFlavour } from "../../../pow/wasm/kernel-module.js";
import { abortError, randomU64 } from "./kernel-helpers.js";
import type { FromSearchThread, ToSearchThread } from "./search-messages.js";

const U64_SPAN = 1n << 64n;

interface Running {
  id: number;
  resolve(result: WorkResult): void;
  reject(err: Error): void;
  root: Uint8Array;
}

export class WasmPool implements WorkBackend {
  readonly name: string;
  private nextId = 1;
  private running: Running | undefined;
  /** Hashes the threads have reported (each reports when its search of a job ends). */
  private hashes = 0;
  /** Threads still searching a job that has ended here, and who waits for them to stop. */
  private busy = 0;
  private idleWaiters: Array<() => void> = [];

  private constructor(
    private readonly threads: Worker[],
    readonly flavour: WasmFlavour,
  ) {
    this.name = `wasm-${flavour} x${threads.length}`;
    for (const thread of threads) thread.onmessage = (event) => this.onMessage(event.data);
  }

  /** Starts `threads` search threads, each with the compiled kernel. */
  static async start(threads: number): Promise<WasmPool> {
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError("threads must be a positive integer");
    const flavour: WasmFlavour = WebAssembly.validate(kernelModuleBytes("simd")) ? "simd" : "scalar";
    const module = await WebAssembly.compile(kernelModuleBytes(flavour));
    const workers = await Promise.all(
      Array.from({ length: threads }, () => startThread({ type: "init", flavour, module })),
    );
    return new WasmPool(workers, flavour);
  }

  generate(root: Uint8Array, threshold: bigint, options: GenerateOptions = {}): Promise<WorkResult> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortError());
    this.stopRunning(new Error("superseded by a newer job"));
    const id = this.nextId++;
    return new Promise<WorkResult>((resolve, reject) => {
      const onAbort = () => {
        if (this.running?.id === id) this.stopRunning(abortError());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const done = () => signal?.removeEventListener("abort", onAbort);
      this.running = {
        id,
        root,
        resolve: (result) => {
          done();
          resolve(result);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      };
      this.busy = this.threads.length;
      const base = randomU64();
      const stride = U64_SPAN / BigInt(this.threads.length);
      this.threads.forEach((thread, i) => {
        const start = (base + BigInt(i) * stride) % U64_SPAN;
        post(thread, { type: "job", id, root, threshold, start });
      });
    });
  }

  /** Hashes done so far by all threads, counted as each thread finishes a job. */
  get hashesDone(): number {
    return this.hashes;
  }

  /** Resolves once every thread has stopped searching (after a job was found or aborted). */
  idle(): Promise<void> {
    if (this.busy === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.stopRunning(new Error("the worker is stopping"));
    for (const thread of this.threads) thread.terminate();
  }

  private onMessage(message: FromSearchThread): void {
    const running = this.running;
    if (message.type === "failed") {
      if (running) this.stopRunning(new Error(`a search thread failed: ${message.message}`));
      return;
    }
    if (message.type === "ready") return;
    this.hashes += message.hashes;
    if (message.id === this.nextId - 1 && --this.busy === 0) {
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
    if (message.type !== "found" || running?.id !== message.id) return;
    this.running = undefined;
    for (const thread of this.threads) post(thread, { type: "stop", id: message.id });
    running.resolve({ work: message.nonce, value: workValue(running.root, message.nonce) });
  }

  private stopRunning(reason: Error): void {
    const running = this.running;
    if (!running) return;
    this.running = undefined;
    for (const thread of this.threads) post(thread, { type: "stop", id: running.id });
    running.reject(reason);
  }
}

function post(thread: Worker, message: ToSearchThread): void {
  thread.postMessage(message);
}

/** A search thread that has instantiated the kernel (or failed to: then the pool does not start). */
function startThread(init: Extract<ToSearchThread, { type: "init" }>): Promise<Worker> {
  const thread = new Worker(new URL("./search.worker.ts", import.meta.url), { type: "module" });
  return new Promise((resolve, reject) => {
    thread.onmessage = (event: MessageEvent<FromSearchThread>) => {
      if (event.data.type === "ready") resolve(thread);
      else if (event.data.type === "failed") reject(new Error(event.data.message));
    };
    thread.onerror = (event) => reject(new Error(`search thread did not start: ${event.message}`));
    post(thread, init);
  });
}
