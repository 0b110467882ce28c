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
async function poolRun(
  pool: WorkPool,
  seconds: number,
): Promise<{ mhs: number; cpuMhs: number; cancelMs: number }> {
  const before = pool.hashesDone;
  const abort = new AbortController();
  const began = performance.now();
  const cpuBefore = cpuMs();
  const job = pool.generate(randomBytes(32), U64_MAX, { signal: abort.signal }).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const cancelled = performance.now();
  abort.abort();
  await pool.idle();
  const idle = performance.now();
  await job;
  const hashes = pool.hashesDone - before;
  return {
    mhs: hashes / (idle - began) / 1000,
    cpuMhs: hashes / (cpuMs() - cpuBefore) / 1000,
    cancelMs: idle - cancelled,
  };
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
const percent = (r: number | null) => (r === null ? "n/a" : `${Math.round(r * 100)}%`);
const round = (x: number | null, digits = 2) => (x === null ? null : Number(x.toFixed(digits)));

interface Contenders {
  native: SearchKernel | undefined;
  wasm: SearchKernel;
  reference: { binary: string } | { error: string };
  computeWork: ComputeWork | undefined;
  pool: WorkPool;
}

async function prepare(log: (line: string) => void): Promise<Contenders> {
  const variant = nativeVariants()[0];
  const native = variant === undefined ? undefined : nativeKernel(variant);
  const wasm = wasmKernel(compileKernelModule());
  const reference = buildReference();
  const computeWork = await loadNanocurrency();
  if (native) probe(native);
  probe(wasm);
  kernelRate(wasm, 0.2); // let V8 tier the kernel up to optimised code before timing it
  if (!native) log("  native kernel: not built (the engine uses WASM)");
  if ("error" in reference) log(`  C reference: ${reference.error}`);
  if (!computeWork) log("  nanocurrency: not installed (it is a devDependency)");
  const pool = await WorkPool.start({ threads: availableParallelism() });
  return { native, wasm, reference, computeWork, pool };
}

type Samples = Record<"reference" | "native" | "wasm" | "all" | "allCpu" | "cancel" | "nano", number[]>;

/** One round of every measurement, in a fixed order, so slow phases of background load hit all alike. */
async function measureRound(
  c: Contenders,
  seconds: number,
  rootHex: string,
  samples: Samples,
): Promise<void> {
  if ("binary" in c.reference) {
    const result = runReference(c.reference.binary, seconds, rootHex, formatU64(PROBE_THRESHOLD));
    if (workValue(Buffer.from(rootHex, "hex"), result.nonce) < PROBE_THRESHOLD) {
      throw new Error("the C reference computed wrong work");
    }
    samples.reference.push(result.mhs);
  }
  if (c.native) samples.native.push(kernelRate(c.native, seconds));
  samples.wasm.push(kernelRate(c.wasm, seconds));
  const p = await poolRun(c.pool, seconds);
  samples.all.push(p.mhs);
  samples.allCpu.push(p.cpuMhs);
  samples.cancel.push(p.cancelMs);
  if (c.computeWork) samples.nano.push(await nanocurrencyRate(c.computeWork, seconds));
}

function report(c: Contenders, samples: Samples, log: (line: string) => void): Record<string, unknown> {
  const med = (xs: number[]) => (xs.length === 0 ? null : median(xs));
  const referenceMhs = med(samples.reference);
  const nativeMhs = med(samples.native);
  const wasmMhs = med(samples.wasm);
  const allMhs = med(samples.all);
  const oneThread = c.pool.kernel.startsWith("native") ? nativeMhs : wasmMhs;
  // Hashes per CPU second of the whole pool against one bare kernel: the pool's own overhead,
  // whatever else the machine is doing (the wall-clock rate above also depends on free cores).
  const poolEfficiency = ratio(med(samples.allCpu), oneThread);
  const cancelMs = med(samples.cancel);
  const nanoMhs = med(samples.nano);
  const variant = c.native?.name.replace("native-", "") ?? null;
  const row = (label: string, value: string, notes = "") =>
    log(`  ${label.padEnd(44)} ${value.padStart(11)}${notes}`);
  row("C reference (-O3 -march=native), 1 thread", fmt(referenceMhs));
  row(
    `native kernel (${variant ?? "not built"}), 1 thread`,
    fmt(nativeMhs),
    times(ratio(nativeMhs, referenceMhs), "reference"),
  );
  row(
    `WASM kernel (${c.wasm.name}), 1 thread`,
    fmt(wasmMhs),
    `${times(ratio(wasmMhs, referenceMhs), "reference")}${times(ratio(wasmMhs, nanoMhs), "nanocurrency")}`,
  );
  row(
    `engine (${c.pool.kernel}), ${c.pool.threads} threads`,
    fmt(allMhs),
    `${times(ratio(allMhs, oneThread), "one thread")}  (per CPU second: ${percent(poolEfficiency)} of a bare kernel)`,
  );
  row("nanocurrency computeWork, 1 thread", fmt(nanoMhs));
  row("cancel to idle", cancelMs === null ? "n/a" : `${cancelMs.toFixed(1)} ms`);
  return {
    native_mhs_per_thread: round(nativeMhs),
    native_variant: variant,
    wasm_mhs_per_thread: round(wasmMhs),
    wasm_kernel: c.wasm.name,
    mhs_all_threads: round(allMhs),
    threads: c.pool.threads,
    engine: c.pool.kernel,
    reference_c_mhs: round(referenceMhs),
    nanocurrency_mhs: round(nanoMhs),
    cancel_ms: round(cancelMs),
    native_vs_reference: round(ratio(nativeMhs, referenceMhs), 3),
    wasm_vs_reference: round(ratio(wasmMhs, referenceMhs), 3),
    wasm_vs_nanocurrency: round(ratio(wasmMhs, nanoMhs), 3),
    all_threads_vs_one: round(ratio(allMhs, oneThread), 3),
    pool_cpu_efficiency: round(poolEfficiency, 3),
  };
}

async function run({ seconds, runs, log }: BenchContext): Promise<Record<string, unknown>> {
  log("  (1-thread rates are per CPU second; the all-threads rate is per wall-clock second)");
  const contenders = await prepare(log);
  const samples: Samples = { reference: [], native: [], wasm: [], all: [], allCpu: [], cancel: [], nano: [] };
  const rootHex = bytesToHex(randomBytes(32));
  try {
    for (let r = 0; r < runs; r++) {
      await measureRound(contenders, seconds, rootHex, samples);
      log(`  run ${r + 1}/${runs} done`);
    }
  } finally {
    await contenders.pool.close();
  }
  return report(contenders, samples, log);
}

export const powSection: BenchSection = { name: "pow", title: "PoW engine", run };
