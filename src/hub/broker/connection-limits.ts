/** Open MQTT connections per remote address, capped, so one address cannot take every socket. */
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 128;

export class ConnectionsPerAddress {
  private readonly open = new Map<string, number>();

  /** `max` 0 means no cap. */
  constructor(private readonly max: number) {}

  /** Counts a new connection from `address`; false (and nothing counted) when it is at the cap. */
  admit(address: string): boolean {
    const count = this.open.get(address) ?? 0;
    if (this.max > 0 && count >= this.max) return false;
    this.open.set(address, count + 1);
    return true;
  }

  release(address: string): void {
    const count = this.open.get(address) ?? 0;
    if (count <= 1) this.open.delete(address);
    else this.open.set(address, count - 1);
  }
}

/**
 * Descriptors kept back from MQTT when its cap is taken from the open-file limit: each worker is one
 * descriptor, and so is each service connection (up to 256 per address by default), the ledger and
 * session files, the Redis and PostgreSQL pools, Node's own (about 20) and the connections being
 * refused. A tenth of the limit, at least 256: 2,000 of 20,000 is eight busy service addresses at
 * their cap, with room to spare.
 */
const MIN_RESERVE = 256;
const RESERVE_FRACTION = 0.1;

/**
 * Connections over the cap waiting for their CONNECT to be answered with the reason (CONNACK 3).
 * Each holds a descriptor out of the reserve until answered (at most REFUSAL_WAIT_MS); past these a
 * new one is closed unread, so a flood of them cannot eat the reserve.
 */
export const REFUSAL_SLOTS = 64;
/** How long a connection over the cap may take to send its CONNECT; an honest client sends it at once. */
export const REFUSAL_WAIT_MS = 2000;

/**
 * Descriptors of the reserve that HTTP connections may not take either: the ledger and session
 * files, the checkpoint thread's, the Redis and PostgreSQL pools, Node's own, and a margin.
 */
const KEPT_FROM_HTTP = 128;

/**
 * The default cap on the HTTP front's own connections (services, dashboard; `/mqtt` workers count
 * against the MQTT cap): the reserve MQTT leaves, less KEPT_FROM_HTTP, at least 64; 0 (no cap) when
 * the limit is unknown. 1,872 at this machine's 20,000.
 */
export function defaultMaxHttpConnections(openFileLimit: number | null): number {
  if (openFileLimit === null) return 0;
  return Math.max(64, openFileLimit - defaultMaxConnections(openFileLimit) - KEPT_FROM_HTTP);
}

/** The default cap on MQTT connections for an open-file limit; 0 (no cap) when the limit is unknown. */
export function defaultMaxConnections(openFileLimit: number | null): number {
  if (openFileLimit === null) return 0;
  const reserve = Math.max(MIN_RESERVE, Math.floor(openFileLimit * RESERVE_FRACTION));
  // A tiny limit (a test, a container) still gives MQTT half of it.
  return Math.max(Math.floor(openFileLimit / 2), openFileLimit - reserve);
}

/** What becomes of a new connection: served, refused with a reason, or closed unread. */
export type Admission = "admitted" | "refused" | "dropped";

/** All open MQTT connections (TCP and WebSocket), against one cap. */
export class ConnectionCap {
  private admitted = 0;
  private refusing = 0;

  /** `max` 0 means no cap. */
  constructor(readonly max: number) {}

  take(): Admission {
    if (this.max === 0 || this.admitted < this.max) {
      this.admitted++;
      return "admitted";
    }
    if (this.refusing < REFUSAL_SLOTS) {
      this.refusing++;
      return "refused";
    }
    return "dropped";
  }

  /** Gives back what take() gave, when that connection closes. */
  release(admission: Admission): void {
    if (admission === "admitted") this.admitted--;
    else if (admission === "refused") this.refusing--;
  }
}
