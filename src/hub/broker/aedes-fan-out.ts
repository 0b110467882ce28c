/**
 * Subset fan-out (subset-fan-out.ts) inside aedes, transparent to clients: the worker connections
 * (account `client`) subscribed to `work/<type>` are the pool; the hub's `work/` and `cancel/`
 * publishes go through aedes as always, and `authorizeForward` drops each delivery to a worker
 * outside the packet's audience. Other readers (`dpowinterface`, the hub's own subscriptions,
 * offline persistent sessions) get every job and cancel, as before.
 */
import type { Aedes, AedesPublishPacket, Client, Subscription } from "aedes";
import { type WorkType, workTypeOf } from "../../protocol/topics.js";
import type { Account } from "./acl.js";
import type { BrokerLogger } from "./logger.js";
import { trackSubscribers } from "./subscribers.js";
import { type FanOutOptions, SubsetFanOut } from "./subset-fan-out.js";
import { topicMatches } from "./topic-filter.js";

const TOPICS = ["work/ondemand", "work/precache"] as const;
const TYPE_OF: Record<(typeof TOPICS)[number], WorkType> = {
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

export function aedesFanOut(
  aedes: Aedes,
  accountOf: (client: Client) => Account | undefined,
  options: FanOutOptions,
  logger: BrokerLogger,
): AedesFanOut {
  /** The audience of each subset delivery, by its payload buffer (aedes hands the same one to every subscriber). */
  const audiences = new WeakMap<Buffer, ReadonlySet<Client>>();
  const qosOf: Record<string, 0 | 1> = {};
  const publishTo =
    (topic: string) =>
    (payload: Buffer, audience: ReadonlySet<Client> | null): Promise<void> => {
      if (audience) audiences.set(payload, audience);
      const packet = {
        cmd: "publish" as const,
        topic,
        payload,
        qos: qosOf[topic] ?? 0,
        retain: false,
        dup: false,
      };
      return new Promise((resolve, reject) =>
        aedes.publish(packet, (err) => (err ? reject(err) : resolve())),
      );
    };
  const fanOut = new SubsetFanOut<Client>(
    options,
    { work: (type) => publishTo(`work/${type}`), cancel: (type) => publishTo(`cancel/${type}`) },
    (err) => logger.warn({ err }, "escalating a job to more workers failed"),
  );
  const isWorker = (client: Client) => accountOf(client) === "client";
  trackSubscribers(aedes, TOPICS, {
    admit: isWorker,
    changed: (client, topic, subscribed) => fanOut.setListening(client, TYPE_OF[topic], subscribed),
    gone: (client) => fanOut.forget(client),
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
