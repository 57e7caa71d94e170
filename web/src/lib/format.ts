// How numbers read on screen. The API gives exact values (counts, floats rounded to 2 decimals,
// null for a ratio over nothing); these only shape them for people. Pure, unit-tested.

/** 0 … 9,999 as they are; then 10.2k, 1.5M, 2.1B: compact enough for a top stat or a bar row. */
export function compactNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  const abs = Math.abs(n);
  const sign = n < 0 ? "-" : "";
  if (abs < 10_000) return sign + groupDigits(Math.round(abs));
  const units: [number, string][] = [
    [1e3, "k"],
    [1e6, "M"],
    [1e9, "B"],
  ];
  // The smallest unit whose rounded text stays under 1000 (999,999 is "1M", not "1000k").
  for (let i = 0; i < units.length; i++) {
    const [size, suffix] = units[i]!;
    const v = abs / size;
    const text = v < 100 ? trimZero(v.toFixed(1)) : Math.round(v).toString();
    if (Number(text) < 1000 || i === units.length - 1) return sign + text + suffix;
  }
  return sign + groupDigits(Math.round(abs));
}

function trimZero(s: string): string {
  return s.endsWith(".0") ? s.slice(0, -2) : s;
}

/** 1234567 → "1,234,567" (a stable format, whatever the browser's locale, so tests can read it). */
export function groupDigits(n: number): string {
  const s = Math.trunc(Math.abs(n)).toString();
  const out = s.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (n < 0 ? "-" : "") + out;
}

/** Full number, grouped: 12,345. Floats keep up to 2 decimals. */
export function fullNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  if (Number.isInteger(n)) return groupDigits(n);
  const [int, frac] = n.toFixed(2).split(".");
  const f = (frac ?? "").replace(/0+$/, "");
  return groupDigits(Number(int)) + (f ? "." + f : "");
}

/** Seconds as people say them: "45s", "3m 05s", "1h 02m". */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${pad2(s % 60)}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${pad2(m % 60)}m`;
}

export function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/** A percentage from the API (already × 100): "41.5%", "0%", "—" for null. */
export function percent(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return "—";
  const r = Math.round(p * 10) / 10;
  return (Number.isInteger(r) ? r.toFixed(0) : r.toFixed(1)) + "%";
}

/** A change against the comparison period: "+12%", "-3.5%", "0%"; null (no earlier value) is "—". */
export function change(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return "—";
  const r = Math.abs(p) >= 10 ? Math.round(p) : Math.round(p * 10) / 10;
  return (r > 0 ? "+" : r < 0 ? "-" : "") + Math.abs(r) + "%";
}

/** The kind of a metric's value, for formatting and for whether "up" is good. */
export type MetricKind = "count" | "float" | "percent" | "duration";

export const METRIC_KIND: Record<string, MetricKind> = {
  visitors: "count",
  visits: "count",
  pageviews: "count",
  events: "count",
  live_visitors: "count",
  views_per_visit: "float",
  bounce_rate: "percent",
  scroll_depth: "percent",
  conversion_rate: "percent",
  visit_duration: "duration",
  time_on_page: "duration",
};

/** Metrics where a rise is bad news (shown red when up). */
export const LOWER_IS_BETTER = new Set(["bounce_rate"]);

/** Formats a metric's value by its kind; `compact` shortens large counts (12.3k). */
export function metricValue(metric: string, v: number | string | null | undefined, compact = true): string {
  if (typeof v === "string") return v;
  switch (METRIC_KIND[metric] ?? "float") {
    case "count":
      return compact ? compactNumber(v) : fullNumber(v);
    case "percent":
      return percent(v);
    case "duration":
      return duration(v);
    default:
      return v === null || v === undefined ? "—" : fullNumber(v);
  }
}

/** Human labels of the metrics, as the dashboard shows them. */
export const METRIC_LABEL: Record<string, string> = {
  visitors: "Unique visitors",
  visits: "Total visits",
  pageviews: "Total pageviews",
  views_per_visit: "Views per visit",
  bounce_rate: "Bounce rate",
  visit_duration: "Visit duration",
  time_on_page: "Time on page",
  scroll_depth: "Scroll depth",
  events: "Events",
  conversion_rate: "Conversion rate",
  live_visitors: "Current visitors",
};
