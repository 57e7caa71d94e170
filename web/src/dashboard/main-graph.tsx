// The main graph: the selected metric over the period by the interval, with the comparison
// period as a dashed line when comparing; the interval switch and the CSV export.
import { useState } from "preact/hooks";
import { queryCsv } from "../api/client";
import type { MetricName, QueryRequest } from "../api/types";
import { LineChart, preloadChart } from "../charts/line-chart";
import { allowedIntervals, bucketLabel, compareLabel, periodLabel, type Interval } from "../lib/dates";
import { METRIC_LABEL } from "../lib/format";
import { errorMessage } from "../components/states";
import { queryBody, setState, useDash, type DashCtx } from "./ctx";
import { topStatsMetrics } from "./top-stats";
import { csvName } from "./dimensions";
import { PanelError } from "./panel";
import { useQuery } from "./use-query";

const INTERVAL_LABEL: Record<Interval, string> = { minute: "Minutes", hour: "Hours", day: "Days", week: "Weeks", month: "Months" };

export function graphMetric(ctx: DashCtx): MetricName {
  return topStatsMetrics(ctx).includes(ctx.state.metric) ? ctx.state.metric : "visitors";
}

export function timelineBody(ctx: DashCtx): QueryRequest {
  const { state } = ctx;
  return queryBody(ctx, {
    metrics: [graphMetric(ctx)],
    dimensions: ["time:" + state.interval],
    limit: 1000,
    ...(state.compare ? { compare: state.compare } : {}),
  });
}

export function MainGraph() {
  const ctx = useDash();
  const { state } = ctx;
  const metric = graphMetric(ctx);
  const body = timelineBody(ctx);
  const q = useQuery(ctx.scope, body);
  void preloadChart().catch(() => {});
  const data = q.shown;
  const intervals = allowedIntervals(state.period, state.from, state.to);
  const [exportError, setExportError] = useState<unknown>(null);
  const [exporting, setExporting] = useState(false);
  const label = periodLabel(state.period, state.from, state.to);

  async function exportCsv() {
    setExporting(true);
    setExportError(null);
    try {
      const text = await queryCsv(ctx.scope, body);
      const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = csvName(ctx.project.domain ?? ctx.project.name, state.period === "custom" ? `${state.from}-${state.to}` : state.period);
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (e) {
      setExportError(e);
    } finally {
      setExporting(false);
    }
  }

  let chart;
  if (!data && q.error) chart = <PanelError error={q.error} onRetry={q.retry} />;
  else if (!data) chart = <div class="graph-skeleton" aria-busy="true" aria-label="Loading the graph" />;
  else {
    const iv = (data.columns[0] ?? "time:day").slice(5) as Interval;
    const labels = data.results.map((r) => String(r.dimensions[0] ?? ""));
    const hasCmp = !!state.compare && data.results.some((r) => r.comparison);
    const vs = compareLabel(state.compare, data.meta.comparison_date_range);
    chart = (
      <>
        <LineChart
          metric={metric}
          axisLabels={labels.map((l) => bucketLabel(l, iv))}
          current={{ label: label, values: data.results.map((r) => num(r.metrics[0])), bucketLabels: labels.map((l) => bucketLabel(l, iv, true)) }}
          comparison={
            hasCmp
              ? {
                  label: vs,
                  values: data.results.map((r) => num(r.comparison?.metrics[0])),
                  bucketLabels: data.results.map((r) => bucketLabel(String(r.comparison?.dimensions[0] ?? ""), iv, true)),
                }
              : null
          }
          label={`${METRIC_LABEL[metric]} per ${iv}, ${label}`}
        />
        {hasCmp && (
          <p class="graph-legend hint">
            <span class="key cur">{label}</span>
            <span class="key cmp">{vs.replace(/^vs /, "")}</span>
          </p>
        )}
      </>
    );
  }

  return (
    <div class={"main-graph" + (q.loading && data ? " reloading" : "")} data-testid="main-graph" data-metric={metric} data-interval={state.interval} data-points={data?.results.length ?? ""} aria-busy={q.loading}>
      <div class="graph-head">
        <h2 class="graph-title">{METRIC_LABEL[metric]}</h2>
        <div class="graph-tools">
          {intervals.length > 1 && (
            <div class="tabs" role="group" aria-label="Interval">
              {intervals.map((i) => (
                <button type="button" key={i} class={"tab" + (state.interval === i ? " current" : "")} aria-pressed={state.interval === i} onClick={() => setState(state, { interval: i })}>
                  {INTERVAL_LABEL[i]}
                </button>
              ))}
            </div>
          )}
          <button type="button" class="small" onClick={exportCsv} disabled={exporting} data-testid="export-csv" title="Download the graph's data as CSV">
            <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
              <path d="M8 2v8m0 0l-3-3m3 3l3-3M3 13h10" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round" />
            </svg>
            CSV
          </button>
        </div>
      </div>
      {exportError ? (
        <p class="error-text" role="alert">
          Export failed: {errorMessage(exportError)}
        </p>
      ) : null}
      {chart}
    </div>
  );
}

function num(v: unknown): number | null {
  return typeof v === "number" ? v : null;
}
