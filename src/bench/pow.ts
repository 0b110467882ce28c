/**
 * PoW engine benchmark: the native and WASM kernels on one thread, the engine on all threads, the
 * C reference and the nanocurrency package, measured in the same run and interleaved run by run so
 * that background load affects all of them alike; medians are reported.
 */
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { bytesToHex, formatU64, U64_MAX } from "../nano/hex.js";
import { workValue } from "../nano/work.js";
import type { SearchKernel } from "../pow/kernel.js";
import { nativeKernel, nativeVariants } from "../pow/native/native-kernel.js";
import { WorkPool } from "../pow/pool.js";
import { compileKernelModule, wasmKernel } from "../pow/wasm/wasm-kernel.js";
import { buildReference, runReference } from "./reference-c.js";
import { type BenchContext, type BenchSection, median } from "./section.js";

/** Low enough that a correctness probe finds work in a fraction of a second. */
const PROBE_THRESHOLD = 0xfff0000000000000n;
/** nanocurrency runs to completion; at this difficulty a call takes about a quarter second. */
const NANOCURRENCY_THRESHOLD = "fffff00000000000";

/** CPU milliseconds this process has used: the single-thread rates are per CPU second. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * Million hashes per CPU second of a kernel on this thread, searching for a value no nonce reaches.
 * CPU time rather than wall time, here and in the C reference, so that other load on the machine
 * (time this thread spends descheduled) does not skew the comparison.
 */
function kernelRate(kernel: SearchKernel, seconds: number): number {
  const root = randomBytes(32);
  const batch = 1 << 18;
  let hashed = 0;
  const began = cpuMs();
  let elapsed = 0;
  while (elapsed < seconds * 1000) {
    kernel.search(root, BigInt(hashed), batch, U64_MAX);
    hashed += batch;
    elapsed = cpuMs() - began;
  }
  return hashed / elapsed / 1000;
}

/** Checks a kernel against nano/'s workValue before timing it: a fast wrong kernel is worthless. */
function probe(kernel: SearchKernel): void {
  const root = randomBytes(32);
  const nonce = kernel.search(root, 0n, 1 << 24, PROBE_THRESHOLD);
  if (nonce === undefined || workValue(root, nonce) < PROBE_THRESHOLD) {
    throw new Error(`the ${kernel.name} kernel returned wrong work; not benchmarking it`);
  }
}

/**
 * The all-threads rate of the pool in wall time (the throughput a user gets, so background load
 * lowers it), and how long its threads take to go idle after a cancel.
 */
async function poolRun(pool: WorkPool, seconds: number): Promise<{ mhs: number; cancelMs: number }> {
  const before = pool.hashesDone;
  const abort = new AbortController();
  const began = performance.now();
  const job = pool.generate(randomBytes(32), U64_MAX, { signal: abort.signal }).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const cancelled = performance.now();
  abort.abort();
  await pool.idle();
  const idle = performance.now();
  await job;
  return { mhs: (pool.hashesDone - before) / (idle - began) / 1000, cancelMs: idle - cancelled };
}

type ComputeWork = (hash: string, params: { workThreshold: string }) => Promise<string | null>;

async function loadNanocurrency(): Promise<ComputeWork | undefined> {
  try {
    const mod = (await import("nanocurrency")) as {
      computeWork?: ComputeWork;
      default?: { computeWork?: ComputeWork };
    };
    return mod.computeWork ?? mod.default?.computeWork;
  } catch {
    return undefined;
  }
}

/**
 * nanocurrency's computeWork cannot be stopped, so it runs whole searches; it scans nonces upward
 * from 0, so the work it returns + 1 is exactly the number of hashes it did.
 */
async function nanocurrencyRate(computeWork: ComputeWork, seconds: number): Promise<number> {
  let hashes = 0;
  const began = cpuMs();
  while (cpuMs() - began < seconds * 1000) {
    const root = randomBytes(32);
    const work = await computeWork(bytesToHex(root), { workThreshold: NANOCURRENCY_THRESHOLD });
    if (work === null) continue;
    const nonce = BigInt(`0x${work}`);
    if (workValue(root, nonce) < BigInt(`0x${NANOCURRENCY_THRESHOLD}`))
      throw new Error("nanocurrency returned bad work");
    hashes += Number(nonce) + 1;
  }
  return hashes / (cpuMs() - began) / 1000;
}

const fmt = (mhs: number | null) => (mhs === null ? "n/a" : `${mhs.toFixed(1)} MH/s`);
const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : a / b);
const times = (r: number | null, of: string) => (r === null ? "" : `  ${r.toFixed(2)}x ${of}`);
const round = (x: number | null, digits = 2) => (x === null ? null : Number(x.toFixed(digits)));

async function run(context: BenchContext): Promise<Record<string, unknown>> {
  const { seconds, runs, log } = context;
  const variant = nativeVariants()[0];
  const native = variant === undefined ? undefined : nativeKernel(variant);
  const wasm = wasmKernel(compileKernelModule());
  const reference = buildReference();
  const computeWork = await loadNanocurrency();
  const threads = availableParallelism();
  const pool = await WorkPool.start({ threads });
  if (native) probe(native);
  probe(wasm);
  kernelRate(wasm, 0.2); // let V8 tier the kernel up to optimised code before timing it
  if (!native) log("native kernel: not built (the engine uses WASM)");
  if ("error" in reference) log(`C reference: ${reference.error}`);
  if (!computeWork) log("nanocurrency: not installed (it is a devDependency)");

  const rootHex = bytesToHex(randomBytes(32));
  const samples = { native: [] as number[], wasm: [] as number[], reference: [] as number[] };
  const all: number[] = [];
  const cancel: number[] = [];
  const nano: number[] = [];
  try {
    for (let r = 0; r < runs; r++) {
      if ("binary" in reference) {
        const result = runReference(reference.binary, seconds, rootHex, formatU64(PROBE_THRESHOLD));
        if (workValue(Buffer.from(rootHex, "hex"), result.nonce) < PROBE_THRESHOLD) {
          throw new Error("the C reference computed wrong work");
        }
        samples.reference.push(result.mhs);
      }
      if (native) samples.native.push(kernelRate(native, seconds));
      samples.wasm.push(kernelRate(wasm, seconds));
      const p = await poolRun(pool, seconds);
      all.push(p.mhs);
      cancel.push(p.cancelMs);
      if (computeWork) nano.push(await nanocurrencyRate(computeWork, seconds));
      log(`  run ${r + 1}/${runs} done`);
    }
  } finally {
    await pool.close();
  }
  const med = (xs: number[]) => (xs.length === 0 ? null : median(xs));
  const nativeMhs = med(samples.native);
  const wasmMhs = med(samples.wasm);
  const referenceMhs = med(samples.reference);
  const allMhs = med(all);
  const nanoMhs = med(nano);
  const oneThread = pool.kernel.startsWith("native") ? nativeMhs : wasmMhs;
  const row = (label: string, value: string, notes = "") =>
    log(`  ${label.padEnd(44)} ${value.padStart(11)}${notes}`);
  row("C reference (-O3 -march=native), 1 thread", fmt(referenceMhs));
  row(
    `native kernel (${variant ?? "not built"}), 1 thread`,
    fmt(nativeMhs),
    times(ratio(nativeMhs, referenceMhs), "reference"),
  );
  row(
    `WASM kernel (${wasm.name}), 1 thread`,
    fmt(wasmMhs),
    `${times(ratio(wasmMhs, referenceMhs), "reference")}${times(ratio(wasmMhs, nanoMhs), "nanocurrency")}`,
  );
  row(
    `engine (${pool.kernel}), ${threads} threads`,
    fmt(allMhs),
    times(ratio(allMhs, oneThread), "one thread"),
  );
  row("nanocurrency computeWork, 1 thread", fmt(nanoMhs));
  row("cancel to idle", `${median(cancel).toFixed(1)} ms`);
  return {
    native_mhs_per_thread: round(nativeMhs),
    native_variant: variant ?? null,
    wasm_mhs_per_thread: round(wasmMhs),
    wasm_kernel: wasm.name,
    mhs_all_threads: round(allMhs),
    threads,
    engine: pool.kernel,
    reference_c_mhs: round(referenceMhs),
    nanocurrency_mhs: round(nanoMhs),
    cancel_ms: round(median(cancel)),
    native_vs_reference: round(ratio(nativeMhs, referenceMhs), 3),
    wasm_vs_reference: round(ratio(wasmMhs, referenceMhs), 3),
    wasm_vs_nanocurrency: round(ratio(wasmMhs, nanoMhs), 3),
    all_threads_vs_one: round(ratio(allMhs, oneThread), 3),
  };
}

export const powSection: BenchSection = { name: "pow", title: "PoW engine", run };
