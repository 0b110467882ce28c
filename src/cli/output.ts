import { CodedError } from "../errors.js";

/** A flag or argument the user can fix; printed as one line without a stack trace. */
export class UsageError extends CodedError {
  override name = "UsageError";
  constructor(message: string) {
    super("DPOW_USAGE", message);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * Wraps a command action, the CLI's one error edge: an error with a catalogue code (bad input; a
 * file, store, broker or node that cannot be used) becomes one line on stderr and its code's exit
 * code (src/errors.ts); anything else is a bug and keeps its stack.
 */
export function action<A extends unknown[]>(fn: (...args: A) => unknown): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (!(err instanceof CodedError)) throw err;
      process.stderr.write(`dpow: ${err.message}\n`);
      process.exitCode = err.exitCode;
    }
  };
}
