/**
 * A bound on MQTT packet size for the embedded broker. aedes buffers a packet until it is complete,
 * whatever length its header declares (up to 256 MB), so a single client could exhaust memory. This
 * reads only the fixed headers in the byte stream and cuts the connection as soon as one declares a
 * body longer than the limit (Mosquitto's `max_packet_size` does the same).
 */
import { Duplex } from "node:stream";

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
 * `inner` seen through a PacketSizeGuard: bytes pass through unchanged until a packet is too large,
 * then both streams are destroyed and `onOversize` is told.
 */
export function limitPacketSize(inner: Duplex, maxBodyBytes: number, onOversize: () => void): Duplex {
  const guard = new PacketSizeGuard(maxBodyBytes);
  const outer = new Duplex({
    read: () => {
      inner.resume();
    },
    write: (chunk, encoding, done) => {
      inner.write(chunk, encoding, done);
    },
    // mqtt-packet corks the stream and writes a packet in pieces (header, length, topic, payload):
    // pass them on as one buffer, or each piece costs a socket write of its own.
    writev: (chunks, done) => {
      inner.write(Buffer.concat(chunks.map(({ chunk }) => chunk as Buffer)), done);
    },
    final: (done) => {
      inner.end(done);
    },
    destroy: (err, done) => {
      inner.destroy();
      done(err);
    },
  });
  inner.on("data", (chunk: Buffer) => {
    if (!guard.accept(chunk)) {
      onOversize();
      outer.destroy();
    } else if (!outer.push(chunk)) {
      inner.pause();
    }
  });
  inner.on("end", () => outer.push(null));
  inner.on("error", (err) => outer.destroy(err));
  inner.on("close", () => outer.destroy());
  return outer;
}
