/**
 * Which aedes clients hold a subscription matching one of a few topics, kept current from aedes'
 * events: `subscribe` and `unsubscribe`, `client` (a restored persistent session emits no
 * `subscribe`; its filters are back by the time aedes registers it, before the CONNACK) and
 * `clientDisconnect`. For the broker's own routing of hot topics (fan-out, heartbeat).
 */
import type { Aedes, Client, Subscription } from "aedes";
import { topicMatches } from "./topic-filter.js";

export interface SubscriberEvents<T extends string> {
  /** Whether `client` may be tracked at all (e.g. worker accounts only). */
  admit(client: Client): boolean;
  /**
   * `client` now holds filters matching `topic`, the highest granted at `qos`; null: none (any more).
   */
  changed(client: Client, topic: T, qos: number | null): void;
  gone(client: Client): void;
}

/** Each filter the client holds now, with its QoS (aedes keeps them on the client; its types omit the field). */
const filtersOf = (client: Client) =>
  Object.entries((client as { subscriptions?: Record<string, { qos: number }> }).subscriptions ?? {});

export function trackSubscribers<T extends string>(
  aedes: Aedes,
  topics: readonly T[],
  events: SubscriberEvents<T>,
): void {
  const sync = (client: Client) => {
    if ((client as { closed?: boolean }).closed || !events.admit(client)) return;
    const filters = filtersOf(client);
    for (const topic of topics) {
      let qos: number | null = null;
      for (const [filter, sub] of filters) if (topicMatches(filter, topic)) qos = Math.max(qos ?? 0, sub.qos);
      events.changed(client, topic, qos);
    }
  };
  const touches = (filters: string[]) => filters.some((f) => topics.some((topic) => topicMatches(f, topic)));
  aedes.on("client", sync);
  aedes.on("subscribe", (subscriptions: Subscription[], client) => {
    // Refused filters come back with QoS 128 and are not subscribed.
    if (touches(subscriptions.filter((s) => (s.qos as number) !== 128).map((s) => s.topic))) sync(client);
  });
  aedes.on("unsubscribe", (filters: string[], client) => {
    if (touches(filters)) sync(client);
  });
  aedes.on("clientDisconnect", (client) => events.gone(client));
}
