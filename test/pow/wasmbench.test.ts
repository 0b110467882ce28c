import { test } from "vitest";
import { compileKernelModule, wasmKernel } from "../../src/pow/wasm/wasm-kernel.js";
test("x", () => {
  const ks = (["simd", "scalar"] as const).map((f) => wasmKernel(compileKernelModule(f)));
  const root = new Uint8Array(32).map((_, i) => i * 7 + 3);
  const N = 2_000_000; const tot = [0, 0];
  for (let w = 0; w < 8; w++) ks.forEach((k, i) => { const t = performance.now(); k.search(root, 0n, N, 0xffffffffffffffffn); if (w > 1) tot[i] += performance.now() - t; });
  console.log(tot.map((t) => (6 * N / t / 1000).toFixed(2)).join(" "));
});
