import { useEffect, useState } from "preact/hooks";
import { API_PATHS, type Summary } from "../../protocol/dashboard.js";

export type Connection = "connecting" | "live" | "reconnecting";

/**
 * The hub's summary as it changes: the live feed (server-sent events, a frame a second), and the
 * summary by GET while the feed cannot be had (refused for too many viewers, or the hub restarts).
 * EventSource reconnects by itself after the `retry` the hub sets.
 */
export function useSummary(): { summary: Summary | undefined; connection: Connection } {
  const [summary, setSummary] = useState<Summary>();
  const [connection, setConnection] = useState<Connection>("connecting");
  useEffect(() => {
    const source = new EventSource(API_PATHS.live);
    let poll: number | undefined;
    const fetchOnce = () =>
      fetch(API_PATHS.summary)
        .then((res) => (res.ok ? (res.json() as Promise<Summary>) : undefined))
        .then((s) => s && setSummary(s))
        .catch(() => {});
    source.onmessage = (event) => {
      setSummary(JSON.parse(event.data as string) as Summary);
      setConnection("live");
      window.clearInterval(poll);
      poll = undefined;
    };
    source.onerror = () => {
      setConnection("reconnecting");
      poll ??= window.setInterval(fetchOnce, 10_000);
    };
    return () => {
      source.close();
      window.clearInterval(poll);
    };
  }, []);
  return { summary, connection };
}

/** GETs `path` now and every `everyMs` after (and again when `path` changes). */
export function usePolled<T>(path: string, everyMs: number): T | undefined {
  const [value, setValue] = useState<T>();
  useEffect(() => {
    let stopped = false;
    const load = () =>
      fetch(path)
        .then((res) => (res.ok ? (res.json() as Promise<T>) : undefined))
        .then((v) => {
          if (!stopped && v !== undefined) setValue(v);
        })
        .catch(() => {});
    void load();
    const timer = window.setInterval(load, everyMs);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, [path, everyMs]);
  return value;
}
