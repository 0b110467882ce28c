/**
 * The worker's MQTT connection: a persistent session (or a clean one, where the caller asks) that
 * reconnects forever with exponential backoff and subscribes again on every connect (a broker that
 * restarted without persistence has forgotten the session). MQTT.js's own reconnect runs at a fixed period, so it is turned off and
 * replaced by the backoff here.
 */
import mqtt, { type MqttClient } from "mqtt";

export interface ReconnectPolicy {
  firstDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RECONNECT: ReconnectPolicy = { firstDelayMs: 1000, maxDelayMs: 30_000 };

/** Delay before reconnect attempt `attempt` (0-based): doubles from the first delay up to the cap. */
export function reconnectDelay(attempt: number, policy: ReconnectPolicy): number {
  return Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** Math.min(attempt, 30));
}

export interface ConnectionHandlers {
  /** Connected and subscribed; `problem` says which subscriptions the broker refused, if any. */
  connected(problem?: string): void;
  /** The connection dropped or could not be made; the next attempt is in `retryInMs`. */
  disconnected(reason: string, retryInMs: number): void;
  message(topic: string, payload: Uint8Array): void;
}

export interface ConnectionOptions {
  url: string;
  clientId: string;
  /** MQTT clean session: the broker keeps nothing for this client once it disconnects. Default false. */
  clean?: boolean;
  /** Topic filter -> QoS, subscribed on every connect. */
  subscriptions: Record<string, 0 | 1>;
  reconnect: ReconnectPolicy;
  handlers: ConnectionHandlers;
}

export interface Connection {
  /** QoS 1; while disconnected the message waits in MQTT.js's outgoing store and goes out on reconnect. */
  publish(topic: string, payload: string): void;
  close(): Promise<void>;
}

export function openConnection(options: ConnectionOptions): Connection {
  const { handlers } = options;
  const client: MqttClient = mqtt.connect(options.url, {
    clientId: options.clientId,
    clean: options.clean ?? false,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    keepalive: 30,
  });
  let attempt = 0;
  let lastError = "";
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let closing = false;

  client.on("connect", () => {
    attempt = 0;
    lastError = "";
    const map = Object.fromEntries(
      Object.entries(options.subscriptions).map(([topic, qos]) => [topic, { qos }]),
    );
    client.subscribe(map, (err, granted) => {
      // A refused subscription (ACL: QoS 128) is a configuration problem worth shouting about; the
      // connection itself stays up so that whatever was granted keeps flowing.
      const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
      if (err) handlers.connected(`subscribing failed: ${err.message}`);
      else if (refused.length > 0)
        handlers.connected(`the broker refused subscriptions to ${refused.join(", ")}`);
      else handlers.connected();
    });
  });
  client.on("message", (topic, payload) => handlers.message(topic, payload));
  client.on("error", (err) => {
    lastError = err.message;
  });
  client.on("close", () => {
    if (closing || retryTimer) return;
    const delay = reconnectDelay(attempt++, options.reconnect);
    handlers.disconnected(lastError || "connection closed", delay);
    lastError = "";
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      // Keep the stores: QoS 1 results published while offline must still go out.
      client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
    }, delay);
  });

  return {
    publish(topic, payload) {
      client.publish(topic, payload, { qos: 1 });
    },
    close() {
      closing = true;
      clearTimeout(retryTimer);
      return new Promise((resolve) => {
        // Not forced: a connected client flushes its in-flight results before saying goodbye. A
        // broker that stopped answering must not hold the exit hostage, hence the forced fallback.
        const fallback = setTimeout(() => client.end(true, {}, () => resolve()), 2000);
        client.end(!client.connected, {}, () => {
          clearTimeout(fallback);
          resolve();
        });
      });
    },
  };
}
