import { CodedError } from "../errors.js";

/** An input that is not a valid Nano value. The message is written for the person who typed it. */
export class NanoInputError extends CodedError {
  override name = "NanoInputError";
  constructor(message: string) {
    super("DPOW_NANO_INPUT", message);
  }
}

/**
 * A piece of bad input as an error message may quote it: at most 80 characters, anything but
 * printable ASCII escaped as \uXXXX, so a message stays one readable line whatever was sent.
 */
export function quoted(text: string): string {
  const clipped = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  const escaped = clipped.replace(/[^\x20-\x7e]|["\\]/g, (c) =>
    c === '"' || c === "\\" ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return `"${escaped}"`;
}
