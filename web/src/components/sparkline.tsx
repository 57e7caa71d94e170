// Sparkline: a small inline-SVG line of values (oldest first), for the sites list; an image to
// assistive technology with `label` as its name ("Visitors, last 30 days: 1,234").
import { sparklinePoints } from "./sparkline-points";
import "./sparkline.css";

const W = 120;
const H = 32;

export function Sparkline({ values, label }: { values: readonly (number | null)[]; label: string }) {
  const points = sparklinePoints(values, W, H, 2);
  return (
    <svg class="sparkline" viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={label}>
      <title>{label}</title>
      {points && (
        <>
          <polygon class="sparkline-area" points={`0,${H} ${points} ${W},${H}`} />
          <polyline class="sparkline-line" points={points} vector-effect="non-scaling-stroke" />
        </>
      )}
    </svg>
  );
}
