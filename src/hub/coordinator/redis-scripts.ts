import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

/**
 * A Lua script run atomically by Redis: by its SHA1 (EVALSHA), loaded on first use or after a
 * Redis restart emptied the script cache (NOSCRIPT).
 */
export class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  async run(redis: Redis, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

/**
 * u64 values travel as 16 hex digits. Lua numbers are doubles, exact only to 2^53, so `atLeast`
 * compares the two 32-bit halves; every script below that compares difficulties starts with it.
 */
const AT_LEAST = `
local function atLeast(a, b)
  local ah, bh = tonumber(string.sub(a, 1, 8), 16), tonumber(string.sub(b, 1, 8), 16)
  if ah ~= bh then return ah > bh end
  return tonumber(string.sub(a, 9, 16), 16) >= tonumber(string.sub(b, 9, 16), 16)
end
`;

/** Milliseconds on Redis's clock, shared by every replica (their own clocks may disagree). */
const NOW = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

/**
 * KEYS: job hash, open-jobs sorted set (member: hash, score: expiry).
 * ARGV: id, type, difficulty, service (JSON), openedAt, ttlMs, hash.
 * Returns {1} when it opened the job, or {0, fields} of the open job it joined (and extended).
 */
export const OPEN_JOB = new LuaScript(`${AT_LEAST}${NOW}
local ttl = tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local open = redis.call('HGET', KEYS[1], 'difficulty')
if open and atLeast(open, ARGV[3]) then
  if redis.call('PTTL', KEYS[1]) < ttl then
    redis.call('PEXPIRE', KEYS[1], ttl)
    redis.call('ZADD', KEYS[2], now + ttl, ARGV[7])
  end
  return {0, redis.call('HGETALL', KEYS[1])}
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'type', ARGV[2], 'difficulty', ARGV[3], 'service', ARGV[4], 'openedAt', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[7])
return {1}
`);

/** KEYS: job hash, open-jobs set. ARGV: job id, hash. Deletes the job only while it is still that id. */
export const CLOSE_JOB = new LuaScript(`
if redis.call('HGET', KEYS[1], 'id') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
end
return 0
`);

/** KEYS: open-jobs set. Returns how many jobs have not expired. */
export const COUNT_OPEN_JOBS = new LuaScript(`${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
`);

/** KEYS: work hash. ARGV: work, value, ttlMs. Keeps the held work unless the new value beats it. */
export const CACHE_WORK = new LuaScript(`${AT_LEAST}
local held = redis.call('HGET', KEYS[1], 'value')
if held and atLeast(held, ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'work', ARGV[1], 'value', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`);
