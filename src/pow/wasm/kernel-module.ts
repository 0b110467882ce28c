/**
 * Writes the WASM work kernel from the work-hash program: a function
 *   search(start: i64, count: i32, threshold: i64) -> i32
 * that hashes nonces start, start+1, ... (count of them) for the root stored in memory bytes 0..31
 * and stops at the first whose value is >= threshold (unsigned): it then stores that nonce at byte
 * 32 and its value at byte 40 and returns 1; it returns 0 when none of the count nonces qualifies.
 *
 * Two flavours: "simd" hashes two nonces per instruction in i64x2 lanes (count must be even),
 * "scalar" one at a time with the native i64.rotr. Values that do not depend on the nonce are
 * computed once per call, before the loop.
 */
import { isVarying, type Node, type Operand, type Program, workHashProgram } from "./blake2b-program.js";
import { BLOCK_EMPTY, FunctionBody, OP, SIMD, writeModule } from "./wasm-writer.js";

export type WasmFlavour = "simd" | "scalar";

/**
 * i64x2 vectors hashed per loop iteration. Two interleaved vectors measured no faster than one in
 * V8 on x64 (16 xmm registers: the second set spills), so one it is.
 */
export const SIMD_VECTORS = 1;

/** Memory layout shared with the JS side. */
export const MEMORY = { root: 0, nonce: 32, value: 40 } as const;

const START = 0;
const COUNT = 1;
const THRESHOLD = 2;

function u64Bytes(value: bigint): number[] {
  const bytes: number[] = [];
  for (let i = 0n; i < 8n; i++) bytes.push(Number((value >> (8n * i)) & 0xffn));
  return bytes;
}

/** Byte indices that rotate each 64-bit lane right by a multiple of 8 bits. */
function rotateBytes(bits: number): number[] {
  const shift = bits / 8;
  const lanes: number[] = [];
  for (let i = 0; i < 16; i++) lanes.push((i & 8) + (((i & 7) + shift) & 7));
  return lanes;
}

/** Emits the uniform (once per call) nodes as scalar i64 locals; returns node -> local. */
function emitUniform(f: FunctionBody, nodes: Node[]): Map<Operand, number> {
  const local = new Map<Operand, number>();
  const push = (o: Operand) => {
    const node = nodes[o] as Node;
    if (node.op === "const") f.i64(node.value);
    else f.get(local.get(o) as number);
  };
  nodes.forEach((node, id) => {
    if (isVarying(node) || node.op === "const" || node.op === "nonce") return;
    if (node.op === "root") {
      f.i32(0).memory(OP.i64Load, MEMORY.root + 8 * node.word);
    } else if (node.op === "rotr") {
      push(node.a);
      f.i64(BigInt(node.bits)).op(OP.i64Rotr);
    } else {
      push(node.a);
      push(node.b);
      f.op(node.op === "add" ? OP.i64Add : OP.i64Xor);
    }
    const l = f.local("i64");
    f.set(l);
    local.set(id, l);
  });
  return local;
}

function scalarSearch(program: Program): FunctionBody {
  const { nodes } = program;
  const f = new FunctionBody(3);
  f.get(COUNT).op(OP.i32Eqz, OP.if, BLOCK_EMPTY).i32(0).op(OP.return, OP.end);
  const uniform = emitUniform(f, nodes);
  const varying = new Map<Operand, number>();
  const push = (o: Operand) => {
    const node = nodes[o] as Node;
    if (node.op === "const") f.i64(node.value);
    else if (node.op === "nonce") f.get(START);
    else f.get((varying.get(o) ?? uniform.get(o)) as number);
  };
  f.op(OP.loop, BLOCK_EMPTY);
  nodes.forEach((node, id) => {
    if (!isVarying(node) || node.op === "nonce") return;
    if (node.op === "rotr") {
      push(node.a);
      f.i64(BigInt(node.bits)).op(OP.i64Rotr);
    } else if (node.op === "add" || node.op === "xor") {
      push(node.a);
      push(node.b);
      f.op(node.op === "add" ? OP.i64Add : OP.i64Xor);
    }
    const l = f.local("i64");
    f.set(l);
    varying.set(id, l);
  });
  push(program.output);
  f.get(THRESHOLD).op(OP.i64GeU, OP.if, BLOCK_EMPTY);
  f.i32(0).get(START).memory(OP.i64Store, MEMORY.nonce);
  f.i32(0);
  push(program.output);
  f.memory(OP.i64Store, MEMORY.value).i32(1).op(OP.return, OP.end);
  f.get(START).i64(1n).op(OP.i64Add).set(START);
  f.get(COUNT).i32(1).op(OP.i32Sub).set(COUNT);
  f.get(COUNT).op(OP.brIf, 0, OP.end);
  f.i32(0);
  return f;
}

/**
 * `vectors` independent i64x2 vectors per iteration (2 * vectors nonces), their operations
 * interleaved so the CPU can overlap them.
 */
function simdSearch(program: Program, vectors: number): FunctionBody {
  const { nodes } = program;
  const lanes = 2 * vectors;
  const f = new FunctionBody(3);
  f.get(COUNT).op(OP.i32Eqz, OP.if, BLOCK_EMPTY).i32(0).op(OP.return, OP.end);
  const uniform = emitUniform(f, nodes);
  const constant = (value: bigint) => f.simd(SIMD.v128Const, ...u64Bytes(value), ...u64Bytes(value));

  // Splat the uniform values that varying nodes read, once, before the loop.
  const splat = new Map<Operand, number>();
  for (const node of nodes) {
    if (!isVarying(node) || (node.op !== "add" && node.op !== "xor")) continue;
    for (const o of [node.a, node.b]) {
      const l = uniform.get(o);
      if (l === undefined || splat.has(o)) continue;
      const s = f.local("v128");
      f.get(l).simd(SIMD.i64x2Splat).set(s);
      splat.set(o, s);
    }
  }
  const vecs = Array.from({ length: vectors }, (_, v) => {
    const nonces = f.local("v128");
    f.get(START).simd(SIMD.i64x2Splat);
    f.simd(SIMD.v128Const, ...u64Bytes(BigInt(2 * v)), ...u64Bytes(BigInt(2 * v + 1)));
    f.simd(SIMD.i64x2Add).set(nonces);
    return { nonces, values: new Map<Operand, number>() };
  });
  // Unsigned compare via the signed one: x >=u t  <=>  (x ^ 2^63) >=s (t ^ 2^63).
  const sign = 1n << 63n;
  const signedThreshold = f.local("v128");
  f.get(THRESHOLD).i64(sign).op(OP.i64Xor).simd(SIMD.i64x2Splat).set(signedThreshold);

  // Rotations by 16 and 24 are byte swizzles. With the mask in a local, V8 emits one pshufb; an
  // i8x16.shuffle with immediate lanes costs it four more instructions to build the mask each time.
  const masks = new Map<number, number>();
  for (const bits of [16, 24]) {
    const l = f.local("v128");
    f.simd(SIMD.v128Const, ...rotateBytes(bits)).set(l);
    masks.set(bits, l);
  }
  f.op(OP.loop, BLOCK_EMPTY);
  nodes.forEach((node, id) => {
    if (!isVarying(node) || node.op === "nonce") return;
    for (const vec of vecs) {
      const push = (o: Operand) => {
        const n = nodes[o] as Node;
        if (n.op === "const") constant(n.value);
        else if (n.op === "nonce") f.get(vec.nonces);
        else f.get((vec.values.get(o) ?? splat.get(o)) as number);
      };
      if (node.op === "rotr" && node.bits === 63) {
        // rotate left by one: (x + x) | (x >> 63)
        push(node.a);
        push(node.a);
        f.simd(SIMD.i64x2Add);
        push(node.a);
        f.i32(63).simd(SIMD.i64x2ShrU).simd(SIMD.v128Or);
      } else if (node.op === "rotr" && node.bits === 32) {
        push(node.a); // swapping the 32-bit halves is a pshufd
        push(node.a);
        f.simd(SIMD.i8x16Shuffle, ...rotateBytes(32));
      } else if (node.op === "rotr") {
        push(node.a);
        f.get(masks.get(node.bits) as number).simd(SIMD.i8x16Swizzle);
      } else if (node.op === "add" || node.op === "xor") {
        push(node.a);
        push(node.b);
        f.simd(node.op === "add" ? SIMD.i64x2Add : SIMD.v128Xor);
      }
      const l = f.local("v128");
      f.set(l);
      vec.values.set(id, l);
    }
  });
  for (const vec of vecs) {
    const output = vec.values.get(program.output) as number;
    f.get(output);
    constant(sign);
    f.simd(SIMD.v128Xor).get(signedThreshold).simd(SIMD.i64x2GeS).simd(SIMD.v128AnyTrue);
    f.op(OP.if, BLOCK_EMPTY);
    for (const lane of [0, 1]) {
      f.get(output).simd(SIMD.i64x2ExtractLane, lane).get(THRESHOLD).op(OP.i64GeU, OP.if, BLOCK_EMPTY);
      f.i32(0).get(vec.nonces).simd(SIMD.i64x2ExtractLane, lane).memory(OP.i64Store, MEMORY.nonce);
      f.i32(0).get(output).simd(SIMD.i64x2ExtractLane, lane).memory(OP.i64Store, MEMORY.value);
      f.i32(1).op(OP.return, OP.end);
    }
    f.op(OP.end);
  }
  for (const vec of vecs) {
    f.get(vec.nonces).simd(SIMD.v128Const, ...u64Bytes(BigInt(lanes)), ...u64Bytes(BigInt(lanes)));
    f.simd(SIMD.i64x2Add).set(vec.nonces);
  }
  f.get(COUNT).i32(lanes).op(OP.i32Sub).set(COUNT);
  f.get(COUNT).op(OP.brIf, 0, OP.end);
  f.i32(0);
  return f;
}

export function kernelModuleBytes(flavour: WasmFlavour): Uint8Array {
  const program = workHashProgram();
  const body = flavour === "simd" ? simdSearch(program, SIMD_VECTORS) : scalarSearch(program);
  return writeModule({ params: ["i64", "i32", "i64"], results: ["i32"] }, [{ name: "search", body }]);
}
