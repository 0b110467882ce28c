/**
 * The WebGPU backend: a WGSL compute shader, one invocation per nonce, one run of nonces a pass. The
 * first invocation whose nonce reaches the threshold claims a result slot with an atomic exchange
 * and writes its nonce there; the slot is read back after each pass.
 */
import { workValue } from "../../../nano/work.js";
import type { GenerateOptions, WorkBackend, WorkResult } from "../../../pow/backend.js";
import { rootWords, u64Pair, workHashSource } from "../../../pow/gpu/work-hash-shader.js";
import { abortError, randomU64 } from "./kernel-helpers.js";

const WORKGROUP = 64;
/**
 * Workgroups a pass: sized to take about PASS_MS, so a fast GPU is not starved by the readback
 * and a slow one still notices a cancel; at most 2^15 (2^21 nonces, under the 65535 limit).
 */
const MIN_WORKGROUPS = 1 << 8;
const MAX_WORKGROUPS = 1 << 15;
const PASS_MS = 25;
const U64_MASK = 0xffffffffffffffffn;

const SHADER = `
struct Params { root: array<vec2<u32>, 4>, base: vec2<u32>, threshold: vec2<u32> }
@group(0) @binding(0) var<storage, read> params: Params;
@group(0) @binding(1) var<storage, read_write> result: array<atomic<u32>, 3>;
${workHashSource("wgsl")}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let lo = params.base.x + id.x;
  let nonce = vec2<u32>(lo, params.base.y + select(0u, 1u, lo < params.base.x));
  let value = workValue(nonce, params.root[0], params.root[1], params.root[2], params.root[3]);
  if (reaches(value, params.threshold) && atomicExchange(&result[0], 1u) == 0u) {
    atomicStore(&result[1], nonce.x);
    atomicStore(&result[2], nonce.y);
  }
}`;

/** The part of the WebGPU API this backend uses (the project's DOM typings predate WebGPU). */
interface Gpu {
  requestAdapter(): Promise<GpuAdapter | null>;
}
interface GpuAdapter {
  requestDevice(): Promise<GpuDevice>;
}
interface GpuBuffer {
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}
interface GpuDevice {
  createShaderModule(d: { code: string }): {
    getCompilationInfo(): Promise<{ messages: Array<{ type: string; message: string }> }>;
  };
  createComputePipelineAsync(d: object): Promise<{ getBindGroupLayout(i: number): unknown }>;
  createBuffer(d: { size: number; usage: number }): GpuBuffer;
  createBindGroup(d: object): unknown;
  createCommandEncoder(): {
    beginComputePass(): {
      setPipeline(p: unknown): void;
      setBindGroup(i: number, g: unknown): void;
      dispatchWorkgroups(x: number): void;
      end(): void;
    };
    copyBufferToBuffer(a: GpuBuffer, ao: number, b: GpuBuffer, bo: number, size: number): void;
    finish(): unknown;
  };
  queue: { writeBuffer(b: GpuBuffer, offset: number, data: BufferSource): void; submit(c: unknown[]): void };
  destroy(): void;
}
/** GPUBufferUsage and GPUMapMode flags, from the WebGPU specification. */
const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, STORAGE: 0x80 } as const;
const MAP_READ = 0x1;

export class WebGpuBackend implements WorkBackend {
  readonly name = "webgpu";
  private closed = false;
  private workgroups = MIN_WORKGROUPS;

  private constructor(
    private readonly device: GpuDevice,
    private readonly pipeline: { getBindGroupLayout(i: number): unknown },
    private readonly params: GpuBuffer,
    private readonly result: GpuBuffer,
    private readonly readback: GpuBuffer,
    private readonly bindGroup: unknown,
  ) {}

  /** The backend, or the reason this browser cannot run it. */
  static async create(): Promise<WebGpuBackend | { unavailable: string }> {
    const gpu = (navigator as unknown as { gpu?: Gpu }).gpu;
    if (!gpu) return { unavailable: "WebGPU is not offered by this browser" };
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { unavailable: "WebGPU offers no adapter here" };
    const device = await adapter.requestDevice();
    const module = device.createShaderModule({ code: SHADER });
    const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === "error");
    if (errors.length > 0) return { unavailable: `the WGSL shader does not compile: ${errors[0]?.message}` };
    const pipeline = await device.createComputePipelineAsync({
      layout: "auto",
      compute: { module, entryPoint: "main" },
    });
    const params = device.createBuffer({ size: 48, usage: USAGE.STORAGE | USAGE.COPY_DST });
    const result = device.createBuffer({ size: 16, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST });
    const readback = device.createBuffer({ size: 16, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: params } },
        { binding: 1, resource: { buffer: result } },
      ],
    });
    return new WebGpuBackend(device, pipeline, params, result, readback, bindGroup);
  }

  async generate(root: Uint8Array, threshold: bigint, options: GenerateOptions = {}): Promise<WorkResult> {
    const words = new Uint32Array(12);
    words.set(rootWords(root), 0);
    words.set(u64Pair(threshold), 10);
    let base = randomU64();
    for (;;) {
      if (options.signal?.aborted) throw abortError();
      if (this.closed) throw new Error("the worker is stopping");
      words.set(u64Pair(base), 8);
      const workgroups = this.workgroups;
      const began = performance.now();
      const found = await this.pass(words, workgroups);
      this.resize(workgroups, performance.now() - began);
      if (found !== undefined) {
        // Checked, not trusted: integer math on a GPU is exact, so a wrong claim is a broken driver.
        const value = workValue(root, found);
        if (value < threshold)
          throw new Error(`the WebGPU kernel claimed work ${found.toString(16)} that is too low`);
        return { work: found, value };
      }
      base = (base + BigInt(workgroups * WORKGROUP)) & U64_MASK;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.device.destroy();
  }

  /** Doubles or halves the pass towards PASS_MS. */
  private resize(workgroups: number, tookMs: number): void {
    if (tookMs < PASS_MS / 2) this.workgroups = Math.min(MAX_WORKGROUPS, workgroups * 2);
    else if (tookMs > PASS_MS * 2) this.workgroups = Math.max(MIN_WORKGROUPS, workgroups / 2);
  }

  /** One dispatch of `workgroups` x WORKGROUP nonces from the base in `words`; the nonce claimed, if any. */
  private async pass(words: Uint32Array<ArrayBuffer>, workgroups: number): Promise<bigint | undefined> {
    const { device } = this;
    device.queue.writeBuffer(this.params, 0, words);
    device.queue.writeBuffer(this.result, 0, new Uint32Array(4));
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, this.bindGroup);
    pass.dispatchWorkgroups(workgroups);
    pass.end();
    encoder.copyBufferToBuffer(this.result, 0, this.readback, 0, 16);
    device.queue.submit([encoder.finish()]);
    await this.readback.mapAsync(MAP_READ);
    const [claimed, lo, hi] = new Uint32Array(this.readback.getMappedRange().slice(0));
    this.readback.unmap();
    return claimed === 1 ? (BigInt(hi as number) << 32n) | BigInt(lo as number) : undefined;
  }
}
