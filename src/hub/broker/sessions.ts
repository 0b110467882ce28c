/**
 * Persistent MQTT sessions for the embedded broker: what a `clean: false` client subscribed to, kept
 * in a SQLite file so that it survives a hub restart (the original Python worker subscribes once,
 * then never again), expired when abandoned (Mosquitto's `persistent_client_expiration`) and bounded
 * in number, with a bounded queue of QoS 1 messages per session.
 *
 * aedes' in-memory persistence stays the hot path (its topic trie answers "who subscribed to
 * work/ondemand" on every QoS 1 publish); this class writes subscriptions through to SQLite as they
 * change (a worker subscribes once per connect, so a few rows per connect) and saves the queues of
 * offline sessions on close. Nothing here runs per message except the bounded in-memory queue.
 */

import { createRequire } from "node:module";
import { Readable } from "node:stream";
import type { Aedes, Client, Subscription } from "aedes";
import Database, { type Database as Db } from "better-sqlite3";
import { CodedError } from "../../errors.js";
import { StoreUnreachableError } from "../ports.js";
import type { BrokerLogger } from "./logger.js";

export interface SessionOptions {
  /** SQLite file holding the sessions; null keeps them in memory only (tests, throwaway hubs). */
  file: string | null;
  /** A session offline this long is forgotten. */
  expiryMs: number;
  /** Most sessions kept; past it, the one offline longest is dropped to make room. */
  maxSessions: number;
  /** Most QoS 1 messages queued per session; past it, the oldest is dropped. */
  queueLimit: number;
  logger: BrokerLogger;
  now?: () => number;
}

export const SESSION_DEFAULTS = {
  /** Mosquitto's usual `persistent_client_expiration 1d`: a worker away for a day starts afresh. */
  expiryMs: 24 * 60 * 60 * 1000,
  /**
   * A session costs about 4 KB of heap (5,000 with 4 subscriptions each: +18 MB), so 50,000 cost
   * about 200 MB at worst; a hub with that many distinct workers is far beyond today's.
   */
  maxSessions: 50_000,
  /**
   * Jobs and cancels a worker missed while offline. A job is worth doing for at most 30 s (the
   * longest service timeout); 100 covers a few seconds offline at a busy hub's broadcast rate, and
   * bounds what an abandoned session holds (100 x ~200 B) until it expires.
   */
  queueLimit: 100,
} as const;

/** A QoS >= 1 message waiting for a session, in the shape aedes' packets have. */
interface QueuedPacket {
  cmd: "publish";
  brokerId: string;
  brokerCounter: number;
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
  messageId?: number;
}

type StoredSubscription = Pick<Subscription, "topic" | "qos"> & { rh?: number; rap?: number; nl?: boolean };

/** The parts of aedes-persistence's in-memory persistence that this class builds on. */
interface MemoryPersistence {
  setup(broker: Aedes): Promise<void>;
  addSubscriptions(client: Pick<Client, "id">, subs: StoredSubscription[]): Promise<void>;
  removeSubscriptions(client: Pick<Client, "id">, topics: string[]): Promise<void>;
  subscriptionsByClient(client: Pick<Client, "id">): Promise<StoredSubscription[]>;
  cleanSubscriptions(client: Pick<Client, "id">): Promise<void>;
  cleanIncoming(client: Pick<Client, "id">): Promise<void>;
  destroy(): Promise<void>;
}

// aedes' own default persistence (a dependency of aedes), loaded by path: it ships no ESM entry for it.
const MemoryPersistenceClass = createRequire(import.meta.url)(
  "aedes-persistence/asyncPersistence.js",
) as new () => MemoryPersistence;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS sessions (
    client_id TEXT PRIMARY KEY,
    last_seen INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS subscriptions (
    client_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    qos INTEGER NOT NULL,
    PRIMARY KEY (client_id, topic)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS queued (
    client_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    PRIMARY KEY (client_id, seq)
  ) WITHOUT ROWID;
`;

/** Thrown to refuse a new persistent session when every kept session is online. */
export class SessionLimitError extends CodedError {
  override name = "SessionLimitError";
  constructor(message: string) {
    super("DPOW_MQTT_SESSION_LIMIT", message);
  }
}

export class SessionStore extends MemoryPersistenceClass {
  private readonly db: Db;
  private readonly options: Required<Omit<SessionOptions, "file">>;
  /** Every kept session -> when it was last seen, least recently seen first (Map order). */
  private readonly sessions = new Map<string, number>();
  private readonly queues = new Map<string, QueuedPacket[]>();
  private broker: Aedes | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private restoredCounter = 0;
  /** Sessions dropped for room since the last sweep's log line. */
  private evicted = 0;
  /** Set by destroy(): late client events must not touch the closed file. */
  private closed = false;
  private readonly sql: ReturnType<SessionStore["prepare"]>;

  constructor(options: SessionOptions) {
    super();
    this.options = { ...options, now: options.now ?? Date.now };
    this.db = openFile(options.file ?? ":memory:");
    this.sql = this.prepare();
  }

  private prepare() {
    const db = this.db;
    return {
      touch: db.prepare(
        "INSERT INTO sessions (client_id, last_seen) VALUES (?, ?) ON CONFLICT (client_id) DO UPDATE SET last_seen = excluded.last_seen",
      ),
      addSub: db.prepare(
        "INSERT INTO subscriptions (client_id, topic, qos) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET qos = excluded.qos",
      ),
      removeSub: db.prepare("DELETE FROM subscriptions WHERE client_id = ? AND topic = ?"),
      forgetSubs: db.prepare("DELETE FROM subscriptions WHERE client_id = ?"),
      forgetSession: db.prepare("DELETE FROM sessions WHERE client_id = ?"),
      allSessions: db.prepare("SELECT client_id, last_seen FROM sessions ORDER BY last_seen"),
      allSubs: db.prepare("SELECT client_id, topic, qos FROM subscriptions"),
      allQueued: db.prepare("SELECT client_id, topic, payload, qos FROM queued ORDER BY client_id, seq"),
      clearQueued: db.prepare("DELETE FROM queued"),
      queue: db.prepare("INSERT INTO queued (client_id, seq, topic, payload, qos) VALUES (?, ?, ?, ?, ?)"),
    };
  }

  /** Sessions kept now (online and offline). */
  sessionCount(): number {
    return this.sessions.size;
  }

  override async setup(broker: Aedes): Promise<void> {
    await super.setup(broker);
    this.broker = broker;
    await this.restore();
    broker.on("clientReady", (client: Client) => this.seen(client));
    broker.on("clientDisconnect", (client: Client) => this.seen(client));
    const every = Math.min(60_000, Math.max(250, Math.floor(this.options.expiryMs / 4)));
    this.sweeper = setInterval(() => void this.expire(), every);
    this.sweeper.unref();
  }

  private async restore(): Promise<void> {
    const now = this.options.now();
    const subs = new Map<string, StoredSubscription[]>();
    for (const row of this.sql.allSubs.all() as { client_id: string; topic: string; qos: 0 | 1 | 2 }[]) {
      const list = subs.get(row.client_id) ?? [];
      list.push({ topic: row.topic, qos: row.qos });
      subs.set(row.client_id, list);
    }
    for (const row of this.sql.allSessions.all() as { client_id: string; last_seen: number }[]) {
      const list = subs.get(row.client_id);
      if (!list || now - row.last_seen > this.options.expiryMs) {
        this.forgetRows(row.client_id);
        continue;
      }
      this.sessions.set(row.client_id, row.last_seen);
      await super.addSubscriptions({ id: row.client_id }, list);
    }
    type Row = { client_id: string; topic: string; payload: Buffer; qos: 0 | 1 | 2 };
    for (const row of this.sql.allQueued.all() as Row[]) {
      if (!this.sessions.has(row.client_id)) continue;
      this.push(row.client_id, {
        cmd: "publish",
        brokerId: "restored",
        brokerCounter: ++this.restoredCounter,
        topic: row.topic,
        payload: row.payload,
        qos: row.qos,
        retain: false,
        dup: false,
      });
    }
    this.sql.clearQueued.run();
  }

  /** Moves a persistent session to the most recently seen end. */
  private seen(client: Client): void {
    if (this.closed || client.clean || !this.sessions.has(client.id)) return;
    const now = this.options.now();
    this.sessions.delete(client.id);
    this.sessions.set(client.id, now);
    this.sql.touch.run(client.id, now);
  }

  private online(clientId: string): boolean {
    // aedes keeps its connected clients by id (a null-prototype object), untyped.
    const clients = (this.broker as unknown as { clients?: Record<string, unknown> } | undefined)?.clients;
    return clients !== undefined && Object.hasOwn(clients, clientId);
  }

  override async addSubscriptions(client: Client, subs: StoredSubscription[]): Promise<void> {
    if (!this.sessions.has(client.id)) {
      if (this.sessions.size >= this.options.maxSessions && !(await this.evictOne())) {
        throw new SessionLimitError(
          `the broker holds ${this.options.maxSessions} persistent sessions, all online`,
        );
      }
      this.sessions.set(client.id, this.options.now());
    }
    await super.addSubscriptions(client, subs);
    const now = this.options.now();
    this.db.transaction(() => {
      this.sql.touch.run(client.id, now);
      for (const sub of subs) this.sql.addSub.run(client.id, sub.topic, sub.qos);
    })();
  }

  override async removeSubscriptions(client: Client, topics: string[]): Promise<void> {
    await super.removeSubscriptions(client, topics);
    this.db.transaction(() => {
      for (const topic of topics) this.sql.removeSub.run(client.id, topic);
    })();
    if ((await super.subscriptionsByClient(client)).length === 0) this.forget(client.id);
  }

  override async cleanSubscriptions(client: Pick<Client, "id">): Promise<void> {
    await super.cleanSubscriptions(client);
    this.queues.delete(client.id);
    if (this.sessions.has(client.id)) this.forget(client.id);
  }

  /** Drops the session seen longest ago that is not online; false when all are online. */
  private async evictOne(): Promise<boolean> {
    for (const clientId of this.sessions.keys()) {
      if (this.online(clientId)) continue;
      await this.drop(clientId);
      this.evicted++;
      return true;
    }
    return false;
  }

  private async drop(clientId: string): Promise<void> {
    await super.cleanSubscriptions({ id: clientId });
    await super.cleanIncoming({ id: clientId });
    this.queues.delete(clientId);
    this.forget(clientId);
  }

  private forget(clientId: string): void {
    this.sessions.delete(clientId);
    this.forgetRows(clientId);
  }

  private forgetRows(clientId: string): void {
    this.sql.forgetSubs.run(clientId);
    this.sql.forgetSession.run(clientId);
  }

  /** Forgets sessions offline for longer than the expiry; logs one line when any went. */
  async expire(): Promise<number> {
    if (this.closed) return 0;
    const cutoff = this.options.now() - this.options.expiryMs;
    const stale: string[] = [];
    for (const [clientId, lastSeen] of this.sessions) {
      // Map order is last-seen order, except for sessions seen while online; stop at the first recent one.
      if (lastSeen > cutoff) break;
      if (!this.online(clientId)) stale.push(clientId);
    }
    for (const clientId of stale) await this.drop(clientId);
    const evicted = this.evicted;
    this.evicted = 0;
    if (stale.length > 0 || evicted > 0) {
      this.options.logger.info(
        { expired: stale.length, evicted, sessions: this.sessions.size },
        "MQTT persistent sessions dropped (expired, or the oldest offline ones past the session limit)",
      );
    }
    return stale.length;
  }

  // The outgoing queue, bounded. aedes enqueues every QoS 1 message for every persistent subscriber
  // (online or not), updates it with the message id when it writes it, and clears it on PUBACK.

  private push(clientId: string, packet: QueuedPacket): void {
    let queue = this.queues.get(clientId);
    if (!queue) {
      queue = [];
      this.queues.set(clientId, queue);
    }
    queue.push(packet);
    if (queue.length > this.options.queueLimit) queue.shift();
  }

  async outgoingEnqueue(sub: { clientId: string }, packet: QueuedPacket): Promise<void> {
    this.push(sub.clientId, copy(packet));
  }

  async outgoingEnqueueCombi(subs: { clientId: string }[], packet: QueuedPacket): Promise<void> {
    for (const sub of subs) this.push(sub.clientId, copy(packet));
  }

  /**
   * Records the message id a queued packet went out with. A packet pushed out of a full queue is
   * still sent, just not redelivered: unlike aedes' default, that is no error (which would drop
   * the client).
   */
  async outgoingUpdate(client: Client, packet: QueuedPacket): Promise<void> {
    const queue = this.queues.get(client.id);
    if (!queue) return;
    for (let i = 0; i < queue.length; i++) {
      const queued = queue[i] as QueuedPacket;
      if (queued.brokerId === packet.brokerId) {
        if (queued.brokerCounter === packet.brokerCounter) {
          queued.messageId = packet.messageId;
          return;
        }
      } else if (queued.messageId === packet.messageId) {
        queue[i] = packet;
        return;
      }
    }
  }

  async outgoingClearMessageId(
    client: Client,
    packet: { messageId?: number },
  ): Promise<QueuedPacket | undefined> {
    const queue = this.queues.get(client.id);
    if (!queue) return undefined;
    const i = queue.findIndex((queued) => queued.messageId === packet.messageId);
    if (i < 0) return undefined;
    const [cleared] = queue.splice(i, 1);
    if (queue.length === 0) this.queues.delete(client.id);
    return cleared;
  }

  outgoingStream(client: Client): Readable {
    return Readable.from([...(this.queues.get(client.id) ?? [])]);
  }

  /** Saves the queues of kept sessions and closes the file. */
  override async destroy(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.db.transaction(() => {
      this.sql.clearQueued.run();
      for (const [clientId, queue] of this.queues) {
        if (!this.sessions.has(clientId)) continue;
        queue.forEach((packet, seq) => {
          this.sql.queue.run(clientId, seq, packet.topic, Buffer.from(packet.payload), packet.qos);
        });
      }
    })();
    this.db.close();
    await super.destroy();
  }
}

function openFile(file: string): Db {
  let db: Db | undefined;
  try {
    db = new Database(file);
    db.pragma("journal_mode = WAL"); // the first read: fails here when the file is not a database
    // A lost last_seen update after a power cut costs nothing: the session just expires later.
    db.pragma("synchronous = NORMAL");
    db.pragma("busy_timeout = 5000");
    db.exec(SCHEMA);
    return db;
  } catch (err) {
    db?.close();
    throw new StoreUnreachableError(
      `cannot open the MQTT sessions file ${file} (${(err as Error).message}); fix --mqtt-sessions or create its directory`,
    );
  }
}

function copy(packet: QueuedPacket): QueuedPacket {
  return {
    cmd: "publish",
    brokerId: packet.brokerId,
    brokerCounter: packet.brokerCounter,
    topic: packet.topic,
    payload: packet.payload,
    qos: packet.qos,
    retain: packet.retain,
    dup: packet.dup,
  };
}
