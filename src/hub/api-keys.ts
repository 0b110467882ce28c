import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * API keys: 32 random bytes shown once to the operator. Only a SHA-256 of the key is stored; a
 * key that random needs no slow hash (there is nothing to guess), and SHA-256 keeps a lookup cheap
 * enough to check on every request.
 */
export function generateApiKey(): string {
  return randomBytes(32).toString("base64url");
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** Constant-time comparison, so response timing says nothing about how much of a key matched. */
export function apiKeyMatches(key: string, keyHash: string): boolean {
  const given = createHash("sha256").update(key).digest();
  const stored = Buffer.from(keyHash, "hex");
  return stored.length === given.length && timingSafeEqual(given, stored);
}
