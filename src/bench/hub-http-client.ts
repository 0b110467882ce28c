/**
 * A minimal keep-alive HTTP/1.1 client for load generation: one request in flight per connection,
 * requests encoded once up front, responses parsed just enough (status line, then a Content-Length
 * or chunked body). node:http's client spends more CPU per request than node:http's server, so
 * with it the load generator, not the server under test, would set the pace on a small machine.
 */
import { connect, type Socket } from "node:net";

export interface HttpAnswer {
  status: number;
  body: string;
}

const HEADER_END = Buffer.from("\r\n\r\n");
const CRLF = Buffer.from("\r\n");

/** The bytes of a `POST path` with a JSON body, for KeepAliveConnection.request. */
export function encodePost(port: number, path: string, json: string): Buffer {
  const body = Buffer.from(json);
  const head = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), body]);
}

export class KeepAliveConnection {
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve(answer: HttpAnswer): void; reject(err: Error): void } | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) => this.fail(err));
    socket.on("close", () => this.fail(new Error("the server closed the connection")));
  }

  static open(port: number): Promise<KeepAliveConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new KeepAliveConnection(socket));
      });
    });
  }

  /** Sends one encoded request (see encodePost) and resolves with its answer. */
  request(raw: Buffer): Promise<HttpAnswer> {
    if (this.waiting) return Promise.reject(new Error("one request at a time per connection"));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(raw);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const parsed = parseResponse(this.buffered);
    if (!parsed) return;
    this.buffered = this.buffered.subarray(parsed.length);
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve(parsed.answer);
  }

  private fail(err: Error): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(err);
  }
}

/** The first complete response in `data` and how many bytes it took, or undefined while incomplete. */
function parseResponse(data: Buffer): { answer: HttpAnswer; length: number } | undefined {
  const headerEnd = data.indexOf(HEADER_END);
  if (headerEnd < 0) return undefined;
  const head = data.toString("latin1", 0, headerEnd);
  const status = Number(head.slice(9, 12));
  const bodyStart = headerEnd + HEADER_END.length;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
  if (length !== undefined) {
    const end = bodyStart + Number(length);
    if (data.length < end) return undefined;
    return { answer: { status, body: data.toString("utf8", bodyStart, end) }, length: end };
  }
  // No length and not chunked (node's own 408 or 503 before it closes the connection): the head
  // is the answer; whatever follows is cut off by the close.
  if (!/\r\ntransfer-encoding:\s*chunked/i.test(head))
    return { answer: { status, body: head.split("\r\n", 1)[0] as string }, length: data.length };
  return parseChunked(data, bodyStart, status);
}

function parseChunked(
  data: Buffer,
  start: number,
  status: number,
): { answer: HttpAnswer; length: number } | undefined {
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const lineEnd = data.indexOf(CRLF, at);
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(data.toString("latin1", at, lineEnd), 16);
    const chunkStart = lineEnd + CRLF.length;
    // Every chunk, the last (empty) one included, is followed by CRLF (no trailers are sent here).
    const chunkEnd = chunkStart + size + CRLF.length;
    if (data.length < chunkEnd) return undefined;
    if (size === 0)
      return { answer: { status, body: Buffer.concat(parts).toString("utf8") }, length: chunkEnd };
    parts.push(data.subarray(chunkStart, chunkStart + size));
    at = chunkEnd;
  }
}

/** Connections opened on demand and reused: as many as the requests in flight at the busiest moment. */
export class ConnectionPool {
  private readonly idle: KeepAliveConnection[] = [];
  private readonly all: KeepAliveConnection[] = [];

  constructor(private readonly port: number) {}

  async request(raw: Buffer): Promise<HttpAnswer> {
    let connection = this.idle.pop();
    if (!connection) {
      connection = await KeepAliveConnection.open(this.port);
      this.all.push(connection);
    }
    const answer = await connection.request(raw);
    this.idle.push(connection);
    return answer;
  }

  close(): void {
    for (const connection of this.all) connection.close();
  }
}
