import { API_PATHS, type WorkerView } from "../../protocol/dashboard.js";
import { count, percent } from "./format.js";
import { usePolled } from "./live.js";

/** One address: what it was credited with ever, and in the current payout period. */
export function WorkerPage({ address }: { address: string }) {
  const view = usePolled<WorkerView | { error: string }>(
    `${API_PATHS.workers}${encodeURIComponent(address)}`,
    15_000,
  );
  return (
    <main class="worker-page">
      <p>
        <a href="#/">← hub overview</a>
      </p>
      <h2 class="address" data-figure="worker-address">
        {address}
      </h2>
      {view === undefined ? (
        <p class="muted">loading…</p>
      ) : "error" in view ? (
        <p class="error">{view.error}</p>
      ) : (
        <div class="cards">
          <Card label="Share of this period" value={percent(view.period.share)} figure="worker-share" />
          <Card
            label="Rank this period"
            value={view.period.rank === null ? "–" : `${view.period.rank} of ${view.period.workers}`}
            figure="worker-rank"
          />
          <Card
            label="Credits this period"
            value={count(view.period.precache + view.period.ondemand)}
            detail={`${count(view.period.ondemand)} on demand · ${count(view.period.precache)} precache`}
            figure="worker-period"
          />
          <Card
            label="Credits ever"
            value={count(view.lifetime.precache + view.lifetime.ondemand)}
            detail={`${count(view.lifetime.ondemand)} on demand · ${count(view.lifetime.precache)} precache`}
            figure="worker-lifetime"
          />
        </div>
      )}
    </main>
  );
}

export function Card({
  label,
  value,
  detail,
  figure,
}: {
  label: string;
  value: string;
  detail?: string;
  figure: string;
}) {
  return (
    <div class="card">
      <div class="card-label">{label}</div>
      <div class="card-value" data-figure={figure}>
        {value}
      </div>
      {detail && <div class="card-detail">{detail}</div>}
    </div>
  );
}
