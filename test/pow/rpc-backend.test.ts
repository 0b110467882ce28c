import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { expect, test } from "vitest";
import { RpcBackend, RpcTimeoutError } from "../../src/pow/rpc-backend.js";

/** An HTTP server that reads every request and never answers any. */
async function silentServer() {
  const requests: { action: string; res: ServerResponse }[] = [];
  const waiters: (() => void)[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on("end", () => {
      requests.push({ action: (JSON.parse(body) as { action: string }).action, res });
      for (const wake of waiters.splice(0)) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  /** Resolves with the first request of this action (waiting for it to arrive). */
  const request = async (action: string): Promise<ServerResponse> => {
    for (;;) {
      const found = requests.find((r) => r.action === action);
      if (found) return found.res;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  const close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, request, close };
}

test("a server that accepts work_generate and never answers times out, and is sent a work_cancel", async () => {
  const silent = await silentServer();
  try {
    const backend = new RpcBackend(silent.url, { generateMs: 200, cancelMs: 200 });
    const job = backend.generate(new Uint8Array(32), (1n << 64n) - 1n);
    await expect(job).rejects.toBeInstanceOf(RpcTimeoutError);
    await expect(job).rejects.toThrow(/did not answer work_generate within 0.2 s/);
    // The cancel goes to the same silent server: it must be given up on too, not left open.
    const cancel = await silent.request("work_cancel");
    if (!cancel.closed) await new Promise((resolve) => cancel.once("close", resolve));
    expect(cancel.headersSent).toBe(false);
    await backend.close();
  } finally {
    await silent.close();
  }
});
