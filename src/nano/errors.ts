/** An input that is not a valid Nano value. The message is written for the person who typed it. */
export class NanoInputError extends Error {
  override name = "NanoInputError";
}
