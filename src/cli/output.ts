import { StoreUnreachableError } from "../hub/ports.js";
import { NanoInputError } from "../nano/errors.js";

/** An error the user can fix; printed as one line without a stack trace. */
export class UsageError extends Error {
  override name = "UsageError";
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * Wraps a command action: user errors (bad input; a file, store or broker that cannot be used) become
 * one line on stderr and exit code 2 (1 for malformed Nano values); anything else is a bug and keeps
 * its stack.
 */
export function action<A extends unknown[]>(fn: (...args: A) => unknown): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (
        err instanceof UsageError ||
        err instanceof NanoInputError ||
        err instanceof StoreUnreachableError
      ) {
        process.stderr.write(`dpow: ${err.message}\n`);
        process.exitCode = err instanceof NanoInputError ? 1 : 2;
        return;
      }
      throw err;
    }
  };
}
