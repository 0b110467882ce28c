/**
 * A drop-in replacement for nano-work-server's HTTP RPC on top of the CPU pool. Requests queue in
 * the pool; a request for a root already being computed shares that job's result; a client that
 * disconnects gives up its place (the job stops if nobody else waits for it).
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { RECEIVE_THRESHOLD, SEND_THRESHOLD, toMultiplier } from "../../nano/difficulty.js";
import { formatU64 } from "../../nano/hex.js";
import { workValue } from "../../nano/work.js";
import { WorkCancelledError, type WorkPool } from "../pool.js";
import { parseRpc, type RpcCommand, type RpcError, RpcRequestError } from "./rpc.js";

/** Requests are a few hundred bytes; anything much larger is not a work request. */
export const MAX_BODY_BYTES = 16 * 1024;

type Reply = { status: number; body: Record<string, string> | RpcError };

export interface WorkServer {
  readonly url: string;
  close(): Promise<void>;
}

const ok = (body: Record<string, string>): Reply => ({ status: 200, body });
const multiplier = (difficulty: bigint) => String(toMultiplier(difficulty, SEND_THRESHOLD));
const flag = (yes: boolean) => (yes ? "1" : "0");

async function execute(pool: WorkPool, command: RpcCommand, signal: AbortSignal): Promise<Reply> {
  switch (command.action) {
    case "work_generate": {
      try {
        const { work, value } = await pool.generate(command.root, command.threshold, { signal });
        return ok({ work: formatU64(work), difficulty: formatU64(value), multiplier: multiplier(value) });
      } catch (err) {
        if (err instanceof WorkCancelledError) {
          return {
            status: 200,
            body: { error: "Cancelled", hint: "work_cancel was received for this hash" },
          };
        }
        throw err;
      }
    }
    case "work_cancel":
      pool.cancel(command.root);
      return ok({});
    case "work_validate": {
      const value = workValue(command.root, command.work);
      return ok({
        ...(command.threshold === undefined ? {} : { valid: flag(value >= command.threshold) }),
        valid_all: flag(value >= SEND_THRESHOLD),
        valid_receive: flag(value >= RECEIVE_THRESHOLD),
        difficulty: formatU64(value),
        multiplier: multiplier(value),
      });
    }
    case "benchmark": {
      const began = performance.now();
      for (let i = 0; i < command.count; i++) {
        await pool.generate(randomBytes(32), command.threshold, { signal });
      }
      const duration = Math.round(performance.now() - began);
      return ok({
        average: String(Math.floor(duration / command.count)),
        count: String(command.count),
        difficulty: formatU64(command.threshold),
        duration: String(duration),
        hint: "Times in milliseconds",
        multiplier: multiplier(command.threshold),
      });
    }
    case "status": {
      const { generating, queued } = pool.status();
      return ok({ generating: flag(generating), queue_size: String(queued) });
    }
  }
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.removeAllListeners("data");
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

async function handle(pool: WorkPool, req: IncomingMessage, res: ServerResponse): Promise<Reply> {
  if (req.method !== "POST") {
    return { status: 405, body: { error: "Can only POST requests", hint: "POST a JSON RPC body" } };
  }
  const body = await readBody(req);
  if (body === undefined) {
    return { status: 413, body: { error: "Request too large", hint: `at most ${MAX_BODY_BYTES} bytes` } };
  }
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    return { status: 400, body: { error: "Failed to deserialize JSON", hint: "the body is not valid JSON" } };
  }
  let command: RpcCommand;
  try {
    command = parseRpc(json);
  } catch (err) {
    if (err instanceof RpcRequestError) return { status: 400, body: err.reply };
    throw err;
  }
  // A client that hangs up no longer waits for its work.
  const gone = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) gone.abort();
  });
  return execute(pool, command, gone.signal);
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed) return;
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

/** Listens on host:port (port 0: any free port; see `url`). The pool stays owned by the caller. */
export async function startWorkServer(pool: WorkPool, host: string, port: number): Promise<WorkServer> {
  const server: Server = createServer((req, res) => {
    handle(pool, req, res).then(
      (reply) => send(res, reply),
      (err: Error) => {
        if (err.name === "AbortError") return; // the client left
        send(res, { status: 500, body: { error: "Work generation failed", hint: err.message } });
      },
    );
  });
  server.requestTimeout = 0; // work_generate at high difficulty legitimately takes minutes
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
