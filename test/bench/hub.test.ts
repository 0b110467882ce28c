import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

const FIGURES = [
  "hub_ondemand_overhead_p50_ms",
  "hub_ondemand_overhead_p99_ms",
  "hub_ondemand_to_worker_p50_ms",
  "hub_ondemand_to_service_p50_ms",
  "hub_ondemand_winner_mean_ms",
  "hub_ondemand_hub_cpu_percent",
  "hub_ondemand_load_cpu_percent",
  "hub_ws_cache_rps",
  "hub_ws_cache_p99_ms",
  "hub_http_cache_rps",
  "bare_http_rps",
  "hub_http_vs_bare_ratio",
];

describe("dpow bench --only hub", () => {
  it("runs the hub section end to end and prints every figure as JSON", () => {
    const result = runCli(["bench", "--only", "hub", "--seconds", "0.2", "--runs", "1", "--json"]);
    expect(result.stderr).toContain("POST /service/ vs bare node:http");
    expect(result.status, result.stderr).toBe(0);
    const figures = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(figures).sort()).toEqual([...FIGURES].sort());
    for (const name of FIGURES) {
      expect(Number.isFinite(figures[name]), `${name} = ${figures[name]}`).toBe(true);
      expect(figures[name] as number).toBeGreaterThan(0);
    }
  });
});
