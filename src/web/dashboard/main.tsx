import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "../theme.css";
import "./dashboard.css";
import { duration } from "./format.js";
import { type Connection, useSummary } from "./live.js";
import { Overview } from "./overview.js";
import { WorkerPage } from "./worker-view.js";

/** `#/worker/ADDRESS` shows one address; anything else the overview. */
function useRoute(): string | undefined {
  const read = () => /^#\/worker\/([a-z0-9_]{1,80})$/.exec(window.location.hash)?.[1];
  const [address, setAddress] = useState(read);
  useEffect(() => {
    const changed = () => setAddress(read());
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return address;
}

const STATUS: Record<Connection, string> = {
  connecting: "connecting…",
  live: "online",
  reconnecting: "reconnecting…",
};

function Dashboard() {
  const { summary, connection } = useSummary();
  const address = useRoute();
  return (
    <>
      <header class="top">
        <h1>
          <a href="#/">nano-dpow hub</a>
        </h1>
        <div class={`status ${connection}`} data-figure="status">
          <span class="pulse" />
          {STATUS[connection]}
          {summary && connection === "live" ? ` · up ${duration(summary.hub.uptime_s)}` : ""}
        </div>
        <a class="top-link" href="/worker">
          Help with your browser →
        </a>
      </header>
      {address ? (
        <WorkerPage address={address} />
      ) : summary ? (
        <Overview summary={summary} />
      ) : (
        <p class="muted">loading…</p>
      )}
    </>
  );
}

const root = document.getElementById("app");
if (root) render(<Dashboard />, root);
