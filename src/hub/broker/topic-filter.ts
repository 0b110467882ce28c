/**
 * MQTT topic filter semantics (MQTT 3.1.1 section 4.7): `+` matches one level, `#` (last level only)
 * matches the parent level and everything below, and filters starting with a wildcard never match
 * topics starting with `$`.
 */

/** A syntactically valid filter: `#` only as the whole last level, `+` only as a whole level. */
export function isValidFilter(filter: string): boolean {
  if (filter.length === 0 || filter.includes("\u0000")) return false;
  const levels = filter.split("/");
  return levels.every(
    (level, i) =>
      (level === "#" && i === levels.length - 1) ||
      level === "+" ||
      (!level.includes("#") && !level.includes("+")),
  );
}

/** A topic a message may be published to: no wildcards, not empty. */
export function isValidTopic(topic: string): boolean {
  return topic.length > 0 && !topic.includes("+") && !topic.includes("#") && !topic.includes("\u0000");
}

/** Whether a message published on `topic` is delivered to a subscription on `filter`. */
export function topicMatches(filter: string, topic: string): boolean {
  return filterCovers(filter, topic);
}

/**
 * Whether every topic that `filter` can match is also matched by `pattern`: a subscription on
 * `filter` can never receive a message outside `pattern`. With a plain topic as `filter` this is
 * ordinary matching.
 */
export function filterCovers(pattern: string, filter: string): boolean {
  if (filter.startsWith("$") && /^[+#]/.test(pattern)) return false;
  const p = pattern.split("/");
  const f = filter.split("/");
  for (let i = 0; i < f.length; i++) {
    const pl = p[i];
    const fl = f[i];
    if (pl === "#") return true;
    if (pl === undefined) return false;
    if (fl === "#") return false; // `#` reaches levels a non-`#` pattern level does not
    if (fl === "+" && pl !== "+") return false;
    if (pl !== "+" && pl !== fl) return false;
  }
  // `a/#` also matches `a` itself.
  return p.length === f.length || (p.length === f.length + 1 && p[f.length] === "#");
}
