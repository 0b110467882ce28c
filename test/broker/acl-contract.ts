/**
 * The broker contract of docs/broker.md, written once and run against every broker we ship or support:
 * the embedded aedes broker (TCP and WebSocket) and Mosquitto with deploy/mosquitto.
 *
 * Absence of a message is proven by ordering, not by waiting: after the forbidden action has been
 * settled by the broker, a marker is published on a topic the observer may read; brokers deliver in
 * order, so once the marker is in, anything the forbidden action could have caused is in too.
 */
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

export interface BrokerUnderTest {
  /** `mqtt://127.0.0.1:PORT` or `ws://127.0.0.1:PORT/mqtt` */
  url: string;
  passwords: { dpowserver: string; client: string; dpowinterface: string };
  stop(): Promise<void>;
}

const DEADLINE_MS = 15_000;

export function brokerContract(name: string, start: () => Promise<BrokerUnderTest>): void {
  describe(`broker contract: ${name}`, () => {
    let broker: BrokerUnderTest;
    const open: MqttClient[] = [];

    beforeAll(async () => {
      broker = await start();
    });
    afterAll(async () => {
      await Promise.all(open.map((c) => c.endAsync(true)));
      await broker.stop();
    });

    async function login(account: keyof BrokerUnderTest["passwords"]): Promise<Inbox> {
      const client = await mqtt.connectAsync(broker.url, {
        username: account,
        password: broker.passwords[account],
        reconnectPeriod: 0,
      });
      open.push(client);
      // A refused publish closes the connection on some brokers; that is expected, not a test failure.
      client.on("error", () => {});
      return new Inbox(client);
    }

    /** A server publishing a marker on `topic` and `observer` receiving it. */
    async function marker(server: Inbox, observer: Inbox, topic: string): Promise<void> {
      const payload = `marker-${Math.random()}`;
      await server.client.publishAsync(topic, payload, { qos: 1 });
      await observer.next((m) => m.topic === topic && m.payload === payload);
    }

    /** A client account subscribed to every topic the hub publishes to workers. */
    async function hubTopicObserver(): Promise<Inbox> {
      const observer = await login("client");
      await observer.subscribe(["work/#", "cancel/#", "client/#", "heartbeat", "statistics"]);
      return observer;
    }

    /** Publishes "forged" to each topic, each from a fresh `account` login, settled by the broker. */
    async function forgeFrom(account: keyof BrokerUnderTest["passwords"], topics: string[]): Promise<void> {
      for (const topic of topics) {
        const forger = await login(account);
        await forger.publishSettled(topic, "forged");
      }
    }

    it("carries every hub -> worker topic from dpowserver to client", async () => {
      const server = await login("dpowserver");
      const worker = await login("client");
      await worker.subscribe(["work/#", "cancel/#", "client/+", "heartbeat", "statistics"]);
      const sent = ["work/precache", "work/ondemand", "cancel/precache", "cancel/ondemand", "client/nano_x"];
      for (const topic of [...sent, "heartbeat", "statistics"]) {
        await server.client.publishAsync(topic, `to ${topic}`, { qos: 1 });
        await worker.next((m) => m.topic === topic && m.payload === `to ${topic}`);
      }
    });

    it("carries results from client to dpowserver", async () => {
      const server = await login("dpowserver");
      const worker = await login("client");
      await server.subscribe(["result/#"]);
      for (const topic of ["result/precache", "result/ondemand"]) {
        await worker.client.publishAsync(topic, "HASH,WORK,nano_x", { qos: 1 });
        await server.next((m) => m.topic === topic && m.payload === "HASH,WORK,nano_x");
      }
    });

    it("never lets the client account read a result, whatever it subscribes to", async () => {
      const server = await login("dpowserver");
      const thief = await login("client");
      const worker = await login("client");
      await server.subscribe(["result/#"]);
      await thief.subscribe(["work/#"]);
      for (const filter of ["#", "result/#", "result/+", "+/ondemand", "+/+", "result/ondemand", "+/#"]) {
        await thief.trySubscribe(filter);
      }
      await worker.client.publishAsync("result/ondemand", "stolen?", { qos: 1 });
      await server.next((m) => m.payload === "stolen?");
      await marker(server, thief, "work/ondemand");
      expect(thief.seen.filter((m) => m.topic.startsWith("result/"))).toEqual([]);
    });

    it("refuses publishes by the client account to hub topics", async () => {
      const server = await login("dpowserver");
      const observer = await hubTopicObserver();
      await forgeFrom("client", [
        "work/ondemand",
        "cancel/ondemand",
        "client/nano_victim",
        "heartbeat",
        "statistics",
      ]);
      await marker(server, observer, "work/ondemand");
      expect(observer.seen.filter((m) => m.payload === "forged")).toEqual([]);
    });

    it("refuses publishes by dpowserver to result/", async () => {
      const server = await login("dpowserver");
      const watcher = await login("dpowinterface");
      await watcher.subscribe(["#"]);
      await server.publishSettled("result/ondemand", "forged");
      const other = await login("dpowserver");
      await marker(other, watcher, "work/ondemand");
      expect(watcher.seen.filter((m) => m.payload === "forged")).toEqual([]);
    });

    it("lets dpowinterface read everything, results included, and write nothing", async () => {
      const server = await login("dpowserver");
      const watcher = await login("dpowinterface");
      const worker = await login("client");
      await watcher.subscribe(["#"]);
      await worker.client.publishAsync("result/ondemand", "seen by interface", { qos: 1 });
      await watcher.next((m) => m.topic === "result/ondemand" && m.payload === "seen by interface");
      await server.client.publishAsync("work/precache", "work seen by interface", { qos: 1 });
      await watcher.next((m) => m.payload === "work seen by interface");

      const observer = await hubTopicObserver();
      await forgeFrom("dpowinterface", [
        "work/ondemand",
        "cancel/ondemand",
        "client/nano_x",
        "statistics",
        "result/ondemand",
      ]);
      await marker(server, observer, "work/ondemand");
      await marker(server, watcher, "work/ondemand");
      expect([...observer.seen, ...watcher.seen].filter((m) => m.payload === "forged")).toEqual([]);
    });

    it("refuses unknown users, wrong passwords and anonymous logins", async () => {
      const attempts = [
        { username: "admin", password: "client" },
        { username: "client", password: `${broker.passwords.client}x` },
        { username: "dpowserver", password: "client" },
        { username: "dpowinterface", password: "" },
        {},
      ];
      for (const credentials of attempts) {
        await expect(mqtt.connectAsync(broker.url, { ...credentials, reconnectPeriod: 0 })).rejects.toThrow();
      }
    });

    it("hands the retained statistics to a new subscriber at once", async () => {
      const server = await login("dpowserver");
      const stats = JSON.stringify({ work: { precache: 1, ondemand: 2 }, run: Math.random() });
      await server.client.publishAsync("statistics", stats, { qos: 1, retain: true });
      const late = await login("client");
      await late.subscribe(["statistics"]);
      const message = await late.next((m) => m.topic === "statistics");
      expect(message.payload).toBe(stats);
      expect(message.retain).toBe(true);
    });

    it("never forwards an oversized packet and keeps serving the others", async () => {
      const server = await login("dpowserver");
      const worker = await login("client");
      await server.subscribe(["result/#"]);
      const flooder = await login("client");
      // Disconnected (aedes, Mosquitto over TCP) or acknowledged and dropped (Mosquitto over WebSocket).
      await flooder.publishSettled("result/ondemand", "A".repeat(512 * 1024));
      await worker.client.publishAsync("result/ondemand", "still alive", { qos: 1 });
      await server.next((m) => m.payload === "still alive");
      expect(server.seen.filter((m) => m.payload.length > 1000)).toEqual([]);
    });
  });
}

interface Message {
  topic: string;
  payload: string;
  retain: boolean;
}

/** One connected client and everything it has received. */
class Inbox {
  readonly seen: Message[] = [];
  private waiters: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];

  constructor(readonly client: MqttClient) {
    client.on("message", (topic, payload, packet) => {
      const message = { topic, payload: payload.toString(), retain: packet.retain };
      this.seen.push(message);
      for (const w of this.waiters.filter((w) => w.match(message))) w.resolve(message);
      this.waiters = this.waiters.filter((w) => !w.match(message));
    });
  }

  async subscribe(filters: string[]): Promise<void> {
    const granted = await this.client.subscribeAsync(filters, { qos: 0 });
    expect(granted.map((g) => g.qos)).toEqual(filters.map(() => 0));
  }

  /** Subscribes and ignores the answer: a broker may refuse the filter or accept it and filter deliveries. */
  async trySubscribe(filter: string): Promise<void> {
    await this.client.subscribeAsync(filter, { qos: 0 }).catch(() => {});
  }

  /** The first message (already seen or yet to come) that matches, within the deadline. */
  next(match: (m: Message) => boolean): Promise<Message> {
    const already = this.seen.find(match);
    if (already) return Promise.resolve(already);
    return withDeadline(
      new Promise((resolve) => this.waiters.push({ match, resolve })),
      "expected message never arrived",
    );
  }

  /**
   * Publishes at QoS 1 and resolves once the broker has dealt with it: acknowledged (Mosquitto drops
   * refused publishes but acknowledges them) or the connection closed (aedes cuts the sender off).
   */
  publishSettled(topic: string, payload: string): Promise<void> {
    return withDeadline(
      new Promise((resolve) => {
        this.client.once("close", () => resolve());
        this.client.publish(topic, payload, { qos: 1 }, () => resolve());
      }),
      `publish to ${topic} was neither acknowledged nor refused`,
    );
  }
}

function withDeadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${DEADLINE_MS} ms`)), DEADLINE_MS);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
