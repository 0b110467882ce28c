import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * Ports this process has handed out: two servers a test starts side by side (Mosquitto's MQTT and
 * WebSocket listeners, two hub replicas) must not be given the same one.
 */
const issued = new Set<number>();

/**
 * Where ports are drawn from: just below the kernel's ephemeral range. A port from that range (what
 * a bind to port 0 gets) is free only until the next outgoing connection or port-0 bind on the
 * machine takes it, and a server the test stops and starts again on the same port (a hub restart)
 * leaves it free for seconds, while a second suite may be opening hundreds of connections. Below
 * the range only another explicit bind can take it. Null where the range cannot be read.
 */
const SPAN = 8_000;
const band = ((): { from: number; to: number } | null => {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low - SPAN >= 1024 ? { from: low - SPAN, to: low } : null;
  } catch {
    return null;
  }
})();

/** A TCP port free on loopback right now, for servers a test starts itself. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const wanted = band ? band.from + Math.floor(Math.random() * (band.to - band.from)) : 0;
    if (issued.has(wanted)) continue;
    const port = await bindable(wanted);
    if (port === null || issued.has(port)) continue;
    issued.add(port);
    return port;
  }
  throw new Error("found no free port for a test server in 100 tries");
}

/** The port a listener on `port` (0: the OS picks) got, or null when it is taken. */
function bindable(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(null));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
      const address = server.address();
      server.close(() => resolve(address && typeof address === "object" ? address.port : null));
    });
  });
}
