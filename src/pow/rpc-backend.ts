import { formatHash, formatU64, parseU64 } from "../nano/hex.js";
import { workValue } from "../nano/work.js";
import type { GenerateOptions, WorkBackend, WorkResult } from "./backend.js";

/** A remote work server answered something other than valid work. */
export class RemoteWorkError extends Error {
  override name = "RemoteWorkError";
}

/** Replies larger than this are not a work server talking; refuse to buffer them. */
const MAX_REPLY_BYTES = 64 * 1024;

/**
 * Any HTTP work server speaking nano-work-server's RPC (a GPU box, a node, `dpow work-server`).
 * Work it returns is checked locally: a server that answers invalid work is an error, never a result.
 */
export class RpcBackend implements WorkBackend {
  readonly name: string;
  private readonly pending = new Set<AbortController>();

  constructor(private readonly url: string) {
    this.name = `rpc (${url})`;
  }

  async generate(root: Uint8Array, threshold: bigint, options: GenerateOptions = {}): Promise<WorkResult> {
    const { signal } = options;
    signal?.throwIfAborted();
    const hash = formatHash(root);
    const request = new AbortController();
    this.pending.add(request);
    const onAbort = () => {
      request.abort(signal?.reason);
      // Tell the server to stop computing; its answer does not matter.
      this.call({ action: "work_cancel", hash }).catch(() => {});
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const reply = await this.call(
        { action: "work_generate", hash, difficulty: formatU64(threshold) },
        request.signal,
      );
      if (typeof reply.error === "string") {
        throw new RemoteWorkError(`${this.url} refused work_generate: ${reply.error}${hintOf(reply)}`);
      }
      const work = parseU64(reply.work, `work from ${this.url}`);
      const value = workValue(root, work);
      if (value < threshold) {
        throw new RemoteWorkError(
          `${this.url} returned invalid work ${formatU64(work)} for ${hash} (value ${formatU64(value)} < ${formatU64(threshold)})`,
        );
      }
      return { work, value };
    } catch (err) {
      if (signal?.aborted) throw new DOMException("work generation was aborted", "AbortError");
      throw err;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      this.pending.delete(request);
    }
  }

  async close(): Promise<void> {
    for (const request of this.pending) request.abort();
  }

  private async call(body: Record<string, string>, signal?: AbortSignal): Promise<Record<string, unknown>> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new RemoteWorkError(`cannot reach the work server at ${this.url}: ${(err as Error).message}`);
    }
    const text = await response.text();
    if (text.length > MAX_REPLY_BYTES) throw new RemoteWorkError(`${this.url} sent an oversized reply`);
    let reply: unknown;
    try {
      reply = JSON.parse(text);
    } catch {
      throw new RemoteWorkError(`${this.url} did not answer JSON (HTTP ${response.status})`);
    }
    if (typeof reply !== "object" || reply === null || Array.isArray(reply)) {
      throw new RemoteWorkError(`${this.url} answered ${text.slice(0, 80)}, not a JSON object`);
    }
    return reply as Record<string, unknown>;
  }
}

function hintOf(reply: Record<string, unknown>): string {
  return typeof reply.hint === "string" ? ` (${reply.hint})` : "";
}
