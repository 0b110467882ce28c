/** What the ledger computes from the rows it reads (sql-ledger.ts). */
import { parseHash, parseU64 } from "../../nano/hex.js";
import { workValue } from "../../nano/work.js";
import type { CachedWork, ServiceRecord, Statistics, WorkCounters } from "../ports.js";

/** The `statistics` payload (docs/wire-protocol.md): public services by name, private ones summed. */
export function buildStatistics(services: readonly ServiceRecord[], work: WorkCounters): Statistics {
  const publics = services.filter((s) => s.public);
  const privates = services.filter((s) => !s.public);
  return {
    services: {
      public: publics.map((s) => ({
        display: s.display || s.name,
        website: s.website,
        precache: s.precache,
        ondemand: s.ondemand,
      })),
      private: {
        count: privates.length,
        precache: privates.reduce((sum, s) => sum + s.precache, 0),
        ondemand: privates.reduce((sum, s) => sum + s.ondemand, 0),
      },
    },
    work,
  };
}

/**
 * The best of the works recorded for `hash` (16 hex digits each), valued afresh rather than trusted
 * from the row: usually there is one win per hash, more only when a service raised the difficulty.
 */
export function bestWork(hash: string, works: readonly string[]): CachedWork | undefined {
  const root = parseHash(hash);
  let best: CachedWork | undefined;
  for (const text of works) {
    const work = parseU64(text, "recorded work");
    const value = workValue(root, work);
    if (!best || value > best.value) best = { hash, work, value };
  }
  return best;
}
