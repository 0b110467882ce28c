/**
 * The heartbeat, delivered by the broker itself: serialised once (publish-frame.ts) and the same
 * bytes written to every subscriber, a slice of subscribers per event-loop turn. Through aedes each
 * of 10,000 deliveries allocates its packets and serialises them again, and all of them run in one
 * burst that stalls the loop (`/upcheck/`, jobs) for tens of milliseconds every second.
 *
 * QoS 0 and not retained, as aedes would send it; the hub's own in-process subscriptions do not
 * see it (the hub is its sender). A connection that does not read (its unsent
 * output past MAX_BACKLOG) is skipped: a heartbeat it cannot take now is worth nothing later.
 */
import type { Aedes, Client } from "aedes";
import { publishBytes } from "./publish-frame.js";
import { trackSubscribers } from "./subscribers.js";

/** Subscribers written per event-loop turn: ~0.5k writes of a few microseconds each. */
const SLICE = 512;
const MAX_BACKLOG = 64 * 1024;

export interface PacedBroadcast {
  /** Writes `payload` on the tracked topic to every subscriber; resolves once all are written. */
  publish(payload: Buffer): Promise<void>;
  subscribers(): number;
}

export function pacedBroadcast(aedes: Aedes, topic: string): PacedBroadcast {
  const members = new Set<Client>();
  trackSubscribers(aedes, [topic], {
    admit: () => true,
    changed: (client, _topic, qos) => (qos === null ? members.delete(client) : members.add(client)),
    gone: (client) => members.delete(client),
  });
  return {
    subscribers: () => members.size,
    publish(payload) {
      const bytes = publishBytes(topic, payload);
      // A snapshot: who subscribes or leaves meanwhile changes the next heartbeat, not this one.
      const all = [...members];
      return new Promise((resolve) => {
        let at = 0;
        const slice = () => {
          const end = Math.min(all.length, at + SLICE);
          for (; at < end; at++) {
            // `connecting` too, as aedes' own writes: a restored session is registered before its CONNACK.
            const client = all[at] as Client & { closed?: boolean; connecting?: boolean };
            const conn = client.conn;
            if (
              !(client.connected || client.connecting) ||
              client.closed ||
              conn.destroyed ||
              conn.writableLength > MAX_BACKLOG
            )
              continue;
            conn.write(bytes);
          }
          if (at < all.length) setImmediate(slice);
          else resolve();
        };
        slice();
      });
    },
  };
}
