import { describe, expect, it } from "vitest";
import { browserAvailable } from "../helpers/browser.js";
import { runCli } from "../helpers/cli.js";

const FIGURES = [
  "browser_wasm_1t_mhs",
  "browser_wasm_all_mhs",
  "cli_wasm_1t_mhs",
  "browser_1t_vs_cli_ratio",
  "browser_all_vs_threads_ratio",
  "browser_threads",
];

describe.runIf(browserAvailable())("dpow bench --only browser", () => {
  it("measures the browser's WASM pool beside the CLI's kernel and prints every figure as JSON", () => {
    const result = runCli(["bench", "--only", "browser", "--seconds", "0.2", "--runs", "1", "--json"]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain("CLI WASM kernel, 1 thread");
    const figures = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(figures).sort()).toEqual([...FIGURES, "browser_kernel"].sort());
    expect(figures.browser_kernel).toMatch(/^wasm-(simd|scalar)$/);
    for (const name of FIGURES) {
      expect(Number.isFinite(figures[name]), `${name} = ${figures[name]}`).toBe(true);
      expect(figures[name] as number).toBeGreaterThan(0);
    }
  }, 120_000);
});
