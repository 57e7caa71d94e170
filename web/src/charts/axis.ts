// Tick placement and labels for the charts. Pure, unit-tested (axis.test.ts).
import { compactNumber, duration, fullNumber, METRIC_KIND, percent } from "../lib/format";

/**
 * Indices of the x ticks for `n` points on `width` pixels: an even step leaving at least
 * `minGap` pixels per label, always starting at the first point.
 */
export function xTicks(n: number, width: number, minGap = 64): number[] {
  if (n <= 0) return [];
  const fit = Math.max(1, Math.floor(width / minGap));
  const step = Math.max(1, Math.ceil(n / fit));
  const out: number[] = [];
  for (let i = 0; i < n; i += step) out.push(i);
  return out;
}

/** A y-axis value as its metric reads: 12k, 45%, 3m 05s, 2.5. */
export function axisValue(metric: string, v: number): string {
  switch (METRIC_KIND[metric] ?? "float") {
    case "count":
      return compactNumber(v);
    case "percent":
      return percent(v);
    case "duration":
      return duration(v);
    default:
      return fullNumber(v);
  }
}

/**
 * The y scale for data up to `max`: four even steps of a "nice" size (1, 2, 2.5 or 5 × 10ⁿ;
 * whole numbers for counts), the top at least 5% above the data; percentages stop at 100.
 */
export function yScale(max: number, metric: string): { top: number; ticks: number[] } {
  const kind = METRIC_KIND[metric] ?? "float";
  const want = (max > 0 ? max * 1.05 : kind === "count" ? 4 : 1) / 4;
  const pow = Math.pow(10, Math.floor(Math.log10(want)));
  let step = pow * 10;
  for (const s of [1, 2, 2.5, 5, 10]) {
    if (s * pow >= want) {
      step = s * pow;
      break;
    }
  }
  if (kind === "count") step = Math.max(1, Math.ceil(step));
  if (kind === "percent" && step * 4 > 100) step = 25;
  const ticks = [0, 1, 2, 3, 4].map((i) => Number((i * step).toPrecision(6)));
  return { top: ticks[4]!, ticks };
}
