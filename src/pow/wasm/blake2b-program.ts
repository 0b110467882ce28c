/**
 * The Nano work hash as a straight-line program: blake2b-64 over nonce (8 bytes) || root (32 bytes).
 *
 * The input fits one compression and only message words 0..4 are non-zero (word 0 is the nonce,
 * words 1..4 the root), and only the first output word is needed. Building the 12 rounds as an
 * explicit list of operations lets us fold every constant, drop additions of zero words, drop the
 * operations the first output word does not depend on, and tell which values are the same for every
 * nonce ("uniform": computed once per root) from those that depend on the nonce ("varying").
 */

import { INPUT_BYTES, IV, PARAM0, SIGMA } from "../blake2b-constants.js";

export type Operand = number; // index into Program.nodes

export type Node =
  | { op: "const"; value: bigint }
  | { op: "nonce" } // message word 0, varying
  | { op: "root"; word: number } // message words 1..4 (word 0..3 of the root), uniform
  | { op: "add" | "xor"; a: Operand; b: Operand; varying: boolean }
  | { op: "rotr"; a: Operand; bits: number; varying: boolean };

export interface Program {
  nodes: Node[];
  /** The hash value (the first output word); every node it does not depend on has been removed. */
  output: Operand;
}

const MASK = (1n << 64n) - 1n;

class Builder {
  readonly nodes: Node[] = [];
  private readonly constants = new Map<bigint, Operand>();

  constant(value: bigint): Operand {
    const known = this.constants.get(value);
    if (known !== undefined) return known;
    const id = this.push({ op: "const", value });
    this.constants.set(value, id);
    return id;
  }

  nonce(): Operand {
    return this.push({ op: "nonce" });
  }

  root(word: number): Operand {
    return this.push({ op: "root", word });
  }

  add(a: Operand, b: Operand): Operand {
    const x = this.constValue(a);
    const y = this.constValue(b);
    if (x !== undefined && y !== undefined) return this.constant((x + y) & MASK);
    if (y === 0n) return a;
    if (x === 0n) return b;
    return this.push({ op: "add", a, b, varying: this.varying(a) || this.varying(b) });
  }

  xor(a: Operand, b: Operand): Operand {
    const x = this.constValue(a);
    const y = this.constValue(b);
    if (x !== undefined && y !== undefined) return this.constant(x ^ y);
    if (y === 0n) return a;
    if (x === 0n) return b;
    return this.push({ op: "xor", a, b, varying: this.varying(a) || this.varying(b) });
  }

  rotr(a: Operand, bits: number): Operand {
    const x = this.constValue(a);
    if (x !== undefined) return this.constant(((x >> BigInt(bits)) | (x << BigInt(64 - bits))) & MASK);
    return this.push({ op: "rotr", a, bits, varying: this.varying(a) });
  }

  varying(id: Operand): boolean {
    const node = this.node(id);
    if (node.op === "nonce") return true;
    return "varying" in node && node.varying;
  }

  node(id: Operand): Node {
    const node = this.nodes[id];
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  private constValue(id: Operand): bigint | undefined {
    const node = this.node(id);
    return node.op === "const" ? node.value : undefined;
  }

  private push(node: Node): Operand {
    this.nodes.push(node);
    return this.nodes.length - 1;
  }
}

function buildRaw(): { builder: Builder; output: Operand } {
  const b = new Builder();
  const zero = b.constant(0n);
  const m: Operand[] = [b.nonce(), b.root(0), b.root(1), b.root(2), b.root(3)];
  while (m.length < 16) m.push(zero);
  const h0 = (IV[0] ^ PARAM0) & MASK;
  const v: Operand[] = [
    b.constant(h0),
    ...IV.slice(1).map((x) => b.constant(x)),
    ...IV.slice(0, 4).map((x) => b.constant(x)),
    b.constant(IV[4] ^ INPUT_BYTES),
    b.constant(IV[5]),
    b.constant(IV[6] ^ MASK), // final block flag
    b.constant(IV[7]),
  ];
  const word = (i: number) => m[i] as Operand;
  const g = (ia: number, ib: number, ic: number, id: number, x: Operand, y: Operand) => {
    let [a, bb, c, d] = [v[ia], v[ib], v[ic], v[id]] as [Operand, Operand, Operand, Operand];
    a = b.add(b.add(a, bb), x);
    d = b.rotr(b.xor(d, a), 32);
    c = b.add(c, d);
    bb = b.rotr(b.xor(bb, c), 24);
    a = b.add(b.add(a, bb), y);
    d = b.rotr(b.xor(d, a), 16);
    c = b.add(c, d);
    bb = b.rotr(b.xor(bb, c), 63);
    [v[ia], v[ib], v[ic], v[id]] = [a, bb, c, d];
  };
  for (let round = 0; round < 12; round++) {
    const s = SIGMA[round % 10] as readonly number[];
    const msg = (i: number) => word(s[i] as number);
    g(0, 4, 8, 12, msg(0), msg(1));
    g(1, 5, 9, 13, msg(2), msg(3));
    g(2, 6, 10, 14, msg(4), msg(5));
    g(3, 7, 11, 15, msg(6), msg(7));
    g(0, 5, 10, 15, msg(8), msg(9));
    g(1, 6, 11, 12, msg(10), msg(11));
    g(2, 7, 8, 13, msg(12), msg(13));
    g(3, 4, 9, 14, msg(14), msg(15));
  }
  const output = b.xor(b.xor(b.constant(h0), v[0] as Operand), v[8] as Operand);
  return { builder: b, output };
}

function operands(node: Node): Operand[] {
  if (node.op === "add" || node.op === "xor") return [node.a, node.b];
  if (node.op === "rotr") return [node.a];
  return [];
}

/** Keeps only the nodes the output depends on, renumbered in their original (topological) order. */
function withoutDeadNodes(nodes: Node[], output: Operand): Program {
  const live = new Array<boolean>(nodes.length).fill(false);
  live[output] = true;
  for (let id = nodes.length - 1; id >= 0; id--) {
    if (!live[id]) continue;
    for (const o of operands(nodes[id] as Node)) live[o] = true;
  }
  const renumber = new Map<Operand, Operand>();
  const kept: Node[] = [];
  nodes.forEach((node, id) => {
    if (!live[id]) return;
    const map = (o: Operand) => renumber.get(o) as Operand;
    renumber.set(id, kept.length);
    if (node.op === "add" || node.op === "xor") kept.push({ ...node, a: map(node.a), b: map(node.b) });
    else if (node.op === "rotr") kept.push({ ...node, a: map(node.a) });
    else kept.push(node);
  });
  return { nodes: kept, output: renumber.get(output) as Operand };
}

let cached: Program | undefined;

export function workHashProgram(): Program {
  if (cached === undefined) {
    const { builder, output } = buildRaw();
    cached = withoutDeadNodes(builder.nodes, output);
  }
  return cached;
}

export function isVarying(node: Node): boolean {
  return node.op === "nonce" || ("varying" in node && node.varying);
}

/** Evaluates the program for one nonce in plain BigInt arithmetic (used to test the program itself). */
export function evaluate(program: Program, nonce: bigint, rootWords: readonly bigint[]): bigint {
  const values: bigint[] = [];
  const at = (o: Operand) => values[o] as bigint;
  for (const node of program.nodes) {
    switch (node.op) {
      case "const":
        values.push(node.value);
        break;
      case "nonce":
        values.push(nonce);
        break;
      case "root":
        values.push(rootWords[node.word] as bigint);
        break;
      case "add":
        values.push((at(node.a) + at(node.b)) & MASK);
        break;
      case "xor":
        values.push(at(node.a) ^ at(node.b));
        break;
      case "rotr": {
        const x = at(node.a);
        values.push(((x >> BigInt(node.bits)) | (x << BigInt(64 - node.bits))) & MASK);
        break;
      }
    }
  }
  return at(program.output);
}
