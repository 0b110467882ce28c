import { createServer } from "node:net";

/**
 * Ports this process has handed out: the OS may give a port back to the next bind to port 0 as soon
 * as it is closed, and two servers a test starts side by side (Mosquitto's MQTT and WebSocket
 * listeners, two hub replicas) must not be given the same one (1 time in ~7,000 here).
 */
const issued = new Set<number>();

/** A TCP port free on loopback right now (the OS picks it), for servers a test starts itself. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await osPort();
    if (issued.has(port)) continue;
    issued.add(port);
    return port;
  }
  throw new Error("the OS kept offering ports this test run already uses");
}

function osPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}
