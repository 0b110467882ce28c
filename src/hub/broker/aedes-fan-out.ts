/**
 * Subset fan-out (subset-fan-out.ts) inside aedes, transparent to clients: the worker connections
 * (account `client`) subscribed to `work/<type>` are the pool. A job or cancel for everyone goes
 * through aedes as always. One for a subset is written by the broker itself to each member of its
 * audience and to every other reader of the topic (`dpowinterface`): going through aedes' router
 * would cost one refused delivery per worker outside the subset, ~1.4 µs each, most of a job's
 * cost at 10,000, and aedes' per-client publish allocates packet objects, queues the packet in the
 * session and serialises it again for each receiver. Here it is serialised once (publish-frame.ts)
 * and the same bytes written to each receiver.
 *
 * At QoS 0, whatever `--mqtt-job-qos` says: QoS 1 would buy a worker nothing here and cost the hub
 * a PUBACK to read per delivery (half its cost). What QoS 1 gives is a queue for a persistent
 * session, to send the job again after the connection drops; a subset job needs none: one lost so
 * goes to more workers at the next escalation, and a worker reconnecting would get a job already
 * handed to others. A connection with more than MAX_BACKLOG unsent (one that does not read) is
 * skipped, as the heartbeat skips it: no stranger can make the hub buffer for it.
 *
 * Offline persistent sessions get no subset jobs (they were not chosen); while the hub itself
 * listens to a job topic in-process (no production code does; tests may), subset deliveries go
 * through aedes, with `authorizeForward` refusing the workers outside the audience.
 */
import type { Aedes, AedesPublishPacket, Client } from "aedes";
import { type WorkType, workTypeOf } from "../../protocol/topics.js";
import type { Account } from "./acl.js";
import type { BrokerLogger } from "./logger.js";
import { publishBytes } from "./publish-frame.js";
import { trackSubscribers } from "./subscribers.js";
import { type FanOutOptions, SubsetFanOut } from "./subset-fan-out.js";

const JOB_TOPICS = ["work/ondemand", "work/precache"] as const;
const TOPICS = [...JOB_TOPICS, "cancel/ondemand", "cancel/precache"] as const;
type Topic = (typeof TOPICS)[number];
const TYPE_OF: Record<(typeof JOB_TOPICS)[number], WorkType> = {
  "work/ondemand": "ondemand",
  "work/precache": "precache",
};

export interface AedesFanOut {
  /** Publishes `work/*` or `cancel/*` through the subset logic; null for any other topic. */
  publish(topic: string, payload: Buffer, qos: 0 | 1): Promise<void> | null;
  /** Whether aedes may deliver `packet` to `client` (false: the client is outside its audience). */
  forwardable(client: Client, packet: AedesPublishPacket): boolean;
  close(): void;
}

type Live = Client & { closed?: boolean; connected?: boolean };
/** Unsent output past which a connection gets no subset delivery (it is not reading). */
const MAX_BACKLOG = 64 * 1024;

export function aedesFanOut(
  aedes: Aedes,
  accountOf: (client: Client) => Account | undefined,
  /** Whether one of the hub's own (in-process) subscriptions matches `topic`. */
  hubListens: (topic: string) => boolean,
  options: FanOutOptions,
  logger: BrokerLogger,
): AedesFanOut {
  /** The audience of subset deliveries that go through aedes, by payload buffer (aedes hands the same one to every subscriber). */
  const audiences = new WeakMap<Buffer, ReadonlySet<Client>>();
  const observers = new Map<Topic, Set<Client>>(TOPICS.map((t) => [t, new Set()]));
  /** The topics each tracked client holds a matching filter for. */
  const subscribed = new WeakMap<Client, Set<Topic>>();
  const track = (client: Client, topic: Topic, listening: boolean) => {
    let held = subscribed.get(client);
    if (!held) {
      held = new Set();
      subscribed.set(client, held);
    }
    if (listening) held.add(topic);
    else held.delete(topic);
  };
  const qosOf: Record<string, 0 | 1> = {};
  const throughAedes = (topic: string, payload: Buffer) => {
    const packet = {
      cmd: "publish" as const,
      topic,
      payload,
      qos: qosOf[topic] ?? 0,
      retain: false,
      dup: false,
    };
    return new Promise<void>((resolve, reject) =>
      aedes.publish(packet, (err) => (err ? reject(err) : resolve())),
    );
  };
  const direct = (topic: Topic, payload: Buffer, audience: ReadonlySet<Client>) => {
    const bytes = publishBytes(topic, payload);
    const send = (client: Live) => {
      // Not subscribed to this topic (a worker taking jobs but not cancels): nothing to send.
      if (!subscribed.get(client)?.has(topic) || client.closed || !client.connected) return;
      const conn = client.conn;
      if (!conn.destroyed && conn.writableLength <= MAX_BACKLOG) conn.write(bytes);
    };
    for (const client of audience) send(client);
    for (const client of observers.get(topic) as Set<Client>) send(client);
    return Promise.resolve();
  };
  const publishTo =
    (topic: Topic) =>
    (payload: Buffer, audience: ReadonlySet<Client> | null): Promise<void> => {
      if (audience === null) return throughAedes(topic, payload);
      if (!hubListens(topic)) return direct(topic, payload, audience);
      audiences.set(payload, audience);
      return throughAedes(topic, payload);
    };
  const fanOut = new SubsetFanOut<Client>(
    options,
    { work: (type) => publishTo(`work/${type}`), cancel: (type) => publishTo(`cancel/${type}`) },
    (err) => logger.warn({ err }, "escalating a job to more workers failed"),
  );
  const isWorker = (client: Client) => accountOf(client) === "client";
  trackSubscribers(aedes, TOPICS, {
    admit: () => true,
    changed: (client, topic, qos) => {
      track(client, topic, qos !== null);
      if (!isWorker(client)) {
        const readers = observers.get(topic) as Set<Client>;
        if (qos === null) readers.delete(client);
        else readers.add(client);
      } else if (topic in TYPE_OF) {
        fanOut.setListening(client, TYPE_OF[topic as keyof typeof TYPE_OF], qos !== null);
      }
    },
    gone: (client) => {
      fanOut.forget(client);
      for (const readers of observers.values()) readers.delete(client);
    },
  });

  return {
    publish(topic, payload, qos) {
      const type = workTypeOf(topic);
      if (type === null || topic.startsWith("result/")) return null;
      qosOf[topic] = qos;
      return topic.startsWith("work/") ? fanOut.work(type, payload) : fanOut.cancel(type, payload);
    },
    forwardable(client, packet) {
      const audience = audiences.get(packet.payload as Buffer);
      return audience === undefined || audience.has(client) || !isWorker(client);
    },
    close: () => fanOut.close(),
  };
}
