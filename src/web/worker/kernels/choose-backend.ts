/**
 * Picks the backend: every kernel the browser offers (WASM on all threads, WebGL2, WebGPU) runs the
 * CLI's start-up benchmark for a moment, and the fastest one works; the others are closed. A kernel
 * the browser lacks, or one that fails, is reported with its reason and left out.
 */
import type { WorkBackend } from "../../../pow/backend.js";
import { benchmark } from "../../../pow/benchmark.js";
import type { KernelChoice, KernelTrial } from "../session-messages.js";
import { WasmPool } from "./wasm-pool.js";
import { WebGl2Backend } from "./webgl2-backend.js";
import { WebGpuBackend } from "./webgpu-backend.js";

/** Per kernel: long enough for a rate within ~15% (pow/benchmark.ts), short enough not to bore. */
const TRIAL_MS = 1500;

type Candidate = { kernel: string; open(): Promise<WorkBackend | { unavailable: string }> };

function candidates(choice: KernelChoice, threads: number): Candidate[] {
  const all: Candidate[] = [
    { kernel: "wasm", open: () => WasmPool.start(threads) },
    { kernel: "webgl2", open: async () => WebGl2Backend.create() },
    { kernel: "webgpu", open: () => WebGpuBackend.create() },
  ];
  return choice === "auto" ? all : all.filter((c) => c.kernel === choice);
}

export interface Choice {
  backend: WorkBackend;
  hashRate: number;
  trials: KernelTrial[];
}

export async function chooseBackend(
  choice: KernelChoice,
  threads: number,
  onTrial: (kernel: string) => void,
): Promise<Choice> {
  const trials: KernelTrial[] = [];
  let best: { backend: WorkBackend; hashRate: number } | undefined;
  for (const candidate of candidates(choice, threads)) {
    onTrial(candidate.kernel);
    let backend: WorkBackend | undefined;
    try {
      const opened = await candidate.open();
      if ("unavailable" in opened) {
        trials.push({ kernel: candidate.kernel, unavailable: opened.unavailable });
        continue;
      }
      backend = opened;
      const { hashRate } = await benchmark(backend, TRIAL_MS);
      trials.push({ kernel: backend.name, hashRate });
      if (best === undefined || hashRate > best.hashRate) {
        await best?.backend.close();
        best = { backend, hashRate };
      } else {
        await backend.close();
      }
    } catch (err) {
      await backend?.close();
      trials.push({
        kernel: candidate.kernel,
        unavailable: err instanceof Error ? err.message : String(err),
      });
    }
  }
  if (!best) {
    const reasons = trials.map((t) => `${t.kernel}: ${"unavailable" in t ? t.unavailable : "?"}`).join("; ");
    throw new Error(`no kernel can run in this browser (${reasons})`);
  }
  return { ...best, trials };
}
