/**
 * The embedded MQTT broker (aedes): TCP, plus MQTT over WebSocket on the hub's HTTP server, with the
 * accounts and ACL of docs/broker.md. The hub itself publishes and subscribes in-process, with no
 * network hop and no login, through the Broker port returned as `hub`.
 */

import { randomBytes } from "node:crypto";
import type { Server as HttpServer, IncomingMessage } from "node:http";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { Aedes, type AedesPublishPacket, type Client } from "aedes";
import { createWebSocketStream, WebSocketServer } from "ws";
import { CodedError } from "../../errors.js";
import { MQTT_WEBSOCKET_PATH, topics } from "../../protocol/topics.js";
import { surviveAcceptErrors } from "../accept-errors.js";
import { addressKey } from "../address-key.js";
import type { RefusalCounts } from "../metrics.js";
import { openFileLimit } from "../open-file-limit.js";
import type { Broker, MessageHandler, Publisher, PublishOptions } from "../ports.js";
import { type Account, authenticate, canPublish, canRead, canSubscribe, type Passwords } from "./acl.js";
import { type AedesFanOut, aedesFanOut } from "./aedes-fan-out.js";
import {
  type Admission,
  ConnectionCap,
  ConnectionsPerAddress,
  DEFAULT_MAX_CONNECTIONS_PER_IP,
  defaultMaxConnections,
  REFUSAL_WAIT_MS,
} from "./connection-limits.js";
import { type BrokerLogger, silentLogger } from "./logger.js";
import { LoginThrottle, type LoginThrottleOptions } from "./login-throttle.js";
import { type PacedBroadcast, pacedBroadcast } from "./paced-broadcast.js";
import { guardPacketSize } from "./packet-limit.js";
import { RefusalLog } from "./refusal-log.js";
import { SESSION_DEFAULTS, SessionStore } from "./sessions.js";
import { FAN_OUT_DEFAULTS, type FanOutOptions } from "./subset-fan-out.js";
import { topicMatches } from "./topic-filter.js";

export interface EmbeddedBrokerOptions {
  /** TCP port for MQTT; 0 picks a free one (read it back from `port`). */
  mqttPort?: number;
  /** Interface to listen on. Default: all. */
  host?: string;
  /** Password of the public worker account `client`. */
  clientPassword?: string;
  /** Password of the read-only `dpowinterface` account; without one that account cannot log in. */
  interfacePassword?: string;
  /** Password of `dpowserver` for MQTT logins (the hub itself needs none). Default: random per process. */
  serverPassword?: string;
  /** Largest packet body a client may send, in bytes. */
  maxPacketBytes?: number;
  /** Persistent (`clean: false`) sessions: where they are kept, when they expire, how many. */
  sessions?: {
    /** SQLite file; default none (memory only, lost at exit). */
    file?: string | null;
    expiryMs?: number;
    maxSessions?: number;
    queueLimit?: number;
    /** The clock sessions expire by (default Date.now); tests move it instead of waiting. */
    now?: () => number;
  };
  /** Open MQTT connections per remote address (TCP and WebSocket together); 0 = no cap. */
  maxConnectionsPerIp?: number;
  /**
   * Open MQTT connections in all (TCP and WebSocket); past it a new one gets CONNACK 3 (server
   * unavailable); 0 = no cap. Default: the process's open-file limit less a reserve for the service
   * API and the hub's own files (defaultMaxConnections).
   */
  maxConnections?: number;
  /** Delays after failed logins (tests shorten them). */
  loginThrottle?: Partial<LoginThrottleOptions>;
  /** Refused logins and connections are logged as one summary line per this interval. */
  refusalLogIntervalMs?: number;
  /** Each job to a random subset of the workers, escalating (subset-fan-out.ts); size 0 = broadcast. */
  fanOut?: FanOutOptions;
  logger?: BrokerLogger;
}

export interface EmbeddedBroker {
  /** The bound TCP port. */
  readonly port: number;
  /** The Broker port for the hub, in-process. Its close() drops the hub's subscriptions only. */
  readonly hub: Broker;
  /** Serves MQTT over WebSocket on `server` at `path` (upgrade requests for other paths are left alone). */
  attachWebSocket(server: HttpServer, path?: string): void;
  /** MQTT clients connected now (TCP and WebSocket), for metrics. */
  clientCount(): number;
  /** Persistent sessions kept now, online or not. */
  sessionCount(): number;
  /** Connections and logins refused since the start, by reason (for metrics). */
  refusals(): RefusalCounts["counts"];
  /** Disconnects every client and stops listening. */
  close(): Promise<void>;
}

/** Thrown when the MQTT port is taken; the CLI turns it into advice naming its flag. */
export class PortInUseError extends CodedError {
  override name = "PortInUseError";
  constructor(readonly port: number) {
    super("DPOW_PORT_TAKEN", `MQTT port ${port} is already in use (is another MQTT broker running?)`);
  }
}

/** What the broker takes where an option is not given (`dpow server`'s flags show these). */
export const BROKER_DEFAULTS = {
  mqttPort: 1883,
  clientPassword: "client",
  maxPacketBytes: 64 * 1024,
  maxConnectionsPerIp: DEFAULT_MAX_CONNECTIONS_PER_IP,
  refusalLogIntervalMs: 60_000,
} satisfies Required<
  Pick<
    EmbeddedBrokerOptions,
    "mqttPort" | "clientPassword" | "maxPacketBytes" | "maxConnectionsPerIp" | "refusalLogIntervalMs"
  >
>;

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const logger = options.logger ?? silentLogger;
  const maxPacketBytes = options.maxPacketBytes ?? BROKER_DEFAULTS.maxPacketBytes;
  const passwords: Passwords = {
    dpowserver: options.serverPassword ?? randomBytes(24).toString("base64url"),
    client: options.clientPassword ?? BROKER_DEFAULTS.clientPassword,
    dpowinterface: options.interfacePassword,
  };
  const sessions = new SessionStore({
    file: options.sessions?.file ?? null,
    expiryMs: options.sessions?.expiryMs ?? SESSION_DEFAULTS.expiryMs,
    maxSessions: options.sessions?.maxSessions ?? SESSION_DEFAULTS.maxSessions,
    queueLimit: options.sessions?.queueLimit ?? SESSION_DEFAULTS.queueLimit,
    logger,
    now: options.sessions?.now,
  });
  const aedes = await Aedes.createBroker({ persistence: sessions });
  const refusalInterval = options.refusalLogIntervalMs ?? BROKER_DEFAULTS.refusalLogIntervalMs;
  const throttle = new LoginThrottle(options.loginThrottle);
  const loginRefusals = new RefusalLog(logger, "MQTT logins refused", refusalInterval, () => ({
    longestDelayMs: throttle.takeMaxDelay(),
  }));
  const connectionRefusals = new RefusalLog(
    logger,
    "MQTT connections refused (over the per-address cap)",
    refusalInterval,
  );
  const fileLimit = openFileLimit();
  const cap = new ConnectionCap(options.maxConnections ?? defaultMaxConnections(fileLimit));
  let unanswered = 0;
  const capRefusals = new RefusalLog(
    logger,
    `MQTT connections refused (over the hub's cap of ${cap.max})`,
    refusalInterval,
    () => {
      const details = { maxConnections: cap.max, closedUnanswered: unanswered };
      unanswered = 0;
      return details;
    },
  );
  // Every open connection: its remote address (so close() can end those aedes does not know yet,
  // no CONNECT sent, and logins can be throttled per address) and whether it is over the cap.
  const connections = new Map<Duplex, { address: string; admission: Admission }>();
  const perAddress = new ConnectionsPerAddress(
    options.maxConnectionsPerIp ?? BROKER_DEFAULTS.maxConnectionsPerIp,
  );
  const accountOf = authorize(aedes, passwords, logger, {
    throttle,
    refusals: loginRefusals,
    connectionOf: (conn) => connections.get(conn),
  });
  const hubSubscriptions: HubSubscriptions = [];
  const hubListens = (topic: string) => hubSubscriptions.some((s) => topicMatches(s.pattern, topic));
  const fanOut = aedesFanOut(aedes, accountOf, hubListens, options.fanOut ?? FAN_OUT_DEFAULTS, logger);
  const forward = aedes.authorizeForward;
  aedes.authorizeForward = (client, packet) =>
    fanOut.forwardable(client, packet) ? forward.call(aedes, client, packet) : null;

  const handle = (conn: Duplex, address: string, req?: IncomingMessage) => {
    if (!perAddress.admit(address)) {
      connectionRefusals.note(address);
      conn.destroy();
      return;
    }
    const admission = cap.take();
    if (admission !== "admitted") capRefusals.note(address);
    if (admission === "dropped") {
      // Already REFUSAL_SLOTS waiting for their answer: this one gets none.
      unanswered++;
      perAddress.release(address);
      conn.destroy();
      return;
    }
    connections.set(conn, { address, admission });
    conn.once("close", () => {
      connections.delete(conn);
      perAddress.release(address);
      cap.release(admission);
    });
    if (admission === "refused") {
      // Held only until its CONNECT is answered (authenticate refuses it), and not long without one.
      const timer = setTimeout(() => conn.destroy(), REFUSAL_WAIT_MS);
      timer.unref();
      conn.once("close", () => clearTimeout(timer));
    }
    guardPacketSize(conn, maxPacketBytes, () =>
      logger.warn({ maxPacketBytes }, "MQTT client sent an oversized packet; disconnected"),
    );
    aedes.handle(conn, req);
  };
  // Without noDelay, Nagle plus delayed ACKs add ~40 ms to a small message answered with another.
  const tcp = createServer({ noDelay: true }, (socket: Socket) =>
    handle(socket, addressKey(socket.remoteAddress ?? "?")),
  );
  const port = await listen(tcp, options.mqttPort ?? BROKER_DEFAULTS.mqttPort, options.host).catch(
    async (err: unknown) => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      fanOut.close();
      loginRefusals.close();
      connectionRefusals.close();
      capRefusals.close();
      await sessions.destroy();
      throw err;
    },
  );
  surviveAcceptErrors(tcp, "MQTT listener", logger);
  logger.info(
    { port, maxConnections: cap.max, openFileLimit: fileLimit },
    cap.max > 0
      ? `embedded MQTT broker listening; at most ${cap.max} MQTT connections (open-file limit ${fileLimit ?? "unknown"})`
      : "embedded MQTT broker listening; MQTT connections not capped",
  );

  const webSockets: WebSocketServer[] = [];
  let closed: Promise<void> | undefined;

  return {
    port,
    hub: inProcessBroker(
      aedes,
      logger,
      { fanOut, heartbeat: pacedBroadcast(aedes, topics.heartbeat) },
      hubSubscriptions,
    ),
    attachWebSocket(server, path = MQTT_WEBSOCKET_PATH) {
      // The original hub's nginx served `/mqtt/`; browser clients written for it use that.
      const paths = new Set([path, path.endsWith("/") ? path.slice(0, -1) : `${path}/`]);
      const wss = new WebSocketServer({
        noServer: true,
        maxPayload: maxPacketBytes + 8,
        // MQTT.js asks for `mqtt` (3.1.1, 5) or `mqttv3.1`; accept whichever it offers.
        handleProtocols: (offered) => ["mqtt", "mqttv3.1"].find((p) => offered.has(p)) ?? false,
      });
      webSockets.push(wss);
      server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        // Split by hand: the URL is untrusted and `new URL("//", base)` throws.
        if (!paths.has((req.url ?? "/").split("?", 1)[0] as string)) return;
        wss.handleUpgrade(req, socket, head, (ws) =>
          handle(createWebSocketStream(ws), addressKey(req.socket.remoteAddress ?? "?"), req),
        );
      });
    },
    clientCount: () => aedes.connectedClients,
    sessionCount: () => sessions.sessionCount(),
    refusals: () => ({
      cap: capRefusals.total,
      per_address: connectionRefusals.total,
      login: loginRefusals.total,
    }),
    close() {
      closed ??= (async () => {
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        for (const conn of connections.keys()) conn.destroy();
        fanOut.close();
        loginRefusals.close();
        connectionRefusals.close();
        capRefusals.close();
        await sessions.destroy();
        for (const wss of webSockets) wss.close();
        await new Promise<void>((resolve) => tcp.close(() => resolve()));
      })();
      return closed;
    },
  };
}

function listen(server: NetServer, port: number, host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => {
      reject(err.code === "EADDRINUSE" ? new PortInUseError(port) : err);
    };
    server.once("error", fail);
    server.listen(port, host, () => {
      server.off("error", fail);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}

interface LoginGuard {
  throttle: LoginThrottle;
  refusals: RefusalLog;
  connectionOf(conn: Duplex): { address: string; admission: Admission } | undefined;
}

/**
 * Wires the accounts and the ACL into aedes. Wrong passwords are refused after the growing delay of
 * their address (login-throttle.ts); refusals are counted, not logged one by one. A connection over
 * the hub's cap is refused before its password is looked at. Denied publishes cut the client off;
 * denied subscriptions get a failure code.
 */
function authorize(
  aedes: Aedes,
  passwords: Passwords,
  logger: BrokerLogger,
  guard: LoginGuard,
): (client: Client) => Account | undefined {
  const accounts = new WeakMap<Client, Account>();
  aedes.authenticate = (client, username, password, done) => {
    const connection = guard.connectionOf(client.conn as Duplex);
    const address = connection?.address ?? "?";
    if (connection?.admission === "refused") {
      // 3: server unavailable (MQTT 3.1.1, 3.2.2.3): the one code that says "the server, not you; retry later".
      done(
        Object.assign(new Error("too many MQTT connections on this hub; retry later"), {
          returnCode: 3 as const,
        }),
        false,
      );
      return;
    }
    if (guard.throttle.blocked(address)) {
      guard.refusals.note(address);
      // 3: server unavailable. The password is not even looked at, so nothing is learnt from it.
      done(
        Object.assign(new CodedError("DPOW_MQTT_LOGIN_THROTTLED", "too many failed logins; retry later"), {
          returnCode: 3 as const,
        }),
        false,
      );
      return;
    }
    const account = authenticate(passwords, username, password);
    if (account === null) {
      guard.refusals.note(address);
      const refuse = () => {
        guard.throttle.released(address);
        const error = new CodedError("DPOW_MQTT_LOGIN_REFUSED", "bad user name or password");
        done(Object.assign(error, { returnCode: 4 as const }), false);
      };
      setTimeout(refuse, guard.throttle.failed(address)).unref();
      return;
    }
    accounts.set(client, account);
    done(null, true);
  };
  aedes.authorizePublish = (client, packet, done) => {
    const account = client ? accounts.get(client) : undefined;
    if (account !== undefined && canPublish(account, packet.topic)) return done(null);
    logger.warn({ account, topic: packet.topic }, "MQTT publish refused; client disconnected");
    done(
      new CodedError("DPOW_MQTT_NOT_ALLOWED", `${account ?? "anonymous"} may not publish to ${packet.topic}`),
    );
  };
  aedes.authorizeSubscribe = (client, subscription, done) => {
    const account = accounts.get(client);
    if (account !== undefined && canSubscribe(account, subscription.topic)) return done(null, subscription);
    logger.warn({ account, filter: subscription.topic }, "MQTT subscription refused");
    done(null, null);
  };
  // Defence in depth: every delivery (retained messages included) is checked against the read rights.
  const readable = rememberedReads();
  aedes.authorizeForward = (client, packet) => {
    const account = accounts.get(client);
    return account !== undefined && readable(account, packet.topic) ? packet : null;
  };
  return (client) => accounts.get(client);
}

/**
 * canRead with its answers remembered: a broadcast asks the same question for every worker, and
 * the topics are few (work, cancel, heartbeat, statistics, one client/ topic per worker).
 */
function rememberedReads(): (account: Account, topic: string) => boolean {
  const answers = new Map<Account, Map<string, boolean>>();
  return (account, topic) => {
    let byTopic = answers.get(account);
    if (!byTopic) {
      byTopic = new Map();
      answers.set(account, byTopic);
    }
    let allowed = byTopic.get(topic);
    if (allowed === undefined) {
      allowed = canRead(account, topic);
      if (byTopic.size >= 10_000) byTopic.clear();
      byTopic.set(topic, allowed);
    }
    return allowed;
  };
}

/** The remote IP of an aedes client: its TCP socket, or the socket under its WebSocket upgrade. */
function remoteAddressOf(client: Client): string | undefined {
  return client.req?.socket?.remoteAddress ?? (client.conn as Partial<Socket>).remoteAddress;
}

/** The hot topics the broker routes itself: jobs and cancels (subsets), and the heartbeat. */
interface OwnRoutes {
  fanOut: AedesFanOut;
  heartbeat: PacedBroadcast;
}

/** The hub's own (in-process) subscriptions. */
type HubSubscriptions = {
  pattern: string;
  deliver: (packet: AedesPublishPacket, done: () => void) => void;
}[];

/**
 * The hub's Broker port on the embedded broker: aedes.publish / aedes.subscribe, no socket involved.
 * Handlers learn who published each message: aedes stamps the publishing client's id on the packet
 * it hands subscribers (`packet.clientId`, set in its emitPacket step), so the look-up is one map
 * read per message, and only for messages from clients (the hub's own have no id).
 */
function inProcessBroker(
  aedes: Aedes,
  logger: BrokerLogger,
  routes: OwnRoutes,
  subscriptions: HubSubscriptions,
): Broker {
  const usernames = new WeakMap<Client, string>();
  // Connected clients by id, from aedes' own events (its `clients` table is not in its types).
  const clients = new Map<string, Client>();
  aedes.on("client", (client) => clients.set(client.id, client));
  aedes.on("clientDisconnect", (client) => {
    if (clients.get(client.id) === client) clients.delete(client.id);
  });
  /** "address clientId" -> until when that client id is refused from that address. */
  const refused = new Map<string, number>();
  const refusalKey = (clientId: string, address: string | undefined) =>
    `${addressKey(address ?? "?")} ${clientId}`;
  // Wraps the accounts' check: a refused client id gets CONNACK 5 (not authorized) before it.
  const authenticate = aedes.authenticate;
  aedes.authenticate = (client, username, password, done) => {
    const key = refusalKey(client.id, remoteAddressOf(client));
    const until = refused.get(key);
    if (until !== undefined && until > Date.now()) {
      const error = new CodedError(
        "DPOW_MQTT_COOL_DOWN",
        "refused for a cool-down: too many invalid results",
      );
      return done(Object.assign(error, { returnCode: 5 as const }), false);
    }
    if (until !== undefined) refused.delete(key);
    if (username !== undefined) usernames.set(client, username);
    authenticate.call(aedes, client, username, password, done);
  };
  const publisherOf = (packet: AedesPublishPacket): Publisher | undefined => {
    const clientId = (packet as { clientId?: string }).clientId;
    if (clientId === undefined) return undefined;
    const client = clients.get(clientId);
    if (!client) return { clientId };
    return { clientId, address: remoteAddressOf(client), username: usernames.get(client) };
  };
  return {
    publish(topic: string, payload: string | Buffer, options: PublishOptions = {}) {
      const bytes = typeof payload === "string" ? Buffer.from(payload) : payload;
      if (topic === topics.heartbeat && !options.retain && !options.qos)
        return routes.heartbeat.publish(bytes);
      const viaFanOut = options.retain ? null : routes.fanOut.publish(topic, bytes, options.qos ?? 0);
      if (viaFanOut) return viaFanOut;
      return new Promise((resolve, reject) => {
        aedes.publish(
          {
            cmd: "publish",
            topic,
            payload: bytes,
            qos: options.qos ?? 0,
            retain: options.retain ?? false,
            dup: false,
          },
          (err) => (err ? reject(err) : resolve()),
        );
      });
    },
    subscribe(pattern: string, handler: MessageHandler) {
      const deliver = (packet: AedesPublishPacket, done: () => void) => {
        try {
          handler(
            packet.topic,
            Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
            publisherOf(packet),
          );
        } catch (err) {
          logger.warn({ err, topic: packet.topic }, "broker message handler threw");
        }
        done();
      };
      subscriptions.push({ pattern, deliver });
      return new Promise((resolve) => aedes.subscribe(pattern, deliver, resolve));
    },
    disconnect(publisher: Publisher, refuseMs: number) {
      // Bounded: one entry per dropped connection, expired entries swept when it grows.
      if (refused.size >= 100_000) {
        const now = Date.now();
        for (const [key, until] of refused) if (until <= now) refused.delete(key);
        if (refused.size >= 100_000) refused.clear();
      }
      refused.set(refusalKey(publisher.clientId, publisher.address), Date.now() + refuseMs);
      const client = clients.get(publisher.clientId);
      if (client && remoteAddressOf(client) === publisher.address) client.close();
    },
    async close() {
      const all = subscriptions.splice(0);
      await Promise.all(
        all.map(({ pattern, deliver }) => new Promise<void>((r) => aedes.unsubscribe(pattern, deliver, r))),
      );
    },
  };
}
