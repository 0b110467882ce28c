/**
 * A part of `dpow bench`. Each section measures one subsystem and returns its figures; the command
 * prints its lines and merges every section's figures into one --json object. To add a section,
 * write a module exporting a BenchSection and list it in sections.ts.
 */
export interface BenchContext {
  /** Seconds per measurement in each run. */
  seconds: number;
  /** Runs per measurement; sections report medians over them. */
  runs: number;
  /** A human-readable progress or result line (stderr under --json, stdout otherwise). */
  log(line: string): void;
}

export interface BenchSection {
  readonly name: string;
  readonly title: string;
  run(context: BenchContext): Promise<Record<string, unknown>>;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The value at quantile q (0..1) of `values`, nearest rank. */
export function percentile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}
