import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { type EmbeddedBroker, startEmbeddedBroker } from "../../src/hub/broker/embedded.js";
import { LoginThrottle } from "../../src/hub/broker/login-throttle.js";

describe("LoginThrottle", () => {
  it("doubles the delay with each failure up to the cap, and forgets a quiet address", () => {
    let now = 0;
    const throttle = new LoginThrottle({
      firstDelayMs: 100,
      maxDelayMs: 1000,
      forgetMs: 60_000,
      now: () => now,
    });
    const delays = Array.from({ length: 6 }, () => {
      const delay = throttle.failed("1.2.3.4");
      throttle.released("1.2.3.4");
      return delay;
    });
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(throttle.failed("5.6.7.8")).toBe(100);
    now += 60_001;
    expect(throttle.failed("1.2.3.4")).toBe(100);
  });

  it("blocks an address while `maxWaiting` refusals are pending, and only that address", () => {
    const throttle = new LoginThrottle({ maxWaiting: 2 });
    throttle.failed("a");
    expect(throttle.blocked("a")).toBe(false);
    throttle.failed("a");
    expect(throttle.blocked("a")).toBe(true);
    expect(throttle.blocked("b")).toBe(false);
    throttle.released("a");
    expect(throttle.blocked("a")).toBe(false);
  });

  it("tracks a bounded number of addresses", () => {
    const throttle = new LoginThrottle({ maxAddresses: 3, maxWaiting: 1 });
    for (const address of ["a", "b", "c", "d"]) throttle.failed(address);
    expect(throttle.blocked("a")).toBe(false);
    expect(throttle.blocked("d")).toBe(true);
  });
});

describe("wrong-password logins on the embedded broker", () => {
  let broker: EmbeddedBroker | undefined;
  afterEach(() => broker?.close());

  it("are answered later and later, logged as one summary line, and honest logins still get in", async () => {
    const lines: { obj: Record<string, unknown>; msg: string }[] = [];
    const logger = {
      info: () => {},
      warn: (obj: object, msg: string) => lines.push({ obj: obj as Record<string, unknown>, msg }),
    };
    broker = await startEmbeddedBroker({
      mqttPort: 0,
      host: "127.0.0.1",
      logger,
      loginThrottle: { firstDelayMs: 10, maxDelayMs: 80, maxWaiting: 4 },
    });
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const codes: number[] = [];
    const tries = 2000;
    let next = 0;
    const attacker = async () => {
      while (next < tries) {
        next++;
        const code = await new Promise<number>((resolve) => {
          const c = mqtt.connect(url, { username: "dpowinterface", password: "guess", reconnectPeriod: 0 });
          c.once("error", (err) => {
            c.end(true);
            resolve((err as { code?: number }).code ?? -1);
          });
          c.once("connect", () => {
            c.end(true);
            resolve(0);
          });
        });
        codes.push(code);
      }
    };
    await Promise.all(Array.from({ length: 8 }, attacker));
    expect(codes).toHaveLength(tries);
    expect(codes.every((code) => code === 4 || code === 3)).toBe(true);
    // Only 4 refusals may be pending at once: the rest were turned away unchecked.
    expect(codes.filter((code) => code === 3).length).toBeGreaterThan(0);
    const honest = await mqtt.connectAsync(url, {
      username: "client",
      password: "client",
      reconnectPeriod: 0,
    });
    await honest.endAsync();
    await broker.close();
    broker = undefined;
    expect(lines.filter((l) => /login/i.test(l.msg))).toHaveLength(1);
    const [summary] = lines;
    expect(summary?.msg).toBe(`MQTT logins refused in the last 60 s: ${tries} from 1 address`);
    expect(summary?.obj.longestDelayMs).toBe(80);
  }, 120_000);
});
