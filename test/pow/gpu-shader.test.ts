/**
 * The GPU kernels' work hash, checked without a GPU: the GLSL text is translated line by line into
 * JavaScript over BigInt (each pair helper becomes its 64-bit meaning) and run against workValue.
 * The browser tests then check the same text compiled by WebGL2 and WebGPU.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { workValue } from "../../src/nano/work.js";
import { rootWords, u64Pair, workHashSource } from "../../src/pow/gpu/work-hash-shader.js";

const M = (1n << 64n) - 1n;

/** Builds a function (m0..m4 as bigint) -> value from the GLSL body of workValue. */
function evaluatorFromGlsl(): (m: bigint[]) => bigint {
  const source = workHashSource("glsl");
  const body = source.slice(source.indexOf("workValue(")).split("{").slice(1).join("{");
  const js = body
    .replace(/\}\s*$/, "")
    .replace(/uvec2\((0x[0-9a-f]+)u, (0x[0-9a-f]+)u\)/g, "(($2n << 32n) | $1n)")
    .replace(/uvec2 (v\d+) =/g, "let $1 =")
    .replace(/\(([^()]+)\)\.yx/g, "rotr(($1), 32n)")
    .replace(/rotr64\(([^,]+), (\d+)u\)/g, "rotr($1, $2n)")
    .replace(/rotl1\(([^)]+)\)/g, "rotr($1, 63n)")
    .replace(/add64/g, "add")
    .replace(/\bm(\d)\b/g, "m[$1]");
  const add = (a: bigint, b: bigint) => (a + b) & M;
  const rotr = (x: bigint, n: bigint) => ((x >> n) | (x << (64n - n))) & M;
  return new Function("add", "rotr", `return (m) => {${js}}`)(add, rotr) as (m: bigint[]) => bigint;
}

describe("GPU work hash source", () => {
  const run = evaluatorFromGlsl();

  it("computes the work value of any nonce and root", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.bigInt({ min: 0n, max: M }),
        (root, nonce) => {
          const words = rootWords(root);
          const m = [nonce];
          for (let i = 0; i < 4; i++)
            m.push((BigInt(words[2 * i + 1] as number) << 32n) | BigInt(words[2 * i] as number));
          expect(run(m)).toBe(workValue(root, nonce));
        },
      ),
      { numRuns: 50 },
    );
  });

  it("splits a u64 into its low and high halves", () => {
    expect(u64Pair(0xfffffff800000001n)).toEqual([1, 0xfffffff8]);
  });

  it("writes the same hash in WGSL", () => {
    const wgsl = workHashSource("wgsl");
    expect(wgsl).toContain("fn workValue(");
    expect(wgsl.match(/add64\(/g)?.length).toBe(workHashSource("glsl").match(/add64\(/g)?.length);
  });
});
