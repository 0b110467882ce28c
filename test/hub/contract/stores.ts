/**
 * Fresh, private stores on the machine's Redis and PostgreSQL for one test run: a unique Redis key
 * prefix, a unique Postgres schema (reached through search_path), both removed afterwards.
 */
import { randomUUID } from "node:crypto";
import { userInfo } from "node:os";
import { Redis } from "ioredis";
import pg from "pg";

export const REDIS_URL = "redis://127.0.0.1:6379";
const POSTGRES_DATABASE = "test";

export interface RedisSpace {
  url: string;
  prefix: string;
  /** Deletes every key under the prefix. */
  drop(): Promise<void>;
}

export function redisSpace(): RedisSpace {
  const prefix = `dpow-test:${randomUUID()}:`;
  return {
    url: REDIS_URL,
    prefix,
    async drop() {
      const redis = new Redis(REDIS_URL);
      try {
        let cursor = "0";
        do {
          const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
          if (keys.length > 0) await redis.del(...keys);
          cursor = next;
        } while (cursor !== "0");
      } finally {
        await redis.quit();
      }
    },
  };
}

export interface PostgresSchema {
  /** A connection URL whose search_path is the schema: what `--postgres` takes. */
  url: string;
  schema: string;
  /** Runs one statement on the schema (for checks the Ledger port does not offer). */
  query<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

/** The trust-auth user that can log in: the OS user first, then `postgres`. */
let user: Promise<string> | undefined;
function postgresUser(): Promise<string> {
  user ??= (async () => {
    for (const candidate of [userInfo().username, "postgres"]) {
      const client = new pg.Client({ connectionString: baseUrl(candidate) });
      try {
        await client.connect();
        return candidate;
      } catch {
        // try the next one
      } finally {
        await client.end().catch(() => {});
      }
    }
    throw new Error(`no PostgreSQL user with trust access to database "${POSTGRES_DATABASE}" on 127.0.0.1`);
  })();
  return user;
}

function baseUrl(name: string): string {
  return `postgres://${encodeURIComponent(name)}@127.0.0.1:5432/${POSTGRES_DATABASE}`;
}

export async function postgresSchema(): Promise<PostgresSchema> {
  const base = baseUrl(await postgresUser());
  const schema = `dpow_test_${randomUUID().replaceAll("-", "")}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.end();
  }
  const url = `${base}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return {
    url,
    schema,
    async query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query<T>(sql, params)).rows;
      } finally {
        await client.end();
      }
    },
    async drop() {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
