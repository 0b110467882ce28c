import { CodedError } from "../errors.js";
import type { Engine, SearchKernel } from "./kernel.js";
import { loadAddon, nativeKernel } from "./native/native-kernel.js";
import { compileKernelModule, type WasmFlavour, wasmKernel } from "./wasm/wasm-kernel.js";

/** Which kernel to run, in a form that can be sent to worker threads (a compiled module clones). */
export type KernelSpec =
  | { kind: "native"; variant: string }
  | { kind: "wasm"; flavour: WasmFlavour; module: WebAssembly.Module };

export interface EngineOptions {
  engine?: Engine;
  /** Force a native variant (avx512, avx2, sse2, scalar, generic); default the fastest supported. */
  variant?: string;
  /** Force the WASM flavour; default simd where the runtime supports it. */
  wasmFlavour?: WasmFlavour;
}

let fallbackAnnounced = false;

/**
 * Picks the kernel for an engine choice. "auto" prefers the native addon and otherwise falls back
 * to WASM, saying so once per process on stderr (the rates differ by about 4x, so users should know).
 */
export function resolveKernel(options: EngineOptions = {}): KernelSpec {
  const engine = options.engine ?? "auto";
  if (engine !== "wasm") {
    const addon = loadAddon();
    if ("addon" in addon) {
      const variants = addon.addon.variants();
      const variant = options.variant ?? variants[0];
      if (variant === undefined || !variants.includes(variant)) {
        throw new CodedError(
          "DPOW_ENGINE_UNAVAILABLE",
          `native variant ${variant} is not supported here (supported: ${variants.join(", ")})`,
        );
      }
      return { kind: "native", variant };
    } else if (engine === "native") {
      throw new CodedError("DPOW_ENGINE_UNAVAILABLE", `--engine native: ${addon.error}`);
    } else if (!fallbackAnnounced) {
      fallbackAnnounced = true;
      process.stderr.write(`dpow: using the WASM PoW kernel: ${addon.error}\n`);
    }
  }
  return { kind: "wasm", ...compileKernelModule(options.wasmFlavour) };
}

export function instantiateKernel(spec: KernelSpec): SearchKernel {
  return spec.kind === "native" ? nativeKernel(spec.variant) : wasmKernel(spec);
}

export function kernelName(spec: KernelSpec): string {
  return spec.kind === "native" ? `native-${spec.variant}` : `wasm-${spec.flavour}`;
}
