import { hasUrlScheme, URL_SCHEMES } from "../protocol/url-scheme.js";
import { UsageError } from "./output.js";

const URL_FLAGS = {
  "--mqtt-url": { schemes: URL_SCHEMES.mqtt, example: "mqtt://dpowserver:PASSWORD@host:1883" },
  "--postgres": { schemes: URL_SCHEMES.postgres, example: "postgres://dpow:PASSWORD@127.0.0.1:5432/dpow" },
  "--redis": { schemes: URL_SCHEMES.redis, example: "redis://127.0.0.1:6379" },
} as const;

/** Refuses a connection URL flag of the wrong shape before anything connects; undefined passes. */
export function checkUrlFlag(flag: keyof typeof URL_FLAGS, value: string | undefined): void {
  if (value === undefined) return;
  const { schemes, example } = URL_FLAGS[flag];
  if (hasUrlScheme(value, schemes)) return;
  const names = schemes.map((s) => `${s}//`);
  const choices = `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
  // A value with "@" may hold a password: it is not echoed.
  const got = value.includes("@") ? "a value that is not one" : `"${value}"`;
  throw new UsageError(`${flag} must be a URL starting with ${choices}, such as ${example}; got ${got}`);
}
