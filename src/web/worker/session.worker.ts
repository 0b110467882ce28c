/**
 * The browser worker's session, in a Web Worker of its own: the MQTT connection, the job queue
 * (the CLI's own, src/protocol/worker-session.ts) and the kernels. A background tab throttles its
 * page's timers to one a minute; a worker's are left alone, so jobs, heartbeats and reconnects keep
 * their pace while the volunteer looks at another tab.
 */
import { type RunningWorker, startWorker, type WorkerLog } from "../../protocol/worker-session.js";
import { chooseBackend } from "./kernels/choose-backend.js";
import type { FromSession, StartSession, ToSession } from "./session-messages.js";

interface SessionScope {
  postMessage(message: FromSession): void;
  addEventListener(type: "message", listener: (event: MessageEvent<ToSession>) => void): void;
}
const scope = self as unknown as SessionScope;
const send = (message: FromSession) => scope.postMessage(message);

const log: WorkerLog = {
  info: (_fields, message) => send({ type: "log", level: "info", message }),
  warn: (_fields, message) => send({ type: "log", level: "warn", message }),
  error: (_fields, message) => send({ type: "log", level: "error", message }),
};

let worker: RunningWorker | undefined;
let starting: Promise<void> | undefined;

async function start(request: StartSession): Promise<void> {
  const choice = await chooseBackend(request.kernel, request.threads, (kernel) =>
    send({ type: "benchmarking", kernel }),
  );
  send({ type: "chosen", kernel: choice.backend.name, trials: choice.trials });
  worker = await startWorker({
    payout: request.payout,
    server: request.server,
    clientId: request.clientId,
    // A clean session, unlike the CLI's persistent one: a page's job queue, counters and unsent
    // results live in its memory and die with it, so a later page load has nothing to resume, and a
    // persistent session per load would sit on the broker for a day (--mqtt-session-expiry) after
    // every closed or reloaded tab. Within one page the connection still subscribes again on every
    // reconnect, and MQTT.js resends the results the broker had not acknowledged.
    cleanSession: true,
    backend: choice.backend,
    initialHashRate: choice.hashRate,
    log,
  });
  worker.onStatus((status) => send({ type: "status", status }));
  send({ type: "status", status: worker.status() });
}

scope.addEventListener("message", ({ data }) => {
  if (data.type === "start" && !starting && !worker) {
    starting = start(data)
      .catch((err: unknown) =>
        send({ type: "failed", message: err instanceof Error ? err.message : String(err) }),
      )
      .finally(() => {
        starting = undefined;
      });
  } else if (data.type === "stop") {
    void (async () => {
      await starting;
      await worker?.stop();
      worker = undefined;
      send({ type: "stopped" });
    })();
  }
});
