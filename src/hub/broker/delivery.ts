/**
 * Jobs and cancels at QoS 1. A worker with a persistent session that is offline while they are
 * published gets them when it reconnects (the broker queues QoS 1 messages for it, a bounded number),
 * instead of losing them as QoS 0 would. Heartbeats, statistics and feedback keep the QoS asked for:
 * a missed heartbeat is worth nothing a second later. The embedded broker sends jobs for a subset of
 * the workers at QoS 0 all the same (aedes-fan-out.ts says why).
 */
import type { Broker } from "../ports.js";

const QUEUED_TOPICS = ["work/", "cancel/"];

export function jobsAtLeastOnce(broker: Broker): Broker {
  const { disconnect } = broker;
  return {
    // Passed through: penalties drop the connection that sent invalid work (embedded broker only).
    ...(disconnect ? { disconnect: disconnect.bind(broker) } : {}),
    publish(topic, payload, options = {}) {
      const queued = QUEUED_TOPICS.some((prefix) => topic.startsWith(prefix));
      return broker.publish(topic, payload, queued ? { ...options, qos: 1 } : options);
    },
    subscribe: (pattern, handler) => broker.subscribe(pattern, handler),
    close: () => broker.close(),
  };
}
