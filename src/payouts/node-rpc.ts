/**
 * A minimal client of the Nano node RPC for payouts. Two failure kinds matter to a resumable run:
 * the node refused (NodeRpcError, carrying the node's own words) and the node could not be reached
 * or did not answer (NodeUnreachableError: the request may or may not have taken effect).
 */
import { CodedError } from "../errors.js";

export class NodeRpcError extends CodedError {
  override name = "NodeRpcError";
  constructor(
    readonly action: string,
    readonly nodeMessage: string,
  ) {
    super("DPOW_NODE_REFUSED", `the node refused ${action}: ${nodeMessage}`);
  }
}

export class NodeUnreachableError extends CodedError {
  override name = "NodeUnreachableError";
  constructor(message: string) {
    super("DPOW_NODE_UNREACHABLE", message);
  }
}

export type RpcAnswer = Record<string, unknown>;

export class NodeRpc {
  constructor(
    readonly url: string,
    private readonly timeoutMs = 30_000,
  ) {}

  async call(action: string, params: Record<string, unknown> = {}): Promise<RpcAnswer> {
    let answer: unknown;
    try {
      const res = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ action, ...params }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      answer = await res.json();
    } catch (err) {
      throw new NodeUnreachableError(
        `no answer from the node at ${this.url} to ${action} (${describe(err)})`,
      );
    }
    if (typeof answer !== "object" || answer === null) {
      throw new NodeUnreachableError(
        `the node at ${this.url} answered ${action} with something that is not JSON`,
      );
    }
    const error = (answer as { error?: unknown }).error;
    if (error !== undefined) throw new NodeRpcError(action, String(error));
    return answer as RpcAnswer;
  }

  async balance(account: string): Promise<bigint> {
    const answer = await this.call("account_balance", { account });
    return rawField(answer, "balance", "account_balance");
  }
}

export function rawField(answer: RpcAnswer, field: string, action: string): bigint {
  const value = answer[field];
  if (typeof value !== "string" || !/^\d+$/.test(value)) {
    throw new NodeUnreachableError(`the node's ${action} answer has no valid "${field}"`);
  }
  return BigInt(value);
}

export function hashField(answer: RpcAnswer, field: string, action: string): string {
  const value = answer[field];
  if (typeof value !== "string" || !/^[0-9A-Fa-f]{64}$/.test(value)) {
    throw new NodeUnreachableError(`the node's ${action} answer has no valid "${field}"`);
  }
  return value.toUpperCase();
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}
