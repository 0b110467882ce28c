/** How the dashboard writes its figures. */

const RAW_PER_NANO = 10n ** 30n;

/** `nano_1abc…wxyz`: enough to tell addresses apart at a glance; the link carries the whole one. */
export function shortAddress(address: string): string {
  const body = address.indexOf("_") + 1;
  return `${address.slice(0, body + 5)}…${address.slice(-5)}`;
}

export function count(n: number): string {
  return n.toLocaleString("en-US");
}

export function percent(share: number | null): string {
  if (share === null) return "–";
  return `${(share * 100).toFixed(share > 0 && share < 0.1 ? 1 : 0)}%`;
}

export function millis(ms: number | null): string {
  if (ms === null) return "–";
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toPrecision(3)} ms`;
  return `${(ms / 1000).toPrecision(3)} s`;
}

export function duration(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return `${m}m ${seconds % 60}s`;
}

/** Raw (decimal string) as Nano with up to 6 decimals, exact (no float on 10^30 numbers). */
export function nano(raw: string): string {
  const value = BigInt(raw);
  const whole = value / RAW_PER_NANO;
  const micro = (value % RAW_PER_NANO) / 10n ** 24n;
  const fraction = micro.toString().padStart(6, "0").replace(/0+$/, "");
  return `${whole.toLocaleString("en-US")}${fraction ? `.${fraction}` : ""} Nano`;
}

export function dateTime(ms: number): string {
  return `${new Date(ms).toISOString().replace("T", " ").slice(0, 16)} UTC`;
}
