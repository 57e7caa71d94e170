// The points of a sparkline's polyline. Pure, unit-tested; Sparkline draws them.

/**
 * `values` as SVG polyline points in a `width` × `height` box, left to right, the largest value
 * at the top (`pad` from the edge, so the stroke is not clipped) and 0 at the bottom. Nulls
 * count as 0; all zeros make a flat line at the bottom; one value makes a flat line across.
 */
export function sparklinePoints(values: readonly (number | null)[], width: number, height: number, pad = 1): string {
  if (values.length === 0) return "";
  const vs = values.map((v) => (v !== null && Number.isFinite(v) ? Math.max(0, v) : 0));
  const max = Math.max(...vs);
  const y = (v: number) => round(max > 0 ? height - pad - (v / max) * (height - 2 * pad) : height - pad);
  if (vs.length === 1) return `0,${y(vs[0]!)} ${width},${y(vs[0]!)}`;
  const step = width / (vs.length - 1);
  return vs.map((v, i) => `${round(i * step)},${y(v)}`).join(" ");
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
