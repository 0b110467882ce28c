/**
 * The floors the scale benchmark sets the hub's figures beside, measured in the same run on the
 * same machine: what one bare socket write costs (the least a delivery can cost), and the on-demand
 * round trip with no hub logic (an HTTP handler that publishes the hash on a bare aedes broker, a
 * subscriber that echoes work, the answer).
 */
import { createServer as createHttpServer } from "node:http";
import { connect, createServer, type Socket } from "node:net";
import { Aedes } from "aedes";
import { formatU64 } from "../nano/hex.js";
import { parseResultPayload, topics } from "../protocol/topics.js";

/** A job packet's size on the wire (topic, id, `HASH,DIFFICULTY`), written as the floor's delivery. */
const DELIVERY_BYTES = 78;

/** CPU microseconds per write of DELIVERY_BYTES to one of `sockets` loopback sockets, in broadcast rounds. */
export async function bareWriteMicros(sinkPort: number, sockets: number, writes: number): Promise<number> {
  const all = await Promise.all(
    Array.from(
      { length: sockets },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect(sinkPort, "127.0.0.1", () => resolve(socket));
          socket.setNoDelay(true);
          socket.once("error", reject);
        }),
    ),
  );
  const packet = Buffer.alloc(DELIVERY_BYTES, 0x30);
  const rounds = Math.max(1, Math.round(writes / sockets));
  const cpu = process.cpuUsage();
  for (let r = 0; r < rounds; r++) {
    for (const socket of all) socket.write(packet);
    // A turn of the event loop per round, as a broadcast gets: the writes go out between rounds.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const used = process.cpuUsage(cpu);
  for (const socket of all) socket.destroy();
  return (used.user + used.system) / (rounds * sockets);
}

export interface OnDemandFloor {
  httpPort: number;
  mqttPort: number;
  close(): Promise<void>;
}

/**
 * The on-demand round trip with no hub logic: POST { hash } -> work/ondemand -> first result ->
 * answer -> cancel/ondemand, to every subscriber at `qos` (the hub's: 0 for a subset, 1 broadcast).
 */
export async function startOnDemandFloor(difficulty: bigint, qos: 0 | 1): Promise<OnDemandFloor> {
  const aedes = await Aedes.createBroker();
  // As the hub's broker: without noDelay, Nagle and delayed ACKs add ~40 ms to the round trip.
  const tcp = createServer({ noDelay: true }, (socket) => aedes.handle(socket));
  const waiting = new Map<string, (work: string) => void>();
  const publish = (topic: string, payload: Buffer) =>
    aedes.publish({ cmd: "publish", topic, payload, qos, retain: false, dup: false }, () => {});
  aedes.subscribe(
    "result/#",
    (packet, done) => {
      const result = parseResultPayload(packet.payload as Buffer);
      if (result.ok) waiting.get(result.value.hash)?.(formatU64(result.value.work));
      done();
    },
    () => {},
  );
  const http = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const hash = (JSON.parse(Buffer.concat(chunks).toString()) as { hash: string }).hash.toUpperCase();
      waiting.set(hash, (work) => {
        waiting.delete(hash);
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ work, hash }));
        publish(topics.cancel("ondemand"), Buffer.from(hash));
      });
      publish(topics.work("ondemand"), Buffer.from(`${hash},${formatU64(difficulty)}`));
    });
  });
  const listen = (server: {
    listen: (port: number, host: string, cb: () => void) => void;
    address: () => unknown;
  }) =>
    new Promise<number>((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
    );
  const mqttPort = await listen(tcp);
  const httpPort = await listen(http);
  return {
    httpPort,
    mqttPort,
    async close() {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise((resolve) => tcp.close(resolve));
    },
  };
}
