/**
 * The Broker port over an external MQTT broker (Mosquitto, EMQX), for hub replicas that share one:
 * `--mqtt-url mqtt://dpowserver:PASSWORD@host:1883`. The first connection must succeed (a wrong
 * password or an unreachable broker at start is reported, not retried silently); after that the
 * client reconnects forever and restores its subscriptions. MQTT does not tell a subscriber who
 * published a message, so handlers get no publisher and there is no disconnect(): the hub only
 * drops and counts invalid results here, and the broker's own limits apply.
 */
import type { Socket } from "node:net";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { CodedError } from "../../errors.js";
import { redactUrl } from "../../protocol/redact-url.js";
import { hasUrlScheme, URL_SCHEMES } from "../../protocol/url-scheme.js";
import { type Broker, type MessageHandler, type PublishOptions, StoreUnreachableError } from "../ports.js";
import { type BrokerLogger, silentLogger } from "./logger.js";
import { topicMatches } from "./topic-filter.js";

export interface ExternalBrokerOptions {
  logger?: BrokerLogger;
  /** How long the first connection may take. Default 10 s. */
  connectTimeoutMs?: number;
  /** Pause between reconnection attempts. Default 1 s. */
  reconnectPeriodMs?: number;
  /** TCP_NODELAY on the connection (true by default; false only to measure what it is worth). */
  noDelay?: boolean;
}

export interface ExternalBroker extends Broker {
  /** Whether the connection is up right now (for health checks and metrics). */
  connected(): boolean;
}

/**
 * Most messages held for the broker while it is unreachable; past it the oldest are dropped. A
 * message is under 200 bytes (the statistics a few KiB), so this holds well under a megabyte: about
 * 15 minutes of heartbeats, or the jobs of a burst of requests, whose services wait at most 30 s.
 */
export const OFFLINE_QUEUE_LIMIT = 1000;

/** MQTT CONNACK codes that retrying will not fix. */
const REFUSED = new Map([
  [4, "bad user name or password"],
  [5, "not authorized"],
]);

export async function connectExternalBroker(
  url: string,
  options: ExternalBrokerOptions = {},
): Promise<ExternalBroker> {
  const logger = options.logger ?? silentLogger;
  const where = redactUrl(url);
  if (!hasUrlScheme(url, URL_SCHEMES.mqtt)) {
    throw new StoreUnreachableError(
      `MQTT broker URL must look like mqtt://dpowserver:PASSWORD@host:1883, got ${where}; fix --mqtt-url`,
    );
  }
  const clientOptions: IClientOptions = {
    reconnectPeriod: options.reconnectPeriodMs ?? 1000,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    clientId: `dpowserver-${process.pid}-${Math.random().toString(16).slice(2, 10)}`,
    clean: true,
    resubscribe: true,
  };
  const client = mqtt.connect(url, clientOptions);
  // Jobs, cancels and results are small packets written one at a time: with Nagle's algorithm one
  // written while the last is unacknowledged waits for the broker's delayed ACK (40 ms on Linux).
  // MQTT.js leaves it on, so it is turned off on each new connection (its CONNACK comes before any
  // of ours). WebSocket streams have none to set: ws turns Nagle off itself. README, "Scaling out",
  // has the cancel latency measured both ways.
  if (options.noDelay ?? true) {
    client.on("connect", () => (client.stream as Partial<Socket>).setNoDelay?.(true));
  }
  await firstConnection(client, where, options.connectTimeoutMs ?? 10_000);
  logger.info({ broker: where }, "connected to the MQTT broker");

  client.on("reconnect", () => logger.warn({ broker: where }, "reconnecting to the MQTT broker"));
  client.on("connect", () => logger.info({ broker: where }, "reconnected to the MQTT broker"));
  client.on("offline", () => logger.warn({ broker: where }, "lost the MQTT broker"));
  client.on("error", (err) => logger.warn({ broker: where, err: err.message }, "MQTT connection error"));

  const handlers: { pattern: string; handler: MessageHandler }[] = [];
  client.on("message", (topic, payload) => {
    for (const { pattern, handler } of handlers) {
      if (!topicMatches(pattern, topic)) continue;
      try {
        handler(topic, payload);
      } catch (err) {
        logger.warn({ err, topic }, "broker message handler threw");
      }
    }
  });

  return {
    async publish(topic: string, payload: string | Buffer, publishOptions: PublishOptions = {}) {
      const packetOptions = { qos: publishOptions.qos ?? 0, retain: publishOptions.retain ?? false } as const;
      if (client.connected) {
        await client.publishAsync(topic, payload, packetOptions);
        return;
      }
      // While the broker is away MQTT.js holds the message and sends it on reconnect, and its
      // promise settles only then: a service's request would hang for as long as the broker is
      // down. So nobody waits for a reconnection: the message is held (a job goes out as soon as
      // the broker is back, in time for the requests still waiting on it) and the caller goes on.
      // The hold is bounded: the oldest messages (jobs whose requests have given up, stale
      // heartbeats) make room for the newest.
      while (client.queue.length >= OFFLINE_QUEUE_LIMIT) {
        // Only publishes: a held (re)subscription must still reach the broker.
        const oldest = client.queue.findIndex((entry) => entry.packet.cmd === "publish");
        if (oldest < 0) break;
        client.queue.splice(oldest, 1);
      }
      client.publish(topic, payload, packetOptions, (err) => {
        if (err) logger.warn({ broker: where, topic, err: err.message }, "a held message was not sent");
      });
    },
    async subscribe(pattern: string, handler: MessageHandler) {
      const granted = await client.subscribeAsync(pattern, { qos: 0 });
      if (granted.some((g) => g.qos === 128)) {
        throw new CodedError(
          "DPOW_BROKER_REFUSED",
          `the MQTT broker at ${where} refused the subscription to ${pattern}; check its ACL`,
        );
      }
      handlers.push({ pattern, handler });
    },
    async close() {
      handlers.length = 0;
      await client.endAsync();
    },
    connected: () => client.connected,
  };
}

function firstConnection(client: MqttClient, where: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (reason: string) => {
      clearTimeout(timer);
      client.removeListener("connect", succeed);
      client.removeListener("error", onError);
      client.end(true);
      reject(
        new StoreUnreachableError(
          `cannot connect to the MQTT broker at ${where}: ${reason}; start it or fix --mqtt-url`,
        ),
      );
    };
    const succeed = () => {
      clearTimeout(timer);
      client.removeListener("error", onError);
      resolve();
    };
    let lastError = "";
    const onError = (err: Error & { code?: unknown }) => {
      const refused = typeof err.code === "number" ? REFUSED.get(err.code) : undefined;
      if (refused) fail(`${refused} (check the user name and password in the URL)`);
      // Nothing listens there: waiting cannot help (a slow broker that does listen keeps the timeout).
      else if (err.code === "ECONNREFUSED") fail("connection refused (nothing listens on that port)");
      lastError = `; last error: ${err.message}`;
    };
    const timer = setTimeout(
      () => fail(`no connection within ${timeoutMs} ms (is it running?)${lastError}`),
      timeoutMs,
    );
    client.once("connect", succeed);
    client.on("error", onError);
  });
}
