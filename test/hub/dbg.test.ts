import { join } from "node:path";
import { it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { FakeWorker, randomHash, solveBelow } from "../helpers/fake-worker.js";
import { metric, postWork, spawnHub, tempDir } from "../helpers/hub-process.js";

it("dbg", async () => {
  const t = tempDir();
  const added = JSON.parse(
    runCli(["service", "add", "s", "--rate", "0", "--db", join(t.dir, "h.db"), "--json"]).stdout,
  );
  const hub = await spawnHub(join(t.dir, "h.db"), ["--log-level", "debug"]);
  const cheat = await FakeWorker.connect(hub.mqttPort);
  const hash = randomHash();
  postWork(hub, { ...added, hash }).catch(() => {});
  const job = await cheat.waitForJob(hash);
  cheat.client.on("close", () => console.log("CLOSED"));
  for (let i = 0; i < 22; i++) await cheat.publishResult(hash, solveBelow(hash, job.difficulty));
  await new Promise((r) => setTimeout(r, 1000));
  console.log(
    hub.logs.slice(-5),
    await metric(hub, 'dpow_results_total{outcome="invalid"}'),
    await metric(hub, 'dpow_results_total{outcome="ignored"}'),
  );
  await hub.stop();
}, 20000);
