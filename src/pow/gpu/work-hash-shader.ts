/**
 * The work hash (docs/wire-protocol.md, "Work, difficulty and hex": blake2b, 8-byte digest, over nonce || root) as shader source for GPUs,
 * written for 32-bit integers only: WebGL2's GLSL ES 3.0 and WebGPU's WGSL have no 64-bit type, so
 * each 64-bit word is a pair (x = low half, y = high half), added with a carry and rotated by
 * swapping and shifting halves. The rounds are unrolled here with their message schedule resolved,
 * so the shader indexes no arrays and skips the eleven message words that are zero (a 40-byte input).
 * Both languages share one text: only declarations and the helpers differ.
 */

import { INPUT_BYTES, IV, PARAM0, SIGMA } from "../blake2b-constants.js";

export type ShaderLanguage = "glsl" | "wgsl";

/** The first state word: the parameter block folded into the IV. */
const H0 = IV[0] ^ PARAM0;
const U64 = (1n << 64n) - 1n;
/** Message words that carry input (nonce, four root words); the other eleven are zero. */
const MESSAGE_WORDS = 5;

interface Dialect {
  vec: string;
  declare(name: string, value: string): string;
  helpers: string;
  signature: string;
}

const DIALECTS: Record<ShaderLanguage, Dialect> = {
  glsl: {
    vec: "uvec2",
    declare: (name, value) => `uvec2 ${name} = ${value};`,
    helpers: `
uvec2 add64(uvec2 a, uvec2 b) {
  uint lo = a.x + b.x;
  return uvec2(lo, a.y + b.y + uint(lo < a.x));
}
uvec2 rotr64(uvec2 v, uint n) {
  return uvec2((v.x >> n) | (v.y << (32u - n)), (v.y >> n) | (v.x << (32u - n)));
}
uvec2 rotl1(uvec2 v) {
  return uvec2((v.x << 1u) | (v.y >> 31u), (v.y << 1u) | (v.x >> 31u));
}
bool reaches(uvec2 value, uvec2 threshold) {
  return value.y > threshold.y || (value.y == threshold.y && value.x >= threshold.x);
}`,
    signature: "uvec2 workValue(uvec2 m0, uvec2 m1, uvec2 m2, uvec2 m3, uvec2 m4)",
  },
  wgsl: {
    vec: "vec2<u32>",
    declare: (name, value) => `var ${name}: vec2<u32> = ${value};`,
    helpers: `
fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let lo = a.x + b.x;
  return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}
fn rotr64(v: vec2<u32>, n: u32) -> vec2<u32> {
  return vec2<u32>((v.x >> n) | (v.y << (32u - n)), (v.y >> n) | (v.x << (32u - n)));
}
fn rotl1(v: vec2<u32>) -> vec2<u32> {
  return vec2<u32>((v.x << 1u) | (v.y >> 31u), (v.y << 1u) | (v.x >> 31u));
}
fn reaches(value: vec2<u32>, threshold: vec2<u32>) -> bool {
  return value.y > threshold.y || (value.y == threshold.y && value.x >= threshold.x);
}`,
    signature:
      "fn workValue(m0: vec2<u32>, m1: vec2<u32>, m2: vec2<u32>, m3: vec2<u32>, m4: vec2<u32>) -> vec2<u32>",
  },
};

function hex32(value: bigint): string {
  return `0x${value.toString(16).padStart(8, "0")}u`;
}

/** A 64-bit constant as a pair literal, low half first. */
function constant(dialect: Dialect, value: bigint): string {
  return `${dialect.vec}(${hex32(value & 0xffffffffn)}, ${hex32(value >> 32n)})`;
}

/** One G mixing step on v[a], v[b], v[c], v[d] with message words x and y (skipped when zero). */
function mix(a: number, b: number, c: number, d: number, x: number, y: number): string[] {
  const withWord = (sum: string, word: number) => (word < MESSAGE_WORDS ? `add64(${sum}, m${word})` : sum);
  return [
    `v${a} = ${withWord(`add64(v${a}, v${b})`, x)};`,
    `v${d} = (v${d} ^ v${a}).yx;`,
    `v${c} = add64(v${c}, v${d});`,
    `v${b} = rotr64(v${b} ^ v${c}, 24u);`,
    `v${a} = ${withWord(`add64(v${a}, v${b})`, y)};`,
    `v${d} = rotr64(v${d} ^ v${a}, 16u);`,
    `v${c} = add64(v${c}, v${d});`,
    `v${b} = rotl1(v${b} ^ v${c});`,
  ];
}

/**
 * Source of `workValue(m0..m4)`: the work value (as a pair) of nonce m0 for the root whose
 * little-endian 64-bit words are m1..m4; and of `reaches(value, threshold)`, the unsigned compare.
 */
export function workHashSource(language: ShaderLanguage): string {
  const dialect = DIALECTS[language];
  const h = [H0, ...IV.slice(1)];
  const start = [...h, IV[0], IV[1], IV[2], IV[3], IV[4] ^ INPUT_BYTES, IV[5], IV[6] ^ U64, IV[7]];
  const body = start.map((value, i) => dialect.declare(`v${i}`, constant(dialect, value)));
  for (let round = 0; round < 12; round++) {
    const s = SIGMA[round % 10] as readonly number[];
    const word = (i: number) => s[i] as number;
    body.push(
      ...mix(0, 4, 8, 12, word(0), word(1)),
      ...mix(1, 5, 9, 13, word(2), word(3)),
      ...mix(2, 6, 10, 14, word(4), word(5)),
      ...mix(3, 7, 11, 15, word(6), word(7)),
      ...mix(0, 5, 10, 15, word(8), word(9)),
      ...mix(1, 6, 11, 12, word(10), word(11)),
      ...mix(2, 7, 8, 13, word(12), word(13)),
      ...mix(3, 4, 9, 14, word(14), word(15)),
    );
  }
  body.push(`return ${constant(dialect, H0)} ^ v0 ^ v8;`);
  return `${dialect.helpers}\n${dialect.signature} {\n  ${body.join("\n  ")}\n}\n`;
}

/** A u64 as the (low, high) u32 pair the shaders take. */
export function u64Pair(value: bigint): [number, number] {
  return [Number(value & 0xffffffffn), Number((value >> 32n) & 0xffffffffn)];
}

/** The root's four little-endian 64-bit words as eight u32s, low half first (m1..m4). */
export function rootWords(root: Uint8Array): Uint32Array {
  const view = new DataView(root.buffer, root.byteOffset, root.byteLength);
  return Uint32Array.from({ length: 8 }, (_, i) => view.getUint32(i * 4, true));
}
