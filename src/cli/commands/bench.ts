import type { Command } from "commander";
import { SECTIONS } from "../../bench/sections.js";
import { action, printJson, UsageError } from "../output.js";

interface BenchFlags {
  seconds: string;
  runs: string;
  only?: string;
  json?: boolean;
}

function positive(text: string, flag: string, max: number): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value > max) {
    throw new UsageError(`${flag} must be a number above 0 and at most ${max}, got "${text}"`);
  }
  return value;
}

async function bench(opts: BenchFlags): Promise<void> {
  const seconds = positive(opts.seconds, "--seconds", 600);
  const runs = Math.round(positive(opts.runs, "--runs", 100));
  const names = opts.only?.split(",").map((s) => s.trim());
  const unknown = names?.filter((n) => !SECTIONS.some((s) => s.name === n)) ?? [];
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown section ${unknown.join(", ")}; sections: ${SECTIONS.map((s) => s.name).join(", ")}`,
    );
  }
  const out = opts.json ? process.stderr : process.stdout;
  const log = (line: string) => out.write(`${line}\n`);
  const figures: Record<string, unknown> = {};
  for (const section of SECTIONS.filter((s) => !names || names.includes(s.name))) {
    log(`${section.title} (${runs} runs of ${seconds} s per measurement, medians)`);
    Object.assign(figures, await section.run({ seconds, runs, log }));
  }
  if (opts.json) printJson(figures);
}

export function registerBench(program: Command): Command {
  return program
    .command("bench")
    .description(
      "measure the performance targets: PoW kernels and engine, hub latency and throughput, precache (each beside a reference from the same run)",
    )
    .option("--seconds <s>", "seconds per measurement in each run", "1")
    .option("--runs <n>", "runs per measurement (medians are reported)", "3")
    .option("--only <sections>", "comma-separated sections to run (default: all)")
    .option("--json", "print the figures as one JSON object on stdout (progress goes to stderr)")
    .action(action(bench));
}
