// The main graph: the selected metric over the period by the interval, with the comparison
// period as a dashed line when comparing; the interval switch and the CSV export.
import { useState } from "preact/hooks";
import { queryCsv } from "../api/client";
import type { MetricName, QueryRequest } from "../api/types";
import { LineChart, preloadChart } from "../charts/line-chart";
import { noteMarks, notesWithin } from "../lib/annotations";
import { allowedIntervals, bucketLabel, compareLabel, periodDates, periodLabel, zoomPeriod, type Interval } from "../lib/dates";
import { METRIC_LABEL } from "../lib/format";
import { errorMessage } from "../components/states";
import { comparisonFields } from "../lib/url-state";
import { queryBody, setState, useDash, type DashCtx } from "./ctx";
import { topStatsMetrics } from "./top-stats";
import { csvName } from "./dimensions";
import { NotesDialog, useNotes } from "./annotations";
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
    ...comparisonFields(state),
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
  const notes = useNotes(ctx);
  const [notesOpen, setNotesOpen] = useState(false);
  const shownDates = periodDates(state.period, state.from, state.to, ctx.today);
  const lastDay = shownDates && shownDates[1] < ctx.today ? shownDates[1] : ctx.today;
  const inPeriod = notesWithin(notes.data?.annotations ?? [], shownDates?.[0] ?? null, lastDay);
  let markCount = 0;

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
    // A click on a bucket opens it (Plausible's "click a point to zoom"); the shared view too.
    const zoom = (i: number) => zoomPeriod(labels[i] ?? "", iv, state.period, state.from, state.to, ctx.today);
    const zoomable = iv === "day" || iv === "week" || iv === "month";
    const marks = noteMarks(inPeriod, labels, iv).map((m) => ({ index: m.index, texts: m.notes.map((n) => n.text) }));
    markCount = marks.length;
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
          onPick={
            zoomable
              ? (i) => {
                  const z = zoom(i);
                  if (z) setState(state, z);
                }
              : null
          }
          marks={marks}
          pickHint={(i) => (zoom(i) ? `Click to see ${iv === "day" ? "this day by hour" : `this ${iv} by day`}` : null)}
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
    <div class={"main-graph" + (q.loading && data ? " reloading" : "")} data-testid="main-graph" data-metric={metric} data-interval={state.interval} data-points={data?.results.length ?? ""} data-notes={inPeriod.length} data-marks={markCount} aria-busy={q.loading}>
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
          {(ctx.scope.kind === "owner" || inPeriod.length > 0) && (
            <button type="button" class="small" onClick={() => setNotesOpen(true)} data-testid="notes-button" title="Notes on dates of the graph (annotations)">
              <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
                <path d="M4 2h8v12l-4-3-4 3z" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linejoin="round" />
              </svg>
              Notes
              {inPeriod.length > 0 && (
                <span class="count">
                  {inPeriod.length}
                  <span class="visually-hidden"> in this period</span>
                </span>
              )}
            </button>
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
      {notesOpen && (
        <NotesDialog ctx={ctx} notes={notes} inPeriod={inPeriod} defaultDate={lastDay} open={notesOpen} onClose={() => setNotesOpen(false)} />
      )}
    </div>
  );
}

function num(v: unknown): number | null {
  return typeof v === "number" ? v : null;
}
