// The top stats: six totals from ONE query with their change against the comparison period,
// and the visitors here now (refreshed every 30 s). Clicking a stat picks the graph's metric.
import { useLayoutEffect, useState } from "preact/hooks";
import { query } from "../api/client";
import type { MetricName, QueryRequest, QueryResult } from "../api/types";
import { compareLabel } from "../lib/dates";
import { change, fullNumber, LOWER_IS_BETTER, METRIC_LABEL, metricValue } from "../lib/format";
import { comparisonFields, GRAPH_METRICS } from "../lib/url-state";
import { isAbort } from "../components/states";
import { queryBody, setState, useDash, type DashCtx } from "./ctx";
import { allowedMetrics } from "./dimensions";
import { useQuery } from "./use-query";

/** The comparison the top stats use: the URL's, else the previous period (Plausible always shows a change). */
export function statsComparison(ctx: DashCtx): Pick<QueryRequest, "compare" | "match_day_of_week"> {
  if (ctx.state.compare) return comparisonFields(ctx.state);
  return ctx.state.period === "all" ? {} : { compare: "previous_period" };
}

export function topStatsMetrics(ctx: DashCtx): MetricName[] {
  return allowedMetrics([...GRAPH_METRICS], ctx.state.filters);
}

export function TopStats() {
  const ctx = useDash();
  const metrics = topStatsMetrics(ctx);
  const comparison = statsComparison(ctx);
  const compare = comparison.compare;
  const q = useQuery(ctx.scope, queryBody(ctx, { metrics, ...comparison }));
  const data = q.shown;
  const selected = metrics.includes(ctx.state.metric) ? ctx.state.metric : "visitors";
  const vs = compareLabel(ctx.state.compare, data?.meta.comparison_date_range);
  return (
    <div class={"top-stats" + (q.loading && data ? " reloading" : "")} aria-busy={q.loading}>
      <LiveVisitors />
      {metrics.map((m, i) => {
        const v = data?.totals.metrics[i] ?? null;
        const ch = data?.totals.comparison?.change[i] ?? null;
        const prev = data?.totals.comparison?.metrics[i] ?? null;
        return (
          <button
            type="button"
            key={m}
            class={"stat" + (selected === m ? " selected" : "")}
            aria-pressed={selected === m}
            data-testid={`top-stat-${m}`}
            data-value={data ? (v ?? "") : undefined}
            data-previous={data && compare ? (prev ?? "") : undefined}
            title={data && compare ? `${metricValue(m, prev, false)} ${vs}` : undefined}
            onClick={() => setState(ctx.state, { metric: m })}
          >
            <span class="stat-label">{METRIC_LABEL[m]}</span>
            {data ? (
              <span class="stat-value">{metricValue(m, v)}</span>
            ) : q.error ? (
              <span class="stat-value">—</span>
            ) : (
              <span class="stat-value skeleton-text" aria-label="Loading" />
            )}
            {data && compare ? <Change metric={m} value={ch} vs={vs} /> : <span class="change" />}
          </button>
        );
      })}
      {q.error && !data ? (
        <p class="stats-error" role="alert">
          Could not load the totals.{" "}
          <button type="button" class="link" onClick={q.retry}>
            Retry
          </button>
        </p>
      ) : null}
    </div>
  );
}

/** "↑ +12%", green when the change is good news (a falling bounce rate is), red otherwise. */
export function Change({ metric, value, vs }: { metric: string; value: number | null; vs: string }) {
  if (value === null || !Number.isFinite(value)) {
    return (
      <span class="change">
        — <span class="visually-hidden">no change to compare {vs}</span>
      </span>
    );
  }
  const up = value > 0;
  const flat = value === 0;
  const good = flat ? null : LOWER_IS_BETTER.has(metric) ? !up : up;
  return (
    <span class={"change" + (good === null ? "" : good ? " good" : " bad")}>
      <span aria-hidden="true">{flat ? "→" : up ? "↑" : "↓"}</span> {change(value)}
      <span class="visually-hidden"> {vs}</span>
    </span>
  );
}

/**
 * Visitors in the last 5 minutes, polled every 30 s (the next poll after the answer). The first
 * request leaves in a layout effect, with the panels' (use-query.ts), not a frame after them.
 */
function LiveVisitors() {
  const ctx = useDash();
  const [data, setData] = useState<QueryResult | null>(null);
  const filters = JSON.stringify(ctx.state.filters);
  useLayoutEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let ac: AbortController | undefined;
    let stopped = false;
    const body = { project_id: ctx.project.id, metrics: ["live_visitors" as const], timezone: ctx.project.timezone, ...(ctx.state.filters.length ? { filters: ctx.state.filters } : {}) };
    const poll = () => {
      ac = new AbortController();
      query(ctx.scope, body, ac.signal)
        .then((r) => !stopped && setData(r))
        .catch((e) => {
          if (!isAbort(e)) console.warn("live visitors:", e);
        })
        .finally(() => {
          if (!stopped) timer = setTimeout(poll, 30_000);
        });
    };
    poll();
    return () => {
      stopped = true;
      ac?.abort();
      clearTimeout(timer);
    };
  }, [ctx.project.id, filters]);
  const v = data?.totals.metrics[0] ?? null;
  return (
    <a
      class="stat live"
      href={window.location.pathname + "?period=realtime"}
      onClick={(e) => {
        e.preventDefault();
        setState(ctx.state, { period: "realtime" });
      }}
      data-testid="top-stat-live_visitors"
      data-value={data ? (v ?? "") : undefined}
      title="Visitors in the last 5 minutes: open the realtime view"
    >
      <span class="stat-label">
        <span class="pulse" aria-hidden="true" /> Current visitors
      </span>
      <span class="stat-value">{data ? fullNumber(typeof v === "number" ? v : null) : <span class="skeleton-text" />}</span>
      <span class="change hint">last 5 minutes</span>
    </a>
  );
}
