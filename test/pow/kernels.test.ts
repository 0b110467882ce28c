import { existsSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { workValue } from "../../src/nano/work.js";
import type { SearchKernel } from "../../src/pow/kernel.js";
import { nativeKernel, nativeVariants } from "../../src/pow/native/native-kernel.js";
import { evaluate, workHashProgram } from "../../src/pow/wasm/blake2b-program.js";
import { compileKernelModule, wasmKernel } from "../../src/pow/wasm/wasm-kernel.js";

const U64 = (1n << 64n) - 1n;
const root = fc.uint8Array({ minLength: 32, maxLength: 32 });
const u64 = fc.bigInt({ min: 0n, max: U64 });

/** What a search must return, computed with nano/'s workValue: the first nonce at or over the threshold. */
function expectedSearch(r: Uint8Array, start: bigint, count: number, threshold: bigint): bigint | undefined {
  for (let i = 0n; i < BigInt(count); i++) {
    const nonce = (start + i) & U64;
    if (workValue(r, nonce) >= threshold) return nonce;
  }
  return undefined;
}

/**
 * A search over `count` nonces against a threshold equal to one of their values (so a hit is
 * certain, and the kernel must return the first one) or above all of them (so it must return none).
 */
function checkKernel(kernel: SearchKernel): void {
  fc.assert(
    fc.property(
      root,
      u64,
      fc.integer({ min: 1, max: 40 }),
      fc.nat(),
      fc.boolean(),
      (r, start, n, pick, miss) => {
        const count = Math.ceil(n / kernel.granularity) * kernel.granularity;
        const values = Array.from({ length: count }, (_, i) => workValue(r, (start + BigInt(i)) & U64));
        let max = 0n;
        for (const v of values) if (v > max) max = v;
        const threshold = miss ? (max === U64 ? U64 : max + 1n) : (values[pick % count] as bigint);
        expect(kernel.search(r, start, count, threshold)).toBe(expectedSearch(r, start, count, threshold));
      },
    ),
    { numRuns: 60 },
  );
}

function checkWrap(kernel: SearchKernel): void {
  // Nonces wrap at 2^64 like the u64 they are: a search starting just below wraps to 0, 1, ...
  const r = new Uint8Array(32).fill(7);
  const start = U64 - 3n;
  const count = 8 * kernel.granularity;
  const threshold = workValue(r, 2n);
  expect(kernel.search(r, start, count, threshold)).toBe(expectedSearch(r, start, count, threshold));
}

describe("the work-hash program", () => {
  test("evaluates to nano/'s workValue for random roots and nonces", () => {
    const program = workHashProgram();
    fc.assert(
      fc.property(root, u64, (r, nonce) => {
        const view = new DataView(r.buffer, r.byteOffset, 32);
        const words = [0, 1, 2, 3].map((w) => view.getBigUint64(8 * w, true));
        expect(evaluate(program, nonce, words)).toBe(workValue(r, nonce));
      }),
      { numRuns: 200 },
    );
  });
});

describe.each(["simd", "scalar"] as const)("WASM kernel, %s", (flavour) => {
  const kernel = wasmKernel(compileKernelModule(flavour));

  test("finds exactly the first qualifying nonce, like nano/'s workValue", () => checkKernel(kernel));
  test("wraps around at 2^64", () => checkWrap(kernel));
  test("reports its flavour", () => expect(kernel.name).toBe(`wasm-${flavour}`));
  test("finds a hit in every position of a step (vector lanes, scalar lane, tail) for every count", () => {
    // The simd flavour hashes 3 nonces per step and the last 0..2 in its scalar loop: aim the
    // threshold at each position in turn, for counts that end on and off a step boundary.
    const r = new Uint8Array(32).fill(11);
    expect(kernel.search(r, 0n, 0, 0n)).toBeUndefined();
    for (let count = 1; count <= 10; count++) {
      for (let at = 0; at < count; at++) {
        // A start where nonce start+at beats every nonce before it, so it is the only right answer.
        let start = BigInt(1000 * count + 100 * at);
        const valueAt = (s: bigint) => workValue(r, s + BigInt(at));
        const beatsEarlier = (s: bigint) =>
          Array.from({ length: at }, (_, i) => workValue(r, s + BigInt(i))).every((v) => v < valueAt(s));
        while (!beatsEarlier(start)) start++;
        expect(kernel.search(r, start, count, valueAt(start))).toBe(start + BigInt(at));
      }
    }
  });
});

/** The variants this CPU must offer, read from the kernel's own view of the CPU (Linux only). */
function cpuFlags(): string[] {
  if (!existsSync("/proc/cpuinfo")) return [];
  return (
    readFileSync("/proc/cpuinfo", "utf8")
      .match(/^flags\s*:(.*)$/m)?.[1]
      ?.trim()
      .split(/\s+/) ?? []
  );
}

describe("native addon", () => {
  test("is built and offers every variant this CPU supports, fastest first", () => {
    const variants = nativeVariants();
    if (process.arch !== "x64") {
      expect(variants).toEqual(["generic"]);
      return;
    }
    const flags = cpuFlags();
    const expected = [
      ...(flags.includes("avx512f") ? ["avx512"] : []),
      ...(flags.includes("avx2") ? ["avx2"] : []),
      "sse2",
      "scalar",
    ];
    expect(variants).toEqual(expected);
  });

  test("rejects a variant the CPU cannot run", () => {
    expect(() => nativeKernel("neon-on-x86")).toThrow(/not supported/);
  });
});

describe.each(nativeVariants())("native kernel, %s", (variant) => {
  const kernel = nativeKernel(variant);

  test("finds exactly the first qualifying nonce, like nano/'s workValue", () => checkKernel(kernel));
  test("wraps around at 2^64", () => checkWrap(kernel));
  test("handles counts that are not a multiple of its vector width", () => {
    const r = new Uint8Array(32).fill(3);
    for (let count = 1; count <= 17; count++) {
      const values = Array.from({ length: count }, (_, i) => workValue(r, 1000n + BigInt(i)));
      const last = values[count - 1] as bigint;
      expect(kernel.search(r, 1000n, count, last)).toBe(expectedSearch(r, 1000n, count, last));
    }
  });
});
