import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

/** Per scenario and fan-out mode; `subset8` is the subset size the test asks for. */
const MODE_FIGURES = [
  "fanOutP99",
  "cancelP99",
  "serviceP50",
  "serviceP99",
  "upcheckP99",
  "deliveriesPerJob",
  "hubServiceP99",
  "microsPerDelivery",
  "brokerMicrosPerDelivery",
];

describe("dpow bench --only scale", () => {
  it("runs the scale section small, subset beside broadcast, and prints its figures as JSON", () => {
    const result = runCli(["bench", "--only", "scale", "--runs", "1", "--json"], {
      env: {
        ...process.env,
        DPOW_BENCH_SCALE: "24@10",
        DPOW_BENCH_SCALE_SECONDS: "1",
        DPOW_BENCH_SCALE_FANOUT: "8,0",
        DPOW_BENCH_SCALE_SOLVE_MS: "200",
        DPOW_BENCH_SCALE_ONDEMAND: "10@20",
        DPOW_BENCH_SCALE_FLOOD: "200",
      },
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain("cancel-to-all p99");
    const figures = JSON.parse(result.stdout) as Record<string, number | null>;
    expect(figures.scale_24_floor_write_us).toBeGreaterThan(0);
    for (const mode of ["subset8", "broadcast"])
      for (const name of MODE_FIGURES) {
        const value = figures[`scale_24_${mode}_${name}`];
        expect(Number.isFinite(value), `${mode} ${name} = ${value}`).toBe(true);
      }
    // Every job reached workers, and its cancel reached exactly those.
    expect(figures.scale_24_subset8_deliveriesPerJob).toBeGreaterThanOrEqual(8);
    expect(figures.scale_24_broadcast_deliveriesPerJob).toBe(24);
    for (const mode of ["subset8", "broadcast"]) {
      expect(figures[`scale_24_${mode}_missedCancels`]).toBe(0);
      expect(figures[`scale_24_${mode}_strayCancels`]).toBe(0);
      expect(figures[`scale_24_${mode}_failures`]).toBe(0);
    }
    expect(figures.scale_ondemand_hub_p50_ms).toBeGreaterThan(0);
    expect(figures.scale_ondemand_floor_p50_ms).toBeGreaterThan(0);
    expect(figures.scale_ondemand_echo_p50_ms).toBeGreaterThan(0);
    // The flood against a real `dpow server`: below its cap every attempt gets in, the hub stays up.
    expect(figures.scale_flood_accepted).toBe(200);
    expect(figures.scale_flood_dropped).toBe(0);
    expect(figures.scale_flood_probe_failures).toBe(0);
    expect(figures.scale_flood_hub_exit).toBe(0);
  }, 120_000);
});
