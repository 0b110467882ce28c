/**
 * `nano-dpow/client`: request proof of work from a DPoW hub in TypeScript.
 *
 * ```ts
 * import { DpowClient } from "nano-dpow/client";
 * const dpow = new DpowClient({ url: "https://hub.example", user: "mywallet", apiKey: "…" });
 * const { work } = await dpow.workGenerate(previousHash, { multiplier: 1 });
 * await dpow.close();
 * ```
 */
export {
  CLIENT_DEFAULTS,
  DpowClient,
  type DpowClientOptions,
  type FallbackOptions,
  serviceSocketUrl,
  type WorkGenerateOptions,
  type WorkGenerateResult,
} from "./client.js";
export {
  DpowBadRequestError,
  DpowCredentialsError,
  DpowError,
  type DpowErrorCode,
  DpowThrottledError,
  DpowTimeoutError,
  DpowUnavailableError,
  errorFromAnswer,
} from "./errors.js";
