import { defineConfig } from "vitest/config";

/** `npm run chaos`: the chaos run alone (test/chaos/), outside the default suite's include. */
export default defineConfig({
  test: {
    include: ["test/chaos/**/*.run.ts"],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
