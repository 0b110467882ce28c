import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { SearchKernel } from "../kernel.js";

/** The Node-API addon built from src/pow/native/*.c by node-gyp at install (build/Release). */
interface Addon {
  /** Variants this CPU can run, fastest first (e.g. avx512, avx2, sse2, scalar; generic off x86). */
  variants(): string[];
  /** Index into variants(); returns the first qualifying nonce or undefined. */
  search(
    variant: number,
    root: Uint8Array,
    start: bigint,
    count: number,
    threshold: bigint,
  ): bigint | undefined;
}

/** DPOW_NATIVE_ADDON points at another build of the addon (or at nothing, to force the WASM path). */
const ADDON_PATH =
  process.env.DPOW_NATIVE_ADDON ??
  fileURLToPath(new URL("../../../build/Release/dpow_pow.node", import.meta.url));

let loaded: { addon: Addon } | { error: string } | undefined;

/** Loads the addon once per thread; the error says why it is unavailable. */
export function loadAddon(): { addon: Addon } | { error: string } {
  if (loaded !== undefined) return loaded;
  if (!existsSync(ADDON_PATH)) {
    loaded = {
      error: `the native addon is not built (${ADDON_PATH} is missing; run \`npm run build:native\`)`,
    };
    return loaded;
  }
  try {
    loaded = { addon: createRequire(import.meta.url)(ADDON_PATH) as Addon };
  } catch (err) {
    loaded = { error: `the native addon failed to load: ${(err as Error).message}` };
  }
  return loaded;
}

export function nativeVariants(): string[] {
  const result = loadAddon();
  return "addon" in result ? result.addon.variants() : [];
}

/** A kernel running the given variant (default: the fastest this CPU supports). */
export function nativeKernel(variant?: string): SearchKernel {
  const result = loadAddon();
  if ("error" in result) throw new Error(result.error);
  const variants = result.addon.variants();
  const chosen = variant ?? variants[0];
  const index = chosen === undefined ? -1 : variants.indexOf(chosen);
  if (chosen === undefined || index < 0) {
    throw new Error(
      `native variant ${chosen} is not supported on this CPU (supported: ${variants.join(", ")})`,
    );
  }
  const { addon } = result;
  return {
    name: `native-${chosen}`,
    granularity: 1, // the addon finishes a partial vector with its scalar code
    search: (root, start, count, threshold) => addon.search(index, root, start, count, threshold),
  };
}
