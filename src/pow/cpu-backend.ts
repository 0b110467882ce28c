import type { GenerateOptions, WorkBackend, WorkResult } from "./backend.js";
import { type PoolOptions, WorkPool } from "./pool.js";

/** The local CPU: a WorkPool behind the WorkBackend interface. */
export class CpuBackend implements WorkBackend {
  readonly name: string;

  private constructor(readonly pool: WorkPool) {
    this.name = `cpu (${pool.kernel}, ${pool.threads} threads)`;
  }

  static async start(options: PoolOptions = {}): Promise<CpuBackend> {
    return new CpuBackend(await WorkPool.start(options));
  }

  generate(root: Uint8Array, threshold: bigint, options?: GenerateOptions): Promise<WorkResult> {
    return this.pool.generate(root, threshold, options);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
