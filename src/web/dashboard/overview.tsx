import type { RequestFigures, Summary } from "../../protocol/dashboard.js";
import { HistoryCharts } from "./charts.js";
import { count, dateTime, duration, millis, nano, percent, shortAddress } from "./format.js";
import { Card } from "./worker-view.js";

const OUTCOMES = [
  ["cache", "cache"],
  ["ondemand", "on demand"],
  ["timeout", "timeout"],
  ["error", "error"],
] as const;

const requests = (f: RequestFigures) => f.cache + f.ondemand + f.timeout + f.error;

function Outcomes({ figures, period }: { figures: RequestFigures; period: "minute" | "hour" }) {
  return (
    <ul class="outcomes">
      {OUTCOMES.map(([key, label]) => (
        <li key={key}>
          <span class={`dot ${key}`} />
          <span class="outcome-label">{label}</span>
          <span class="outcome-value" data-figure={`${key}-${period}`}>
            {count(figures[key])}
          </span>
        </li>
      ))}
    </ul>
  );
}

function Services({ services }: { services: Summary["services"] }) {
  const { private: hidden } = services;
  return (
    <section class="panel" aria-label="services">
      <h2>Services</h2>
      <table>
        <thead>
          <tr>
            <th>service</th>
            <th class="num">on demand</th>
            <th class="num">precache</th>
          </tr>
        </thead>
        <tbody>
          {services.public.map((s) => (
            <tr key={s.display}>
              <td>
                {s.website ? (
                  <a href={s.website} rel="noopener noreferrer nofollow">
                    {s.display}
                  </a>
                ) : (
                  s.display
                )}
              </td>
              <td class="num">{count(s.ondemand)}</td>
              <td class="num">{count(s.precache)}</td>
            </tr>
          ))}
          <tr class="muted">
            <td>{hidden.count === 1 ? "1 private service" : `${count(hidden.count)} private services`}</td>
            <td class="num">{count(hidden.ondemand)}</td>
            <td class="num">{count(hidden.precache)}</td>
          </tr>
        </tbody>
      </table>
    </section>
  );
}

function TopWorkers({
  period,
  lastPayout,
}: {
  period: Summary["period"];
  lastPayout: Summary["last_payout"];
}) {
  return (
    <section class="panel" aria-label="workers">
      <h2>Top workers this payout period</h2>
      <p class="muted">
        {count(period.workers)} workers · {count(period.ondemand + period.precache)} credits since their last
        payout
      </p>
      {period.top.length === 0 ? (
        <p class="muted">No work credited yet this period.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th class="num">#</th>
              <th>address</th>
              <th class="num">credits</th>
              <th class="num">share</th>
            </tr>
          </thead>
          <tbody>
            {period.top.map((w, i) => (
              <tr key={w.address} data-worker={w.address}>
                <td class="num muted">{i + 1}</td>
                <td>
                  <a class="mono" href={`#/worker/${w.address}`} title={w.address}>
                    {shortAddress(w.address)}
                  </a>
                </td>
                <td class="num" data-figure="worker-credits">
                  {count(w.precache + w.ondemand)}
                </td>
                <td class="num">
                  <span class="share-bar">
                    <span class="share-fill" data-share={Math.round(w.share * 20) * 5} />
                  </span>
                  {percent(w.share)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="last-payout" data-figure="last-payout">
        {lastPayout
          ? `Last payout ${dateTime(lastPayout.at)}: ${nano(lastPayout.amount_raw)} to ${count(lastPayout.workers)} workers`
          : "No payout yet."}
      </p>
    </section>
  );
}

export function Overview({ summary }: { summary: Summary }) {
  const { hub, last_minute: minute, last_hour: hour } = summary;
  return (
    <main>
      <div class="cards">
        <Card label="Workers connected" value={count(hub.workers_connected)} figure="workers" />
        <Card label="Open jobs" value={count(hub.open_jobs)} figure="open-jobs" />
        <Card
          label="Requests, last minute"
          value={count(requests(minute))}
          detail={`${count(requests(hour))} in the last hour`}
          figure="requests-minute"
        />
        <Card label="Answer time p50" value={millis(hour.p50_ms)} detail="last hour" figure="p50" />
        <Card label="Answer time p99" value={millis(hour.p99_ms)} detail="last hour" figure="p99" />
        <Card
          label="Cache hits"
          value={percent(summary.cache_hit_share)}
          detail="of answers, last hour"
          figure="cache-share"
        />
        <Card
          label="Precache"
          value={percent(summary.precache_share)}
          detail="of all work done"
          figure="precache-share"
        />
      </div>
      <div class="grid-2">
        <section class="panel" aria-label="requests">
          <h2>Requests by outcome</h2>
          <div class="outcome-columns">
            <div>
              <h3>last minute</h3>
              <Outcomes figures={minute} period="minute" />
            </div>
            <div>
              <h3>last hour</h3>
              <Outcomes figures={hour} period="hour" />
              <p class="muted" data-figure="requests-hour">
                {count(requests(hour))} requests
              </p>
            </div>
          </div>
        </section>
        <Services services={summary.services} />
      </div>
      <HistoryCharts />
      <TopWorkers period={summary.period} lastPayout={summary.last_payout} />
      <footer class="muted">
        Up {duration(hub.uptime_s)} · base difficulty <span class="mono">{hub.base_difficulty}</span> · work
        done {count(summary.work.ondemand)} on demand, {count(summary.work.precache)} precache · public JSON
        at <a href="/api/v1/summary">/api/v1/summary</a>
      </footer>
    </main>
  );
}
