import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { API_PATHS, type History, type HistoryRange } from "../../protocol/dashboard.js";
import { usePolled } from "./live.js";

/** How often each range is fetched again: about one new step each time. */
const REFRESH_MS: Record<HistoryRange, number> = { "1h": 10_000, "24h": 60_000, "30d": 600_000 };

export const OUTCOME_COLOURS = {
  cache: "#3ddc97",
  ondemand: "#4aa8ff",
  timeout: "#ffb347",
  error: "#ff5c7a",
} as const;

const AXIS = { stroke: "#8b93a7", grid: { stroke: "#262b38", width: 1 }, ticks: { stroke: "#262b38" } };

/** A uPlot chart sized to its box, redrawn when the data or the box changes. */
function Chart({
  title,
  options,
  data,
}: {
  title: string;
  options: Omit<uPlot.Options, "width" | "height">;
  data: uPlot.AlignedData;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const size = () => ({
      width: element.clientWidth,
      height: Math.max(180, Math.min(260, element.clientWidth * 0.45)),
    });
    plot.current = new uPlot({ ...options, ...size() }, data, element);
    const observer = new ResizeObserver(() => plot.current?.setSize(size()));
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.current?.destroy();
      plot.current = undefined;
    };
  }, [options]);
  useEffect(() => plot.current?.setData(data), [data]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} class="chart-box" />
    </figure>
  );
}

const perStep = (step: number) => (step === 10 ? "per 10 s" : step === 60 ? "per minute" : "per hour");

function requestOptions(): Omit<uPlot.Options, "width" | "height"> {
  const line = (label: string, stroke: string) => ({ label, stroke, width: 1.5, points: { show: false } });
  return {
    cursor: { drag: { x: false, y: false } },
    legend: { live: false },
    axes: [AXIS, { ...AXIS, size: 50 }],
    scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
    series: [
      {},
      { ...line("cache", OUTCOME_COLOURS.cache), fill: "rgba(61, 220, 151, 0.12)" },
      line("on demand", OUTCOME_COLOURS.ondemand),
      line("timeout", OUTCOME_COLOURS.timeout),
      line("error", OUTCOME_COLOURS.error),
    ],
  };
}

/** A log scale's tick: powers of ten labelled, the ticks between them (and null ones) left blank. */
function latencyTick(t: number | null): string {
  if (t === null || !Number.isInteger(Math.log10(t))) return "";
  return t >= 1000 ? `${t / 1000} s` : `${t} ms`;
}

function latencyOptions(): Omit<uPlot.Options, "width" | "height"> {
  return {
    cursor: { drag: { x: false, y: false } },
    legend: { live: false },
    axes: [
      AXIS,
      {
        ...AXIS,
        size: 60,
        values: (_u, ticks) => ticks.map(latencyTick),
      },
    ],
    scales: { y: { distr: 3 } },
    series: [
      {},
      { label: "p50", stroke: "#c7a2ff", width: 1.5, spanGaps: false, points: { show: false } },
      { label: "p99", stroke: "#ff8fd1", width: 1.5, spanGaps: false, points: { show: false } },
    ],
  };
}

// Built once: a new options object would make Chart build a new plot.
const REQUEST_OPTIONS = requestOptions();
const LATENCY_OPTIONS = latencyOptions();

export function HistoryCharts() {
  const [range, setRange] = useState<HistoryRange>("1h");
  const history = usePolled<History>(`${API_PATHS.history}?range=${range}`, REFRESH_MS[range]);
  const shown = history?.range === range ? history : undefined;
  return (
    <section class="panel charts" aria-label="history">
      <header class="panel-head">
        <h2>History</h2>
        <nav class="tabs">
          {(["1h", "24h", "30d"] as const).map((r) => (
            <button type="button" class={r === range ? "tab on" : "tab"} onClick={() => setRange(r)} key={r}>
              {r}
            </button>
          ))}
        </nav>
      </header>
      {shown ? (
        <div class="chart-row">
          <Chart
            title={`Requests ${perStep(shown.step_s)}`}
            options={REQUEST_OPTIONS}
            data={[shown.t, shown.cache, shown.ondemand, shown.timeout, shown.error]}
          />
          <Chart
            title="Answer time (p50, p99)"
            options={LATENCY_OPTIONS}
            data={[shown.t, shown.p50_ms, shown.p99_ms] as uPlot.AlignedData}
          />
        </div>
      ) : (
        <p class="muted">loading…</p>
      )}
    </section>
  );
}
