import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { expect } from "vitest";
import { runCli } from "./cli.js";

/** `dpow service add NAME --json ...flags` on `db`: the new service's credentials. */
export function addService(db: string, name: string, ...flags: string[]): { user: string; api_key: string } {
  const result = runCli(["service", "add", name, "--json", "--db", db, ...flags]);
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { user: string; api_key: string };
}

/** Resident memory of a process in bytes, from /proc (Linux). */
export function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  if (line === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(line.replace(/\D+/g, "")) * 1024;
}

/** A TCP connection to 127.0.0.1:port that resolves once connected; `closed` resolves when it ends. */
export async function openTcp(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = connect({ host: "127.0.0.1", port });
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    closed.then(() => reject(new Error("connection closed before it opened")));
  });
  return { socket, closed };
}

/**
 * A WebSocket client written on a bare socket, as an attacker would: after the handshake it never
 * reads again (the socket is paused), so whatever the hub sends piles up on the hub's side.
 */
export class UnreadingWebSocket {
  private constructor(
    readonly socket: Socket,
    readonly closed: Promise<void>,
  ) {}

  static async open(port: number, path = "/service_ws/"): Promise<UnreadingWebSocket> {
    const { socket, closed } = await openTcp(port);
    const upgraded = new Promise<void>((resolve, reject) => {
      socket.once("data", (data: Buffer) => {
        socket.pause();
        if (data.toString("latin1").startsWith("HTTP/1.1 101")) resolve();
        else reject(new Error(`no upgrade: ${data.toString("latin1").split("\r\n")[0]}`));
      });
    });
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    await upgraded;
    return new UnreadingWebSocket(socket, closed);
  }

  /** Sends one text frame; resolves when the socket takes more (so the sender's memory stays flat). */
  async send(text: string): Promise<void> {
    if (this.socket.destroyed) return;
    const payload = Buffer.from(text);
    const length = payload.length;
    const header =
      length < 126
        ? Buffer.from([0x81, 0x80 | length])
        : Buffer.from([0x81, 0x80 | 126, length >> 8, length & 0xff]);
    // A client must mask its frames; the all-zero mask leaves the payload as it is.
    const frame = Buffer.concat([header, Buffer.alloc(4), payload]);
    if (!this.socket.write(frame)) {
      await new Promise<void>((resolve) => {
        this.socket.once("drain", resolve);
        this.closed.then(resolve);
      });
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}
