/** The schemes each kind of connection URL may use, as `new URL(...).protocol` spells them. */
export const URL_SCHEMES = {
  mqtt: ["mqtt:", "mqtts:", "ws:", "wss:"],
  postgres: ["postgres:", "postgresql:"],
  redis: ["redis:", "rediss:"],
} as const;

/**
 * Whether `url` is a URL of one of `schemes`, written `scheme://...`. Checked before connecting,
 * because the clients read a malformed URL as something else (pg takes "notaurl" for a host name).
 */
export function hasUrlScheme(url: string, schemes: readonly string[]): boolean {
  try {
    const { protocol } = new URL(url);
    return schemes.includes(protocol) && url.slice(protocol.length).startsWith("//");
  } catch {
    return false;
  }
}
