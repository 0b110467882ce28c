/**
 * The dashboard's live feed against a viewer that stops reading: the hub must not queue frames for
 * it without end (each frame is written to every viewer), while viewers that read keep getting them.
 */
import { createServer, get, type IncomingMessage } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { Writable } from "node:stream";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { LIVE_LIMITS, LiveFeed } from "../../src/hub/dashboard/live-feed.js";
import { waitForValue } from "../helpers/hub-process.js";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe("the live feed", () => {
  it("drops a viewer that stops reading, logs it, and keeps serving the one that reads", async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: "debug" },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    // Frames far larger than the real ~3 KiB, so that the kernel's socket buffers fill in a few
    // ticks and the unsent bytes then pile up in the hub, where the limit applies.
    const pad = "x".repeat(4 * 1024 * 1024);
    let frames = 0;
    const feed = new LiveFeed(async () => ({ frame: ++frames, pad }), LIVE_LIMITS, logger);
    const server = createServer((req, res) => feed.serve(req, res, {}));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => {
      feed.close();
      server.closeAllConnections();
      server.close();
    });
    const { port } = server.address() as AddressInfo;

    let received = 0;
    const reader = await new Promise<IncomingMessage>((resolve) => get(`http://127.0.0.1:${port}/`, resolve));
    reader.setEncoding("utf8");
    reader.on("data", (text: string) => {
      received += text.split("\nid: ").length - 1 + (text.startsWith("id: ") ? 1 : 0);
    });
    const stalled = connect(port, "127.0.0.1");
    stalled.pause(); // never reads a byte
    cleanups.push(() => stalled.destroy());
    stalled.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    await waitForValue(
      "live viewers",
      async () => feed.viewerCount,
      (n) => n === 2,
    );

    await waitForValue(
      "live viewers",
      async () => feed.viewerCount,
      (n) => n === 1,
      60_000,
    );
    expect(lines.filter((line) => line.includes("live viewer not reading; dropped"))).toHaveLength(1);
    const before = received;
    await waitForValue(
      "frames the reading viewer got",
      async () => received,
      (n) => n >= before + 2,
      30_000,
    );
    expect(feed.viewerCount).toBe(1);
  }, 90_000);
});
