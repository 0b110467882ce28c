/**
 * Keeps a listener up through errors in accepting connections. Out of descriptors (EMFILE, ENFILE),
 * libuv closes the connections it cannot take itself (with a descriptor it keeps spare for that) and
 * Node reports nothing; what it does report (that spare gone too, an aborted connection) is an
 * 'error' event on the server, which without a listener ends the process. A stranger can cause them
 * at will, so they are logged once per interval with a count, never one line each.
 */
import type { Server } from "node:net";
import type { BrokerLogger } from "./broker/logger.js";

const DEFAULT_INTERVAL_MS = 60_000;

/** Call once the server listens (errors before that, EADDRINUSE say, belong to listen()). */
export function surviveAcceptErrors(
  server: Server,
  listener: string,
  logger: Pick<BrokerLogger, "warn">,
  intervalMs = DEFAULT_INTERVAL_MS,
): void {
  let unlogged = 0;
  let loggedAt = Number.NEGATIVE_INFINITY;
  server.on("error", (err: NodeJS.ErrnoException) => {
    unlogged++;
    const now = Date.now();
    if (now - loggedAt < intervalMs) return;
    loggedAt = now;
    logger.warn(
      { listener, code: err.code, errors: unlogged },
      `${listener} could not accept connections (${err.code ?? err.message}; ${unlogged} since the last such line); if EMFILE, raise the open-file limit (ulimit -n) or lower --mqtt-max-connections`,
    );
    unlogged = 0;
  });
}
