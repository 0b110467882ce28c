import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Account, authenticate, canPublish, canRead, canSubscribe } from "../../src/hub/broker/acl.js";
import { filterCovers, isValidFilter, topicMatches } from "../../src/hub/broker/topic-filter.js";

/** MQTT matching written independently, as a regular expression, to check topicMatches against. */
function referenceMatches(filter: string, topic: string): boolean {
  if (topic.startsWith("$") && /^[+#]/.test(filter)) return false;
  if (filter === "#") return true;
  const escapeLevel = (level: string) => level.replace(/[.*?^${}()|[\]\\]/g, "\\$&");
  const levels = filter.split("/");
  const multiLevel = levels.at(-1) === "#";
  if (multiLevel) levels.pop();
  const source =
    levels.map((l) => (l === "+" ? "[^/]*" : escapeLevel(l))).join("/") + (multiLevel ? "(/.*)?" : "");
  return new RegExp(`^${source}$`).test(topic);
}

const level = fc.constantFrom("work", "result", "cancel", "client", "ondemand", "precache", "", "$SYS", "x");
const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join("/"));
const filter = fc
  .tuple(fc.array(fc.oneof(level, fc.constant("+")), { maxLength: 3 }), fc.boolean())
  .map(([levels, hash]) => [...levels, ...(hash ? ["#"] : [])].join("/"))
  .filter((f) => f.length > 0);

describe("topic filters", () => {
  it("match exactly as the MQTT specification says", () => {
    fc.assert(
      fc.property(filter, topic, (f, t) => {
        expect(topicMatches(f, t)).toBe(referenceMatches(f, t));
      }),
      { numRuns: 5000 },
    );
  });

  it("cover a filter only if they match every topic it matches", () => {
    fc.assert(
      fc.property(filter, filter, fc.array(topic, { maxLength: 20 }), (pattern, f, topics) => {
        fc.pre(filterCovers(pattern, f));
        for (const t of topics) if (topicMatches(f, t)) expect(topicMatches(pattern, t)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it("reject malformed filters", () => {
    for (const bad of ["", "a/#/b", "a#", "a/b+", "#/a", "a\u0000"]) expect(isValidFilter(bad)).toBe(false);
    for (const good of ["#", "+", "a/+/b", "a/#", "/", "+/+"]) expect(isValidFilter(good)).toBe(true);
  });
});

describe("ACL (docs/broker.md)", () => {
  const results = ["result/ondemand", "result/precache", "result/other/level", "result"];

  it("never lets a subscription of the client account reach a result topic", () => {
    fc.assert(
      fc.property(filter, (f) => {
        if (canSubscribe("client", f)) for (const t of results) expect(topicMatches(f, t)).toBe(false);
      }),
      { numRuns: 5000 },
    );
  });

  it("grants the client account the worker subscriptions and nothing wider", () => {
    const allowed = [
      "work/#",
      "work/ondemand",
      "cancel/#",
      "cancel/precache",
      "client/+",
      "client/nano_1abc",
    ];
    for (const f of [...allowed, "client/#", "heartbeat", "statistics"])
      expect(canSubscribe("client", f)).toBe(true);
    const denied = [
      "#",
      "+/ondemand",
      "+/#",
      "+",
      "+/+",
      "result/#",
      "result/+",
      "result/ondemand",
      "$share/g/result/#",
    ];
    for (const f of denied) expect(canSubscribe("client", f)).toBe(false);
  });

  it("lets each account publish exactly its own topics", () => {
    const table: [Account, string, boolean][] = [
      ["dpowserver", "work/ondemand", true],
      ["dpowserver", "cancel/precache", true],
      ["dpowserver", "client/nano_1abc", true],
      ["dpowserver", "heartbeat", true],
      ["dpowserver", "statistics", true],
      ["dpowserver", "result/ondemand", false],
      ["client", "result/ondemand", true],
      ["client", "result/#", false],
      ["client", "work/ondemand", false],
      ["client", "cancel/ondemand", false],
      ["client", "client/nano_1abc", false],
      ["client", "heartbeat", false],
      ["client", "statistics", false],
      ["dpowinterface", "work/ondemand", false],
      ["dpowinterface", "result/ondemand", false],
    ];
    for (const [account, t, expected] of table)
      expect([account, t, canPublish(account, t)]).toEqual([account, t, expected]);
  });

  it("lets dpowinterface read everything and dpowserver read results only", () => {
    expect(canSubscribe("dpowinterface", "#")).toBe(true);
    expect(canRead("dpowinterface", "result/ondemand")).toBe(true);
    expect(canSubscribe("dpowserver", "result/#")).toBe(true);
    expect(canSubscribe("dpowserver", "work/#")).toBe(false);
  });

  it("logs in only known accounts with their own password", () => {
    const passwords = { dpowserver: "s", client: "client" };
    const pw = (p: string) => Buffer.from(p);
    expect(authenticate(passwords, "client", pw("client"))).toBe("client");
    expect(authenticate(passwords, "dpowserver", pw("s"))).toBe("dpowserver");
    expect(authenticate(passwords, "dpowserver", pw("client"))).toBeNull();
    expect(authenticate(passwords, "dpowinterface", pw(""))).toBeNull();
    expect(authenticate(passwords, "toString", pw("client"))).toBeNull();
    expect(authenticate(passwords, "root", pw("client"))).toBeNull();
    expect(authenticate(passwords, undefined, undefined)).toBeNull();
  });
});
