/**
 * The C reference search (bench/reference.c), compiled on demand with the machine's C compiler at
 * -O3 -march=native so it uses the CPU's widest SIMD, and run as a child process.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const SOURCE = fileURLToPath(new URL("../../bench/reference.c", import.meta.url));
const BINARY = fileURLToPath(new URL("../../bench/out/reference", import.meta.url));

/** GCC prefers 256-bit vectors even where 512-bit ones exist; the reference should use the widest. */
const FLAG_SETS = [
  ["-O3", "-march=native", "-mprefer-vector-width=512"],
  ["-O3", "-march=native"],
];

/** Builds the reference if needed; returns undefined (with the reason) when there is no compiler. */
export function buildReference(): { binary: string } | { error: string } {
  if (!existsSync(SOURCE)) return { error: `${SOURCE} is missing` };
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) return { binary: BINARY };
  mkdirSync(fileURLToPath(new URL("../../bench/out/", import.meta.url)), { recursive: true });
  let why = "";
  for (const flags of FLAG_SETS) {
    const result = spawnSync(process.env.CC ?? "cc", [...flags, "-o", BINARY, SOURCE], { encoding: "utf8" });
    if (result.status === 0) return { binary: BINARY };
    why = result.error ? result.error.message : (result.stderr.split("\n")[0] ?? "");
  }
  return { error: `cannot compile the C reference (${why})` };
}

/** One timed run: MH/s, and the first nonce from 0 meeting `threshold` (to check the C is right). */
export function runReference(
  binary: string,
  seconds: number,
  rootHex: string,
  thresholdHex: string,
): { mhs: number; nonce: bigint } {
  const out = execFileSync(binary, [String(seconds), rootHex, thresholdHex], { encoding: "utf8" });
  const parsed = JSON.parse(out) as { mhs: number; nonce: string };
  return { mhs: parsed.mhs, nonce: BigInt(`0x${parsed.nonce}`) };
}
