import { CodedError } from "../errors.js";
import { formatHash, formatU64, parseU64 } from "../nano/hex.js";
import { workValue } from "../nano/work.js";
import type { GenerateOptions, WorkBackend, WorkResult } from "./backend.js";

/** A remote work server answered something other than valid work. */
export class RemoteWorkError extends CodedError {
  override name = "RemoteWorkError";
  constructor(
    message: string,
    code: "DPOW_WORK_SERVER_FAILED" | "DPOW_WORK_SERVER_TIMEOUT" = "DPOW_WORK_SERVER_FAILED",
  ) {
    super(code, message);
  }
}

/** The work server did not answer in time (it accepted the request, then stayed silent). */
export class RpcTimeoutError extends RemoteWorkError {
  override name = "RpcTimeoutError";
  constructor(message: string) {
    super(message, "DPOW_WORK_SERVER_TIMEOUT");
  }
}

/** How long to wait for each action's reply, in milliseconds. */
export interface RpcTimeouts {
  generateMs: number;
  cancelMs: number;
}

/**
 * work_generate: a GPU answers in well under a second even at high multipliers, a CPU work server
 * at send difficulty (2^29 hashes on average) in 15 s at 36 MH/s; 60 s covers that with room,
 * while a server that accepted the request and hung frees the job within a minute. work_cancel
 * only needs an acknowledgement.
 */
const DEFAULT_RPC_TIMEOUTS: RpcTimeouts = { generateMs: 60_000, cancelMs: 5_000 };

/** Replies larger than this are not a work server talking; refuse to buffer them. */
const MAX_REPLY_BYTES = 64 * 1024;

/**
 * Any HTTP work server speaking nano-work-server's RPC (a GPU box, a node, `dpow work-server`).
 * Work it returns is checked locally: a server that answers invalid work is an error, never a result.
 */
export class RpcBackend implements WorkBackend {
  readonly name: string;
  private readonly pending = new Set<AbortController>();
  private readonly timeouts: RpcTimeouts;

  constructor(
    private readonly url: string,
    timeouts: Partial<RpcTimeouts> = {},
  ) {
    this.name = `rpc (${url})`;
    this.timeouts = { ...DEFAULT_RPC_TIMEOUTS, ...timeouts };
  }

  async generate(root: Uint8Array, threshold: bigint, options: GenerateOptions = {}): Promise<WorkResult> {
    const { signal } = options;
    signal?.throwIfAborted();
    const hash = formatHash(root);
    const request = new AbortController();
    this.pending.add(request);
    const onAbort = () => {
      request.abort(signal?.reason);
      this.cancel(hash);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const reply = await this.call(
        { action: "work_generate", hash, difficulty: formatU64(threshold) },
        this.timeouts.generateMs,
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
      if (err instanceof RpcTimeoutError) this.cancel(hash);
      throw err;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      this.pending.delete(request);
    }
  }

  async close(): Promise<void> {
    for (const request of this.pending) request.abort();
  }

  /** Tells the server to stop computing a hash; its answer does not matter. */
  private cancel(hash: string): void {
    this.call({ action: "work_cancel", hash }, this.timeouts.cancelMs).catch(() => {});
  }

  private async call(
    body: Record<string, string>,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      text = await response.text();
    } catch (err) {
      if (signal?.aborted) throw err;
      if (timeout.aborted) {
        throw new RpcTimeoutError(
          `${this.url} did not answer ${body.action} within ${timeoutMs / 1000} s; check that work server (is it overloaded or stuck?) or use another`,
        );
      }
      throw new RemoteWorkError(`cannot reach the work server at ${this.url}: ${(err as Error).message}`);
    }
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
