import { test, expect } from "vitest";
import { nativeKernel, nativeVariants } from "../../src/pow/native/native-kernel.js";
import { workValue } from "../../src/nano/work.js";
test("x", () => {
  console.log(nativeVariants());
  for (const fl of nativeVariants()) {
    const k = nativeKernel(fl);
    const root = new Uint8Array(32).map((_, i) => i * 7 + 3);
    const n = k.search(root, 5n, 1000000, 0xfff0000000000000n);
    console.log(fl, n, n !== undefined && workValue(root, n).toString(16));
    const N = 20_000_000;
    for (let w = 0; w < 3; w++) { const t = performance.now(); k.search(root, 0n, N, 0xffffffffffffffffn); console.log(fl, (N / (performance.now() - t) / 1000).toFixed(2), "MH/s"); }
  }
});
