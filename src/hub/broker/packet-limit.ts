/**
 * A bound on MQTT packet size for the embedded broker. aedes buffers a packet until it is complete,
 * whatever length its header declares (up to 256 MB), so a single client could exhaust memory. This
 * reads only the fixed headers in the byte stream and cuts the connection as soon as one declares a
 * body longer than the limit (Mosquitto's `max_packet_size` does the same).
 */
import type { Duplex } from "node:stream";

/** Follows packet boundaries in an MQTT byte stream; `accept` turns false on the first oversized packet. */
export class PacketSizeGuard {
  private state: "type" | "length" | "body" = "type";
  private bodyLeft = 0;
  private length = 0;
  private lengthBytes = 0;

  constructor(private readonly maxBodyBytes: number) {}

  accept(chunk: Uint8Array): boolean {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === "body") {
        const take = Math.min(this.bodyLeft, chunk.length - i);
        i += take;
        this.bodyLeft -= take;
        if (this.bodyLeft === 0) this.state = "type";
        continue;
      }
      const byte = chunk[i++] as number;
      if (this.state === "type") {
        this.state = "length";
        this.length = 0;
        this.lengthBytes = 0;
        continue;
      }
      // Remaining length: up to 4 bytes, 7 bits each, least significant first.
      this.length += (byte & 0x7f) * 128 ** this.lengthBytes++;
      if (this.length > this.maxBodyBytes) return false;
      if (byte & 0x80) {
        if (this.lengthBytes === 4) return false;
        continue;
      }
      this.bodyLeft = this.length;
      this.state = this.bodyLeft === 0 ? "type" : "body";
    }
    return true;
  }
}

/**
 * Watches the bytes `conn` delivers and destroys it at the first oversized packet, telling
 * `onOversize`. It listens beside the broker instead of wrapping the stream: a wrapping Duplex
 * would cost a stream hop on every packet written to every subscriber, the hub's hottest path.
 * `data` is emitted inside each `read()` before the broker parses the chunk, so at most one chunk of
 * an oversized packet ever reaches the parser.
 */
export function guardPacketSize(conn: Duplex, maxBodyBytes: number, onOversize: () => void): void {
  const guard = new PacketSizeGuard(maxBodyBytes);
  const watch = (chunk: Buffer) => {
    if (guard.accept(chunk)) return;
    conn.off("data", watch);
    onOversize();
    conn.destroy();
  };
  conn.on("data", watch);
}
