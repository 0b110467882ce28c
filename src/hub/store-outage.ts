import { isConnectionLost } from "../sql/postgres.js";

/**
 * Whether `err` says a store (PostgreSQL, Redis) cannot be reached right now, rather than that
 * the hub is broken: a service is then told to retry, not pointed at the operator's log. ioredis
 * gives up on a command with MaxRetriesPerRequestError, or refuses one on a closed connection.
 */
export function isStoreOutage(err: unknown): boolean {
  if (isConnectionLost(err)) return true;
  const { name, message } = (err ?? {}) as { name?: unknown; message?: unknown };
  if (name === "MaxRetriesPerRequestError") return true;
  return typeof message === "string" && /^Connection is closed|Stream isn't writeable/.test(message);
}
