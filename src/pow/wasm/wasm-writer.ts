/**
 * Just enough of the WebAssembly binary format to write the work kernel: one memory, functions of
 * one signature, the integer and SIMD instructions the kernel uses. Writing the binary from source
 * at load time means no compiled artefact is committed or shipped, and the browser can do the same.
 */

export type ValType = "i32" | "i64" | "v128";
const TYPE_CODE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, v128: 0x7b };

function uleb(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}

function sleb(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** A u64 as the signed value i64.const takes. */
function i64Bits(value: bigint): bigint {
  return BigInt.asIntN(64, value);
}

/** Opcodes used by the kernel (core MVP and the SIMD proposal, which is prefixed by 0xfd). */
export const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  return: 0x0f,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i64Load: 0x29,
  i64Store: 0x37,
  i32Const: 0x41,
  i64Const: 0x42,
  i32Eqz: 0x45,
  i32LtU: 0x49,
  i64Eqz: 0x50,
  i64GeU: 0x5a,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Or: 0x72,
  i64Add: 0x7c,
  i64Or: 0x84,
  i64Xor: 0x85,
  i64Shl: 0x86,
  i64ShrU: 0x88,
  i64Rotr: 0x8a,
  i64ExtendI32U: 0xad,
} as const;

export const SIMD = {
  v128Const: 12,
  i8x16Shuffle: 13,
  i8x16Swizzle: 14,
  i64x2Splat: 18,
  i64x2ExtractLane: 29,
  v128Or: 80,
  v128Xor: 81,
  v128AnyTrue: 83,
  i64x2Shl: 203,
  i64x2ShrU: 205,
  i64x2Add: 206,
  i64x2GeS: 219,
} as const;

export const BLOCK_EMPTY = 0x40;

/** Accumulates one function body. */
export class FunctionBody {
  private readonly code: number[] = [];
  private readonly locals: ValType[] = [];

  constructor(private readonly paramCount: number) {}

  local(type: ValType): number {
    this.locals.push(type);
    return this.paramCount + this.locals.length - 1;
  }

  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  simd(opcode: number, ...immediates: number[]): this {
    return this.op(0xfd, ...uleb(opcode), ...immediates);
  }

  get(index: number): this {
    return this.op(OP.localGet, ...uleb(index));
  }

  set(index: number): this {
    return this.op(OP.localSet, ...uleb(index));
  }

  i64(value: bigint): this {
    return this.op(OP.i64Const, ...sleb(i64Bits(value)));
  }

  i32(value: number): this {
    return this.op(OP.i32Const, ...sleb(value));
  }

  /** i64 load/store with natural (8-byte) alignment at a constant offset. */
  memory(opcode: number, offset: number): this {
    return this.op(opcode, 3, ...uleb(offset));
  }

  encode(): number[] {
    const groups: number[] = [];
    let count = 0;
    for (let i = 0; i < this.locals.length; ) {
      let j = i;
      while (j < this.locals.length && this.locals[j] === this.locals[i]) j++;
      groups.push(...uleb(j - i), TYPE_CODE[this.locals[i] as ValType]);
      count++;
      i = j;
    }
    const body = [...uleb(count), ...groups, ...this.code, OP.end];
    return [...uleb(body.length), ...body];
  }
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function vector(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...uleb(bytes.length), ...bytes];
}

/** A module with one exported page of memory ("memory") and exported functions of one signature. */
export function writeModule(
  signature: { params: ValType[]; results: ValType[] },
  functions: { name: string; body: FunctionBody }[],
): Uint8Array<ArrayBuffer> {
  const type = [
    0x60,
    ...vector(signature.params.map((t) => [TYPE_CODE[t]])),
    ...vector(signature.results.map((t) => [TYPE_CODE[t]])),
  ];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector([type])),
    ...section(3, vector(functions.map(() => [0]))),
    ...section(5, vector([[0x00, 1]])),
    ...section(
      7,
      vector([[...name("memory"), 0x02, 0], ...functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)])]),
    ),
    ...section(10, vector(functions.map((f) => f.body.encode()))),
  ];
  return new Uint8Array(bytes);
}
