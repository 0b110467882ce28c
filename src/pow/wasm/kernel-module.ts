/**
 * Writes the WASM work kernel from the work-hash program: a function
 *   search(start: i64, count: i32, threshold: i64) -> i32
 * that hashes nonces start, start+1, ... (count of them, any count) for the root stored in memory
 * bytes 0..31 and stops at the first whose value is >= threshold (unsigned): it then stores that
 * nonce at byte 32 and its value at byte 40 and returns 1; it returns 0 when none qualifies.
 *
 * Two flavours:
 * - "scalar": one nonce per step, in i64 locals with the native i64.rotr;
 * - "simd": three nonces per step, two in the lanes of an i64x2 vector and a third in scalar i64
 *   locals, whose instructions run on the integer ports the vector code leaves idle (on this
 *   machine: 18.5 MH/s against 14 for the vector alone). The 0..2 nonces left at the end of a call
 *   go through the scalar loop.
 * Values that do not depend on the nonce are computed once per call, before the loops.
 */
import { isVarying, type Node, type Operand, type Program, workHashProgram } from "./blake2b-program.js";
import { BLOCK_EMPTY, FunctionBody, OP, SIMD, writeModule } from "./wasm-writer.js";

export type WasmFlavour = "simd" | "scalar";

/** Memory layout shared with the JS side; `scratch` is written by the kernel only (see fence()). */
export const MEMORY = { root: 0, nonce: 32, value: 40, scratch: 48 } as const;

const START = 0;
const COUNT = 1;
const THRESHOLD = 2;

/** Nonces per step of the "simd" loop: two vector lanes and one scalar. */
const MIXED_STEP = 3;

/**
 * V8 schedules each independent dependency chain as a whole: left alone, it emits the whole vector
 * hash and then the whole scalar one, too far apart for the CPU's out-of-order window to overlap
 * them (measured: slower than the vector alone). A branch every this many operations on a value
 * that needs both chains up to there pins them into the same stretch of code (35..50 measured best).
 */
const FENCE_EVERY = 40;

/** Unsigned compare via the signed one: x >=u t  <=>  (x ^ 2^63) >=s (t ^ 2^63). */
const SIGN = 1n << 63n;

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

/** The nodes computed per nonce, in program (topological) order; the nonce itself is an input. */
function varyingNodes(nodes: Node[]): Operand[] {
  const ids: Operand[] = [];
  nodes.forEach((node, id) => {
    if (isVarying(node) && node.op !== "nonce") ids.push(id);
  });
  return ids;
}

/** Emits a rotr, add or xor node in scalar i64, its operands pushed by `push`; other nodes emit nothing. */
function scalarOp(f: FunctionBody, node: Node, push: (o: Operand) => void): void {
  if (node.op === "rotr") {
    push(node.a);
    f.i64(BigInt(node.bits)).op(OP.i64Rotr);
  } else if (node.op === "add" || node.op === "xor") {
    push(node.a);
    push(node.b);
    f.op(node.op === "add" ? OP.i64Add : OP.i64Xor);
  }
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
    if (node.op === "root") f.i32(0).memory(OP.i64Load, MEMORY.root + 8 * node.word);
    else scalarOp(f, node, push);
    const l = f.local("i64");
    f.set(l);
    local.set(id, l);
  });
  return local;
}

/** One nonce's (or one vector of nonces') hash, emitted node by node into locals. */
interface Lane {
  emit(id: Operand): void;
  /** Pushes a node's value (after emit(id)). */
  push(id: Operand): void;
}

/** The hash of the nonce `pushNonce` pushes, in scalar i64 locals. */
function scalarLane(
  f: FunctionBody,
  nodes: Node[],
  uniform: Map<Operand, number>,
  pushNonce: () => void,
): Lane {
  const values = new Map<Operand, number>();
  const push = (o: Operand) => {
    const node = nodes[o] as Node;
    if (node.op === "const") f.i64(node.value);
    else if (node.op === "nonce") pushNonce();
    else f.get((values.get(o) ?? uniform.get(o)) as number);
  };
  return {
    push,
    emit(id) {
      scalarOp(f, nodes[id] as Node, push);
      const l = f.local("i64");
      f.set(l);
      values.set(id, l);
    },
  };
}

/** Locals a vector lane reads: uniform values splatted once, the byte-rotation masks. */
interface VectorInputs {
  splat: Map<Operand, number>;
  masks: Map<number, number>;
}

/** Emitted once per call, before the loops. */
function vectorInputs(f: FunctionBody, nodes: Node[], uniform: Map<Operand, number>): VectorInputs {
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
  // Rotations by 16 and 24 are byte swizzles. With the mask in a local, V8 emits one pshufb; an
  // i8x16.shuffle with immediate lanes costs it four more instructions to build the mask each time.
  const masks = new Map<number, number>();
  for (const bits of [16, 24]) {
    const l = f.local("v128");
    f.simd(SIMD.v128Const, ...rotateBytes(bits)).set(l);
    masks.set(bits, l);
  }
  return { splat, masks };
}

function v128Splat(f: FunctionBody, value: bigint): void {
  f.simd(SIMD.v128Const, ...u64Bytes(value), ...u64Bytes(value));
}

/** The hash of the two nonces in the i64x2 local `nonces`. */
function vectorLane(f: FunctionBody, nodes: Node[], inputs: VectorInputs, nonces: number): Lane {
  const values = new Map<Operand, number>();
  const push = (o: Operand) => {
    const n = nodes[o] as Node;
    if (n.op === "const") v128Splat(f, n.value);
    else if (n.op === "nonce") f.get(nonces);
    else f.get((values.get(o) ?? inputs.splat.get(o)) as number);
  };
  return {
    push,
    emit(id) {
      const node = nodes[id] as Node;
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
        f.get(inputs.masks.get(node.bits) as number).simd(SIMD.i8x16Swizzle);
      } else if (node.op === "add" || node.op === "xor") {
        push(node.a);
        push(node.b);
        f.simd(node.op === "add" ? SIMD.i64x2Add : SIMD.v128Xor);
      }
      const l = f.local("v128");
      f.set(l);
      values.set(id, l);
    },
  };
}

/**
 * Ties the vector and the scalar chain together at node `id` (see FENCE_EVERY): branches on
 * lane 0 of the vector xor the scalar being zero. The taken branch (odds 2^-64) only writes the
 * scratch word, so the result never depends on it.
 */
function fence(f: FunctionBody, vector: Lane, scalar: Lane, id: Operand): void {
  vector.push(id);
  f.simd(SIMD.i64x2ExtractLane, 0);
  scalar.push(id);
  f.op(OP.i64Xor, OP.i64Eqz, OP.if, BLOCK_EMPTY);
  f.i32(0).i64(1n).memory(OP.i64Store, MEMORY.scratch);
  f.op(OP.end);
}

/** Stores the nonce and value the two callbacks push and returns 1 from the search. */
function found(f: FunctionBody, pushNonce: () => void, pushValue: () => void): void {
  f.i32(0);
  pushNonce();
  f.memory(OP.i64Store, MEMORY.nonce);
  f.i32(0);
  pushValue();
  f.memory(OP.i64Store, MEMORY.value).i32(1).op(OP.return);
}

/** Advances START by `step` nonces and COUNT down by as many. */
function advance(f: FunctionBody, step: number): void {
  f.get(START).i64(BigInt(step)).op(OP.i64Add).set(START);
  f.get(COUNT).i32(step).op(OP.i32Sub).set(COUNT);
}

/** One nonce per step until COUNT is 0: the "scalar" flavour, and the tail of the "simd" one. */
function scalarLoop(f: FunctionBody, program: Program, uniform: Map<Operand, number>): void {
  const { nodes } = program;
  f.op(OP.block, BLOCK_EMPTY, OP.loop, BLOCK_EMPTY);
  f.get(COUNT).op(OP.i32Eqz, OP.brIf, 1);
  const lane = scalarLane(f, nodes, uniform, () => f.get(START));
  for (const id of varyingNodes(nodes)) lane.emit(id);
  lane.push(program.output);
  f.get(THRESHOLD).op(OP.i64GeU, OP.if, BLOCK_EMPTY);
  found(
    f,
    () => f.get(START),
    () => lane.push(program.output),
  );
  f.op(OP.end);
  advance(f, 1);
  f.op(OP.br, 0, OP.end, OP.end);
}

/** Nonces START, START+1 in the vector and START+2 in the scalar lane, while COUNT >= 3. */
function mixedLoop(f: FunctionBody, program: Program, uniform: Map<Operand, number>): void {
  const { nodes } = program;
  const inputs = vectorInputs(f, nodes, uniform);
  const signedThreshold = f.local("v128");
  f.get(THRESHOLD).i64(SIGN).op(OP.i64Xor).simd(SIMD.i64x2Splat).set(signedThreshold);
  const nonces = f.local("v128");
  const third = f.local("i64");

  f.op(OP.block, BLOCK_EMPTY, OP.loop, BLOCK_EMPTY);
  f.get(COUNT).i32(MIXED_STEP).op(OP.i32LtU, OP.brIf, 1);
  f.get(START).simd(SIMD.i64x2Splat);
  f.simd(SIMD.v128Const, ...u64Bytes(0n), ...u64Bytes(1n));
  f.simd(SIMD.i64x2Add).set(nonces);
  f.get(START).i64(2n).op(OP.i64Add).set(third);
  const vector = vectorLane(f, nodes, inputs, nonces);
  const scalar = scalarLane(f, nodes, uniform, () => f.get(third));
  varyingNodes(nodes).forEach((id, i) => {
    vector.emit(id);
    scalar.emit(id);
    if (i % FENCE_EVERY === FENCE_EVERY - 1) fence(f, vector, scalar, id);
  });

  // One branch for all three, then the first qualifying nonce in nonce order.
  vector.push(program.output);
  v128Splat(f, SIGN);
  f.simd(SIMD.v128Xor).get(signedThreshold).simd(SIMD.i64x2GeS).simd(SIMD.v128AnyTrue);
  scalar.push(program.output);
  f.get(THRESHOLD).op(OP.i64GeU, OP.i32Or, OP.if, BLOCK_EMPTY);
  for (const lane of [0, 1]) {
    const pushValue = () => {
      vector.push(program.output);
      f.simd(SIMD.i64x2ExtractLane, lane);
    };
    pushValue();
    f.get(THRESHOLD).op(OP.i64GeU, OP.if, BLOCK_EMPTY);
    found(f, () => f.get(nonces).simd(SIMD.i64x2ExtractLane, lane), pushValue);
    f.op(OP.end);
  }
  found(
    f,
    () => f.get(third),
    () => scalar.push(program.output),
  );
  f.op(OP.end);
  advance(f, MIXED_STEP);
  f.op(OP.br, 0, OP.end, OP.end);
}

function search(flavour: WasmFlavour, program: Program): FunctionBody {
  const f = new FunctionBody(3);
  const uniform = emitUniform(f, program.nodes);
  if (flavour === "simd") mixedLoop(f, program, uniform);
  scalarLoop(f, program, uniform);
  f.i32(0);
  return f;
}

export function kernelModuleBytes(flavour: WasmFlavour): Uint8Array<ArrayBuffer> {
  const body = search(flavour, workHashProgram());
  return writeModule({ params: ["i64", "i32", "i64"], results: ["i32"] }, [{ name: "search", body }]);
}
