import { describe, expect, it } from "vitest";
import { MemoryCoordinator } from "../../../src/hub/coordinator/memory.js";
import { RedisCoordinator } from "../../../src/hub/coordinator/redis.js";
import { freePort } from "../../helpers/ports.js";
import { serviceAvailable } from "../../helpers/services.js";
import { coordinatorContract } from "./coordinator-contract.js";
import { redisSpace } from "./stores.js";

coordinatorContract("in memory", async (options) => {
  const coordinator = new MemoryCoordinator(options);
  return { replicas: [coordinator, coordinator], dispose: () => coordinator.close() };
});

if (await serviceAvailable("redis")) {
  coordinatorContract("Redis", async (options) => {
    const space = redisSpace();
    const replicas = await Promise.all(
      [0, 1].map(() => RedisCoordinator.connect(space.url, { ...options, prefix: space.prefix })),
    );
    return {
      replicas: replicas as [RedisCoordinator, RedisCoordinator],
      dispose: async () => {
        for (const replica of replicas) await replica.close();
        await space.drop();
      },
    };
  });
}

describe("RedisCoordinator.connect", () => {
  it("says which server it could not reach and which flag to fix", async () => {
    const port = await freePort();
    await expect(RedisCoordinator.connect(`redis://:secret@127.0.0.1:${port}`)).rejects.toThrow(
      /cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ \(.*ECONNREFUSED.*\); start it or fix --redis/,
    );
  });
});
