/**
 * Running fuzz targets: a fixed number of runs (npm test), for a time (npm run fuzz), and replaying
 * the regression cases kept in test/fuzz/regressions/ (one JSON file per counterexample found).
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import type { FuzzTarget } from "./targets.js";

export const REGRESSIONS_DIR = fileURLToPath(new URL("./regressions/", import.meta.url));

export interface Regression {
  target: string;
  /** The raw input, exactly as the target's generator produced it. */
  input: string;
  /** The first line of the failure when it was found (for the reader; not compared). */
  failure: string;
  found: string;
}

export function property(target: FuzzTarget) {
  return fc.property(target.input, (input) => {
    target.check(input);
  });
}

/** Shortens a counterexample for a failure message (the regression file keeps it whole). */
export function clip(input: string): string {
  const text = JSON.stringify(input);
  return text.length > 400 ? `${text.slice(0, 300)}... (${input.length} characters)` : text;
}

/** Runs a target `runs` times from `seed`; throws one readable error on the first counterexample. */
export function assertTarget(target: FuzzTarget, runs: number, seed: number): void {
  const details = fc.check(property(target), { numRuns: runs, seed });
  if (!details.failed) return;
  const input = details.counterexample?.[0] ?? "";
  const why =
    details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(`${target.name} failed (seed ${details.seed}) on ${clip(input)}: ${why.slice(0, 1000)}`);
}

/** A seed per target, so `npm test` runs the same inputs on every machine. */
export function seedOf(name: string): number {
  return createHash("sha256").update(name).digest().readInt32LE(0);
}

export function loadRegressions(): Array<Regression & { file: string }> {
  let files: string[];
  try {
    files = readdirSync(REGRESSIONS_DIR).filter((f) => f.endsWith(".json"));
  } catch {
    return [];
  }
  return files.sort().map((file) => ({
    ...(JSON.parse(readFileSync(REGRESSIONS_DIR + file, "utf8")) as Regression),
    file,
  }));
}

/** Writes a counterexample as a regression case; returns its file name (stable for the same input). */
export function saveRegression(target: string, input: string, failure: unknown): string {
  mkdirSync(REGRESSIONS_DIR, { recursive: true });
  const id = createHash("sha256").update(`${target}\0${input}`).digest("hex").slice(0, 12);
  const file = `${target}-${id}.json`;
  const message = failure instanceof Error ? failure.message : String(failure);
  const regression: Regression = {
    target,
    input,
    failure: (message.split("\n").find((line) => line.trim() !== "") ?? "").slice(0, 300),
    found: new Date().toISOString(),
  };
  writeFileSync(REGRESSIONS_DIR + file, `${JSON.stringify(regression, null, 2)}\n`);
  return file;
}

export interface FuzzReport {
  target: string;
  runs: number;
  seconds: number;
  /** Regression files written for the counterexamples found. */
  found: string[];
}

/**
 * Runs a target until `seconds` have passed: fast-check runs from a fresh random seed until it
 * finds a counterexample (shrunk, then saved) or time is up, and starts again after each one.
 */
export function fuzzFor(target: FuzzTarget, seconds: number): FuzzReport {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const found: string[] = [];
  let runs = 0;
  while (performance.now() < deadline && found.length < 20) {
    const details = fc.check(property(target), {
      numRuns: 2 ** 31 - 1,
      interruptAfterTimeLimit: Math.max(1, deadline - performance.now()),
      markInterruptAsFailure: false,
      seed: Math.floor(Math.random() * 2 ** 31),
    });
    runs += details.numRuns;
    if (!details.failed || !details.counterexample) continue;
    const [input] = details.counterexample;
    found.push(saveRegression(target.name, input, details.errorInstance));
  }
  return { target: target.name, runs, seconds: (performance.now() - started) / 1000, found };
}
