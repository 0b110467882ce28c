/**
 * The browser worker page: a payout address (checked as it is typed, remembered in the browser), a
 * start button, and what the session reports. `/worker?payout=ADDR&start=1` starts at once, so a
 * volunteer can bookmark it. The work itself happens in the session's Web Worker (session.worker.ts).
 */
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { addressError } from "../../nano/account.js";
import { formatHashRate, formatShare } from "../../protocol/format.js";
import type { WorkerStatus } from "../../protocol/worker-session.js";
import "../theme.css";
import "./worker.css";
import {
  type FromSession,
  KERNEL_CHOICES,
  type KernelChoice,
  type KernelTrial,
  type ToSession,
} from "./session-messages.js";

const STORED_PAYOUT = "dpow.payout";
const STORED_THREADS = "dpow.threads";
const LOG_LINES = 12;

type Phase = "idle" | "benchmarking" | "working" | "stopping";

interface View {
  phase: Phase;
  benchmarking?: string;
  kernel?: string;
  trials: KernelTrial[];
  status?: WorkerStatus;
  problem?: string;
  log: Array<{ level: string; message: string; at: string }>;
}

/**
 * MQTT over WebSocket on this page's own host (the hub), as the public worker account: `client`,
 * whose password is `client` unless the hub's operator chose another (`&password=` in the link).
 */
function brokerUrl(password: string): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://client:${encodeURIComponent(password)}@${location.host}/mqtt`;
}

/**
 * A new id per page: two tabs of one browser must not log each other out of the broker. The session
 * is a clean one (session.worker.ts), so an id used once leaves nothing behind on the broker.
 */
function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return `dpow-web-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function defaultThreads(): number {
  const stored = Number(localStorage.getItem(STORED_THREADS));
  return Number.isInteger(stored) && stored >= 1 ? stored : Math.max(1, navigator.hardwareConcurrency || 1);
}

function connectionText(status: WorkerStatus | undefined): string {
  if (!status) return "not connected";
  if (status.connection === "connected")
    return status.hubOnline ? "hub online" : "connected, waiting for the hub";
  if (status.connection === "stopped") return "stopped";
  return status.connection === "reconnecting" ? "hub unreachable, reconnecting" : "connecting";
}

function WorkerPage() {
  const params = new URLSearchParams(location.search);
  const [payout, setPayout] = useState(params.get("payout") ?? localStorage.getItem(STORED_PAYOUT) ?? "");
  const [threads, setThreads] = useState(defaultThreads);
  const [kernel, setKernel] = useState<KernelChoice>(
    KERNEL_CHOICES.find((k) => k === params.get("kernel")) ?? "auto",
  );
  const [view, setView] = useState<View>({ phase: "idle", trials: [], log: [] });
  const session = useRef<Worker | null>(null);
  const problem = payout.trim() === "" ? "enter your Nano address" : addressError(payout.trim());

  const onMessage = (message: FromSession) =>
    setView((v) => {
      if (message.type === "benchmarking")
        return { ...v, phase: "benchmarking", benchmarking: message.kernel };
      if (message.type === "chosen")
        return { ...v, phase: "working", kernel: message.kernel, trials: message.trials };
      if (message.type === "status") return { ...v, status: message.status };
      if (message.type === "failed") return { ...v, phase: "idle", problem: message.message };
      if (message.type === "stopped") return { ...v, phase: "idle" };
      const line = { level: message.level, message: message.message, at: new Date().toLocaleTimeString() };
      return { ...v, log: [line, ...v.log].slice(0, LOG_LINES) };
    });

  const start = () => {
    if (problem !== null || session.current) return;
    const address = payout.trim();
    localStorage.setItem(STORED_PAYOUT, address);
    localStorage.setItem(STORED_THREADS, String(threads));
    const worker = new Worker(new URL("./session.worker.ts", import.meta.url), { type: "module" });
    worker.onmessage = (event: MessageEvent<FromSession>) => onMessage(event.data);
    worker.onerror = (event) => onMessage({ type: "failed", message: event.message || "the session failed" });
    session.current = worker;
    setView({ phase: "benchmarking", trials: [], log: [] });
    const request: ToSession = {
      type: "start",
      payout: address,
      server: brokerUrl(params.get("password") ?? "client"),
      clientId: newClientId(),
      threads,
      kernel,
    };
    worker.postMessage(request);
  };

  const stop = () => {
    const worker = session.current;
    if (!worker) return;
    setView((v) => ({ ...v, phase: "stopping" }));
    worker.addEventListener("message", (event: MessageEvent<FromSession>) => {
      if (event.data.type === "stopped") worker.terminate();
    });
    worker.postMessage({ type: "stop" } satisfies ToSession);
    session.current = null;
  };

  useEffect(() => {
    if (params.get("start") === "1") start();
  }, []);

  const running = view.phase !== "idle";
  const status = view.status;
  return (
    <>
      <header class="top">
        <h1>
          <a href="/">nano-dpow hub</a>
        </h1>
        <span class="muted">browser worker</span>
        <a class="top-link" href="/" data-testid="dashboard-link">
          ← Dashboard
        </a>
      </header>
      <section class="panel join-form">
        <h2>Help with your browser</h2>
        <p class="muted lead">
          This page computes proof of work for the Nano services this hub serves, and the hub credits your
          address for every job you win. Keep the tab open (it may stay in the background).
        </p>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            running ? stop() : start();
          }}
        >
          <label for="payout">Your Nano address (payouts go here)</label>
          <input
            id="payout"
            name="payout"
            spellcheck={false}
            autocomplete="off"
            placeholder="nano_…"
            value={payout}
            disabled={running}
            aria-invalid={problem !== null && payout !== ""}
            onInput={(e) => setPayout((e.target as HTMLInputElement).value)}
          />
          <p class={`check ${problem === null ? "ok" : "bad"}`} data-testid="address-check">
            {problem === null ? "valid address, checksum included" : problem}
          </p>
          <div class="controls">
            <label>
              Threads
              <input
                type="number"
                min={1}
                max={256}
                value={threads}
                disabled={running}
                onInput={(e) => setThreads(Math.max(1, Number((e.target as HTMLInputElement).value) || 1))}
              />
            </label>
            <label>
              Kernel
              <select
                value={kernel}
                disabled={running}
                onChange={(e) => setKernel((e.target as HTMLSelectElement).value as KernelChoice)}
              >
                {KERNEL_CHOICES.map((k) => (
                  <option value={k}>{k === "auto" ? "fastest (benchmark)" : k}</option>
                ))}
              </select>
            </label>
            <button type="submit" disabled={!running && problem !== null} data-testid="start">
              {running ? "Stop" : "Start"}
            </button>
          </div>
        </form>
      </section>
      {view.problem && (
        <p class="panel alert error" data-testid="problem">
          {view.problem}
        </p>
      )}
      {status?.hubError && (
        <p class="panel alert error" data-testid="hub-error">
          The hub says: {status.hubError.message}
        </p>
      )}
      <section class="cards figures" data-testid="figures">
        <Figure
          label="state"
          value={
            view.phase === "benchmarking" ? `benchmarking ${view.benchmarking ?? ""}` : connectionText(status)
          }
          id="state"
        />
        <Figure label="kernel" value={view.kernel ?? "–"} id="kernel" />
        <Figure
          label="hash rate"
          value={status?.hashRate ? formatHashRate(status.hashRate) : "–"}
          id="rate"
        />
        <Figure
          label="queue"
          value={status?.active ? `${status.queued} + 1 running` : String(status?.queued ?? 0)}
          id="queue"
        />
        <Figure label="jobs done" value={String(status?.done ?? 0)} id="done" />
        <Figure label="jobs won" value={String(status?.accepted ?? 0)} id="won" />
        <Figure
          label="credits"
          value={status?.credits ? `${status.credits.ondemand} on-demand` : "–"}
          detail={status?.credits ? `${status.credits.precache} precache` : undefined}
          id="credits"
        />
        <Figure
          label="share of this period"
          value={status?.share != null ? formatShare(status.share) : "–"}
          id="share"
        />
      </section>
      <div class="grid-2">
        {view.trials.length > 0 && (
          <section class="panel">
            <h2>Benchmark</h2>
            <ul class="trials" data-testid="trials">
              {view.trials.map((t) => (
                <li data-kernel={t.kernel}>
                  <span>{t.kernel}</span>
                  <span class={"hashRate" in t ? "rate" : "muted"}>
                    {"hashRate" in t ? formatHashRate(t.hashRate) : `not used (${t.unavailable})`}
                  </span>
                </li>
              ))}
            </ul>
          </section>
        )}
        {view.log.length > 0 && (
          <section class="panel">
            <h2>Log</h2>
            <ol class="log">
              {view.log.map((line) => (
                <li class={line.level}>
                  <time>{line.at}</time> {line.message}
                </li>
              ))}
            </ol>
          </section>
        )}
      </div>
    </>
  );
}

function Figure(props: { label: string; value: string; detail?: string | undefined; id: string }) {
  return (
    <div class="card">
      <div class="card-label">{props.label}</div>
      <div class="card-value" data-testid={props.id}>
        {props.value}
      </div>
      {props.detail && (
        <div class="card-detail" data-testid={`${props.id}-detail`}>
          {props.detail}
        </div>
      )}
    </div>
  );
}

const root = document.getElementById("app");
if (root) render(<WorkerPage />, root);
