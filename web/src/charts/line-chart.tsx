// LineChart: a uPlot line of one metric over time buckets, with an optional dashed comparison
// series. x is the bucket's index (labels come from the API as local wall times, so no time
// zone is ever applied by the browser); colours come from the CSS variables and are re-read
// when the theme changes; the width follows the container (ResizeObserver).
import { useEffect, useRef, useState } from "preact/hooks";
import type uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { metricValue } from "../lib/format";
import { axisValue, xTicks, yScale } from "./axis";
import "./charts.css";

export interface Series {
  label: string;
  values: (number | null)[];
  /** The bucket labels shown in the tooltip for this series. */
  bucketLabels: string[];
}

// uPlot is imported dynamically: with esbuild's code splitting on, it leaves the initial bundle
// and loads in parallel with the dashboard's queries (preloadChart); without it, this costs nothing.
let UPlot: typeof uPlot | null = null;
let loadingUPlot: Promise<typeof uPlot> | null = null;
export function preloadChart(): Promise<typeof uPlot> {
  loadingUPlot ??= import("uplot").then((m) => (UPlot = m.default)).catch((e) => {
    loadingUPlot = null;
    throw e;
  });
  return loadingUPlot;
}

/**
 * The colour a CSS variable stands for now, as `rgb(…)`: the tokens are `light-dark()` pairs,
 * which only a property that takes a colour resolves, so a hidden probe's `color` is read.
 */
function cssVar(name: string): string {
  const probe = document.createElement("span");
  probe.style.color = `var(${name})`;
  probe.style.display = "none";
  document.body.appendChild(probe);
  const color = getComputedStyle(probe).color;
  probe.remove();
  return color || "#888";
}

/** Increments when the colour scheme changes (system setting or the theme toggle). */
function useThemeVersion(): number {
  const [v, setV] = useState(0);
  useEffect(() => {
    const bump = () => setV((n) => n + 1);
    const mq = window.matchMedia("(prefers-color-scheme: dark)");
    mq.addEventListener("change", bump);
    const mo = new MutationObserver(bump);
    mo.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme", "class"] });
    return () => {
      mq.removeEventListener("change", bump);
      mo.disconnect();
    };
  }, []);
  return v;
}

export function LineChart(props: {
  metric: string;
  /** Axis label of each bucket (short). */
  axisLabels: string[];
  current: Series;
  comparison?: Series | null;
  height?: number;
  /** What the chart shows, for screen readers. */
  label: string;
  /**
   * Called with a bucket's index when it is clicked (null: buckets cannot be clicked);
   * `pickHint(i)` says in the tooltip what the click opens, or null where it opens nothing.
   */
  onPick?: ((index: number) => void) | null;
  pickHint?: (index: number) => string | null;
  /** Buckets with notes (annotations): a dashed line on each, the notes in its tooltip. */
  marks?: { index: number; texts: string[] }[];
}) {
  const { metric, axisLabels, current, comparison, label } = props;
  // The latest handlers, read at the click: a new closure each render must not rebuild the plot.
  const pick = useRef(props);
  pick.current = props;
  const height = props.height ?? 260;
  const box = useRef<HTMLDivElement>(null);
  const theme = useThemeVersion();
  const [ready, setReady] = useState(UPlot !== null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (!ready) preloadChart().then(() => setReady(true), () => setFailed(true));
  }, []);

  useEffect(() => {
    if (!ready || !UPlot) return;
    const el = box.current!;
    const accent = cssVar("--accent");
    const muted = cssVar("--muted");
    const border = cssVar("--border");
    const fg = cssVar("--fg");
    const n = axisLabels.length;
    const xs = Array.from({ length: n }, (_, i) => i);
    const cur = current.values.slice(0, n);
    const cmp = comparison ? comparison.values.slice(0, n) : null;
    let max = 0;
    for (const v of [...cur, ...(cmp ?? [])]) if (typeof v === "number" && v > max) max = v;
    const { top, ticks } = yScale(max, metric);
    const font = `12px ${getComputedStyle(document.body).fontFamily}`;

    const marks = (props.marks ?? []).filter((m) => m.index >= 0 && m.index < n);
    const marked = new Map(marks.map((m) => [m.index, m.texts]));
    const noteColor = cssVar("--warn");

    const tip = document.createElement("div");
    tip.className = "chart-tip";
    tip.setAttribute("aria-hidden", "true");

    const series: uPlot.Series[] = [
      {},
      {
        label: current.label,
        stroke: accent,
        width: 2,
        fill: cssVar("--accent-soft"),
        points: { show: n <= 40, size: 5, fill: accent },
        spanGaps: false,
      },
    ];
    if (cmp) series.push({ label: comparison!.label, stroke: muted, width: 1.5, dash: [5, 4], points: { show: false } });

    const opts: uPlot.Options = {
      width: Math.max(100, el.clientWidth),
      height,
      legend: { show: false },
      cursor: { y: false, points: { size: 8 }, drag: { x: false, y: false } },
      select: { show: false, left: 0, top: 0, width: 0, height: 0 },
      scales: { x: { time: false, range: [0, Math.max(1, n - 1)] }, y: { range: [0, top] } },
      axes: [
        {
          stroke: muted,
          font,
          grid: { show: false },
          ticks: { show: true, stroke: border, size: 4 },
          splits: (u) => xTicks(n, u.bbox.width / devicePixelRatio),
          values: (_u, splits) => splits.map((i) => axisLabels[i] ?? ""),
          gap: 6,
        },
        {
          stroke: muted,
          font,
          grid: { stroke: border, width: 1 },
          ticks: { show: false },
          splits: () => ticks,
          values: (_u, splits) => splits.map((v) => axisValue(metric, v)),
          size: 56,
          gap: 6,
        },
      ],
      series,
      hooks: {
        init: [
          (u) => {
            u.over.appendChild(tip);
            u.over.addEventListener("click", () => {
              const i = u.cursor.idx;
              const { onPick, pickHint } = pick.current;
              if (i === null || i === undefined || !onPick || (pickHint && pickHint(i) === null)) return;
              onPick(i);
            });
          },
        ],
        // Notes: a dashed line across the plot and a dot above it, under the series.
        drawAxes: [
          (u) => {
            if (!marks.length) return;
            const ctx = u.ctx;
            const { top, height: h } = u.bbox;
            const r = 3.5 * devicePixelRatio;
            ctx.save();
            ctx.strokeStyle = noteColor;
            ctx.fillStyle = noteColor;
            ctx.lineWidth = devicePixelRatio;
            ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
            for (const m of marks) {
              const x = Math.round(u.valToPos(m.index, "x", true));
              ctx.beginPath();
              ctx.moveTo(x, top + r);
              ctx.lineTo(x, top + h);
              ctx.stroke();
              ctx.beginPath();
              ctx.arc(x, top + r, r, 0, 2 * Math.PI);
              ctx.fill();
            }
            ctx.restore();
          },
        ],
        setCursor: [
          (u) => {
            const i = u.cursor.idx;
            if (i === null || i === undefined || u.cursor.left === undefined || u.cursor.left < 0) {
              tip.style.display = "none";
              return;
            }
            tip.replaceChildren();
            const line = (name: string, value: number | null | undefined, cls: string) => {
              const row = document.createElement("div");
              row.className = "chart-tip-row " + cls;
              const k = document.createElement("span");
              k.textContent = name;
              const v = document.createElement("strong");
              v.textContent = metricValue(metric, value ?? null, false);
              row.append(k, v);
              tip.append(row);
            };
            line(current.bucketLabels[i] ?? "", cur[i], "cur");
            if (cmp && comparison) line(comparison.bucketLabels[i] ?? "", cmp[i], "cmp");
            for (const text of marked.get(i) ?? []) {
              const p = document.createElement("div");
              p.className = "chart-tip-note";
              p.textContent = text;
              tip.append(p);
            }
            const { onPick, pickHint } = pick.current;
            const hint = onPick && pickHint ? pickHint(i) : null;
            u.over.style.cursor = hint ? "pointer" : "";
            if (hint) {
              const p = document.createElement("div");
              p.className = "chart-tip-hint";
              p.textContent = hint;
              tip.append(p);
            }
            tip.style.display = "block";
            const w = u.over.clientWidth;
            const left = u.cursor.left;
            tip.style.left = (left > w / 2 ? left - tip.offsetWidth - 12 : left + 12) + "px";
            tip.style.top = "8px";
          },
        ],
      },
    };
    void fg;
    const plot = new UPlot(opts, cmp ? [xs, cur, cmp] : [xs, cur], el);
    const ro = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && Math.abs(w - plot.width) > 1) plot.setSize({ width: w, height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [ready, theme, metric, axisLabels.join("|"), JSON.stringify(current), JSON.stringify(comparison ?? null), JSON.stringify(props.marks ?? []), height]);

  return (
    <div class="line-chart" ref={box} role="img" aria-label={label} style={{ height: height + "px" }}>
      {failed && <p class="hint">The chart could not be loaded. Reload the page to try again.</p>}
    </div>
  );
}
