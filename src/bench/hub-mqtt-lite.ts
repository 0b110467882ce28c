/**
 * A minimal MQTT 3.1.1 client for the simulated workers: CONNECT, SUBSCRIBE, PUBLISH (QoS 0 and 1)
 * and the acknowledgements, nothing else. The hub sees the same packets a real worker sends, but a
 * message costs this process a few microseconds instead of MQTT.js's twenty or so; with a hundred
 * workers in one process, MQTT.js would make the load generator, not the hub, the slow part.
 */
import { connect, type Socket } from "node:net";

export interface LiteOptions {
  port: number;
  username: string;
  password: string;
  clientId: string;
}

export type LiteHandler = (topic: string, payload: Buffer) => void;

const CONNECT = 0x10;
const CONNACK = 0x20;
const PUBLISH = 0x30;
const PUBACK = 0x40;
const SUBSCRIBE = 0x82;
const SUBACK = 0x90;

function utf8Field(text: string): Buffer {
  const bytes = Buffer.from(text);
  const field = Buffer.alloc(2 + bytes.length);
  field.writeUInt16BE(bytes.length, 0);
  bytes.copy(field, 2);
  return field;
}

function packet(type: number, body: Buffer): Buffer {
  const length: number[] = [];
  let left = body.length;
  do {
    const byte = left % 128;
    left = Math.floor(left / 128);
    length.push(left > 0 ? byte | 0x80 : byte);
  } while (left > 0);
  return Buffer.concat([Buffer.from([type, ...length]), body]);
}

export class LiteMqttClient {
  private buffered: Buffer = Buffer.alloc(0);
  private nextPacketId = 1;
  private readonly acks = new Map<number, () => void>();
  private connected: (() => void) | undefined;
  private handler: LiteHandler = () => {};

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    // A dropped connection shows as a worker that stops answering; the benchmark counts failures.
    socket.on("error", () => {});
  }

  /** Connects and logs in (keep-alive off); rejects when the broker refuses. */
  static async connect(options: LiteOptions): Promise<LiteMqttClient> {
    const socket = connect(options.port, "127.0.0.1");
    const client = new LiteMqttClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.once("close", () => reject(new Error("the broker closed the connection")));
      client.connected = resolve;
      const variable = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0xc2, 0, 0]);
      const payload = [options.clientId, options.username, options.password].map(utf8Field);
      socket.write(packet(CONNECT, Buffer.concat([variable, ...payload])));
    });
    return client;
  }

  onMessage(handler: LiteHandler): void {
    this.handler = handler;
  }

  /** Subscribes to each filter at its QoS; resolves on the broker's SUBACK. */
  subscribe(filters: Record<string, 0 | 1>): Promise<void> {
    const id = this.packetId();
    const parts = Object.entries(filters).flatMap(([filter, qos]) => [utf8Field(filter), Buffer.from([qos])]);
    return this.acknowledged(id, packet(SUBSCRIBE, Buffer.concat([this.idBytes(id), ...parts])));
  }

  /** Publishes at QoS 1 (as real workers do); the broker's PUBACK is read and dropped. */
  publish(topic: string, payload: string): void {
    const id = this.packetId();
    this.acks.set(id, () => {});
    this.socket.write(
      packet(PUBLISH | 0x02, Buffer.concat([utf8Field(topic), this.idBytes(id), Buffer.from(payload)])),
    );
  }

  close(): void {
    this.socket.destroy();
  }

  private packetId(): number {
    const id = this.nextPacketId;
    this.nextPacketId = (id % 0xffff) + 1;
    return id;
  }

  private idBytes(id: number): Buffer {
    return Buffer.from([id >> 8, id & 0xff]);
  }

  private acknowledged(id: number, bytes: Buffer): Promise<void> {
    return new Promise((resolve) => {
      this.acks.set(id, resolve);
      this.socket.write(bytes);
    });
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    for (;;) {
      const data = this.buffered;
      let length = 0;
      let at = 1;
      for (let shift = 0; ; shift += 7, at++) {
        if (at >= data.length) return;
        const byte = data[at] as number;
        length += (byte & 0x7f) << shift;
        if (!(byte & 0x80)) break;
      }
      const start = at + 1;
      const end = start + length;
      if (data.length < end) return;
      this.buffered = data.subarray(end);
      this.onPacket(data[0] as number, data.subarray(start, end));
    }
  }

  private onPacket(header: number, body: Buffer): void {
    const type = header & 0xf0;
    if (type === PUBLISH) {
      const topicEnd = 2 + body.readUInt16BE(0);
      const qos = (header >> 1) & 0x03;
      const topic = body.toString("utf8", 2, topicEnd);
      if (qos > 0) this.socket.write(packet(PUBACK, body.subarray(topicEnd, topicEnd + 2)));
      this.handler(topic, body.subarray(topicEnd + (qos > 0 ? 2 : 0)));
    } else if (type === CONNACK) {
      if (body[1] !== 0) this.socket.destroy(new Error(`the broker refused the login (code ${body[1]})`));
      else this.connected?.();
    } else if (type === SUBACK && body.subarray(2).includes(0x80)) {
      this.socket.destroy(new Error("the broker refused a subscription"));
    } else if (type === SUBACK || type === PUBACK) {
      const id = body.readUInt16BE(0);
      this.acks.get(id)?.();
      this.acks.delete(id);
    }
  }
}
