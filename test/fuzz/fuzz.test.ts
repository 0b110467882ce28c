/**
 * The fuzz targets (./targets.ts) in `npm test`: a fixed number of generated inputs per target (the
 * same on every machine), each target's 64 MiB input, and every regression case kept in
 * ./regressions/. With FUZZ_SECONDS set (`npm run fuzz`), it also fuzzes for that long and writes
 * each counterexample found as a new regression case.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assertTarget, clip, fuzzFor, loadRegressions, seedOf } from "./runner.js";
import { targets } from "./targets.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);
/** A safety net only: each target takes a few seconds on 2 busy cores; the count of runs is fixed. */
const CEILING = { timeout: 120_000 };

/** What refusing a 64 MiB input may allocate: far less than one copy of it. */
const HEAP_SLACK = 16 << 20;
const used = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

describe("fuzz targets", () => {
  for (const target of targets) {
    it(`${target.name}: ${RUNS} generated inputs (${target.parser})`, CEILING, () => {
      assertTarget(target, RUNS, seedOf(target.name));
    });

    it(`${target.name}: the generator reaches every verdict (${target.verdicts.join(", ")})`, CEILING, () => {
      const counts = new Map<string, number>();
      for (const input of fc.sample(target.input, { numRuns: 1000, seed: seedOf(target.name) })) {
        const verdict = target.check(input);
        counts.set(verdict, (counts.get(verdict) ?? 0) + 1);
      }
      for (const verdict of target.verdicts)
        expect(
          counts.get(verdict) ?? 0,
          `inputs with verdict ${verdict}: ${JSON.stringify([...counts])}`,
        ).toBeGreaterThanOrEqual(10);
    });

    const huge = target.huge;
    if (huge) {
      it(`${target.name}: refuses a 64 MiB input without copying it`, () => {
        const parse = huge();
        parse(); // warms up (and flattens the input string once, outside the measure)
        const before = used();
        const result = parse();
        const grown = used() - before;
        expect(JSON.stringify(result).length).toBeLessThan(1024);
        expect(grown).toBeLessThan(HEAP_SLACK);
      });
    }
  }

  it("replays every regression case in test/fuzz/regressions/", () => {
    const cases = loadRegressions();
    for (const regression of cases) {
      const target = targets.find((t) => t.name === regression.target);
      expect(target, `${regression.file} names a target that exists`).toBeDefined();
      try {
        target?.check(regression.input);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new Error(`${regression.file} (${clip(regression.input)}): ${why.slice(0, 1000)}`);
      }
    }
  });
});

const seconds = Number(process.env.FUZZ_SECONDS ?? 0);
if (seconds > 0) {
  const only = (process.env.FUZZ_TARGET ?? "").split(",").filter((name) => name !== "");
  const chosen = targets.filter((t) => only.length === 0 || only.includes(t.name));
  describe(`fuzzing for ${seconds} s`, () => {
    it("finds no counterexample", { timeout: (seconds + 120) * 1000 }, () => {
      expect(chosen.length, `no target named ${only.join(", ")}`).toBeGreaterThan(0);
      const reports = chosen.map((target) => fuzzFor(target, seconds / chosen.length));
      for (const r of reports) {
        const rate = Math.round(r.runs / r.seconds);
        console.log(
          `${r.target}: ${r.runs} runs in ${r.seconds.toFixed(1)} s (${rate}/s), ${r.found.length} found`,
        );
        for (const file of r.found) console.log(`  new regression case: test/fuzz/regressions/${file}`);
      }
      expect(reports.flatMap((r) => r.found)).toEqual([]);
    });
  });
}
