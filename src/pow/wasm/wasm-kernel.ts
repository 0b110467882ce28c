import type { SearchKernel } from "../kernel.js";
import { kernelModuleBytes, MEMORY, type WasmFlavour } from "./kernel-module.js";

export type { WasmFlavour };

const U64 = (1n << 64n) - 1n;

/** The compiled module for a flavour; SIMD is used when the engine validates it. */
export function compileKernelModule(flavour?: WasmFlavour): {
  flavour: WasmFlavour;
  module: WebAssembly.Module;
} {
  const chosen = flavour ?? (WebAssembly.validate(kernelModuleBytes("simd")) ? "simd" : "scalar");
  return { flavour: chosen, module: new WebAssembly.Module(kernelModuleBytes(chosen)) };
}

/** A kernel instance over a compiled module (modules can be sent to worker threads and reused). */
export function wasmKernel(compiled: { flavour: WasmFlavour; module: WebAssembly.Module }): SearchKernel {
  const instance = new WebAssembly.Instance(compiled.module);
  const memory = instance.exports.memory as WebAssembly.Memory;
  const search = instance.exports.search as (start: bigint, count: number, threshold: bigint) => number;
  const bytes = new Uint8Array(memory.buffer);
  const view = new DataView(memory.buffer);
  return {
    name: `wasm-${compiled.flavour}`,
    granularity: 1, // both flavours finish a partial step with their scalar loop
    search(root, start, count, threshold) {
      bytes.set(root, MEMORY.root);
      // The kernel's nonces wrap at 2^64 like the u64 they are; pass them as signed i64.
      const found = search(BigInt.asIntN(64, start & U64), count, BigInt.asIntN(64, threshold));
      return found === 0 ? undefined : view.getBigUint64(MEMORY.nonce, true);
    },
  };
}
