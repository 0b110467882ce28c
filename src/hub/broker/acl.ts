/**
 * Broker accounts and their topic rights (docs/broker.md). The same rules ship as a Mosquitto ACL file in
 * deploy/mosquitto/dpow.acl; the contract tests hold both brokers to them.
 *
 * The rule that matters most: no public account may ever read `result/`. Whoever reads a winning
 * result can republish it under their own payout address before the hub's cancel arrives.
 */
import { timingSafeEqual } from "node:crypto";
import { filterCovers, isValidFilter, isValidTopic } from "./topic-filter.js";

export type Account = "dpowserver" | "client" | "dpowinterface";

interface Rights {
  /** Topic filters this account may publish to. */
  readonly publish: readonly string[];
  /** Topic filters this account may read; a subscription must fall entirely inside one of them. */
  readonly read: readonly string[];
}

export const ACL: Readonly<Record<Account, Rights>> = {
  /** The hub itself. */
  dpowserver: {
    publish: ["work/#", "cancel/#", "client/#", "heartbeat", "statistics"],
    read: ["result/#"],
  },
  /** The public worker account: its password is published for anyone to use. */
  client: {
    publish: ["result/#"],
    read: ["work/#", "cancel/#", "client/#", "heartbeat", "statistics"],
  },
  /** The operator's read-only observer (dashboards, debugging): sees everything, writes nothing. */
  dpowinterface: {
    publish: [],
    read: ["#"],
  },
};

export function canPublish(account: Account, topic: string): boolean {
  return isValidTopic(topic) && ACL[account].publish.some((pattern) => filterCovers(pattern, topic));
}

/** Whether `account` may subscribe to `filter`: every topic the filter can match must be readable. */
export function canSubscribe(account: Account, filter: string): boolean {
  return isValidFilter(filter) && ACL[account].read.some((pattern) => filterCovers(pattern, filter));
}

/** Whether a message on `topic` may be delivered to `account` (checked again at delivery, as Mosquitto does). */
export function canRead(account: Account, topic: string): boolean {
  return ACL[account].read.some((pattern) => filterCovers(pattern, topic));
}

/** Passwords per account; an account without one cannot log in. */
export type Passwords = Partial<Record<Account, string>>;

/** The account these credentials log in as, or null. Unknown users and wrong passwords are refused alike. */
export function authenticate(
  passwords: Passwords,
  username: string | undefined,
  password: Buffer | undefined,
): Account | null {
  if (username === undefined || password === undefined || !Object.hasOwn(ACL, username)) return null;
  const account = username as Account;
  const expected = passwords[account];
  if (expected === undefined) return null;
  const given = Buffer.from(password);
  const wanted = Buffer.from(expected, "utf8");
  return given.length === wanted.length && timingSafeEqual(given, wanted) ? account : null;
}
