import { it } from "vitest";
import mqtt from "/work/main/node_modules/mqtt/build/index.js";
import { startEmbeddedBroker } from "../../src/hub/broker/embedded.js";
import { connectExternalBroker } from "../../src/hub/broker/mqtt-client.js";
import { startMosquitto } from "./mosquitto.js";

async function roundTrips(hub: any, url: string, n: number) {
  const worker = await mqtt.connectAsync(url, { username: "client", password: "client" });
  await worker.subscribeAsync("work/#");
  worker.on("message", (_t: string, p: Buffer) => worker.publish("result/ondemand", p));
  let pending: (() => void) | undefined;
  await hub.subscribe("result/#", () => pending?.());
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise<void>((r) => { pending = r; hub.publish("work/ondemand", `job${i}`); });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  await worker.endAsync();
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.floor(p * (times.length - 1))]!.toFixed(3);
  return `p50 ${q(0.5)} ms, p99 ${q(0.99)} ms (n=${n})`;
}

it("measure", async () => {
  const b = await startEmbeddedBroker({ mqttPort: 0, host: "127.0.0.1" });
  await roundTrips(b.hub, `mqtt://127.0.0.1:${b.port}`, 300);
  console.log("embedded in-process hub <-> TCP worker:", await roundTrips(b.hub, `mqtt://127.0.0.1:${b.port}`, 3000));
  await b.close();
  const m = await startMosquitto();
  const hub = await connectExternalBroker(`mqtt://dpowserver:${m.passwords.dpowserver}@127.0.0.1:${m.mqttPort}`);
  await roundTrips(hub, `mqtt://127.0.0.1:${m.mqttPort}`, 300);
  console.log("mosquitto, hub over MQTT <-> TCP worker:", await roundTrips(hub, `mqtt://127.0.0.1:${m.mqttPort}`, 3000));
  await hub.close();
  await m.dispose();
}, 120_000);
