// The panel shell (a titled <section> with tabs and a Details button) and the list of rows
// with proportional bars that most panels show. Clicking a row filters the whole dashboard.
import type { ComponentChildren } from "preact";
import { useId } from "preact/hooks";
import type { Filter, MetricName, QueryResult } from "../api/types";
import { errorMessage } from "../components/states";
import { metricValue, METRIC_LABEL } from "../lib/format";
import { addFilter, type PanelName } from "../lib/url-state";
import { setState, useDash } from "./ctx";
import { shownRows } from "./defs";
import { flag, valueLabel } from "./dimensions";
import type { QueryState } from "./use-query";

/** Rows shown in a panel (the rest are in its details dialog). */
export const PANEL_ROWS = 9;

export const SHORT_LABEL: Record<string, string> = {
  visitors: "Visitors",
  visits: "Visits",
  pageviews: "Pageviews",
  events: "Events",
  bounce_rate: "Bounce rate",
  visit_duration: "Duration",
  time_on_page: "Time on page",
  scroll_depth: "Scroll depth",
  conversion_rate: "CR",
  views_per_visit: "Views / visit",
};
export function shortLabel(m: string): string {
  return SHORT_LABEL[m] ?? METRIC_LABEL[m] ?? m;
}

/** What one list shows: a dimension, its metrics (the first draws the bar). */
export interface ListDef {
  dimension: string;
  /** The dimension column's header ("Source", "Page"). */
  column: string;
  metrics: MetricName[];
  /** Metrics of the details dialog. */
  detailMetrics: MetricName[];
  /** Filters of this list only. */
  filters?: Filter[];
  /** Dimension values left out of the rows (page views among the custom events): asked for as
   * extra rows and dropped, so the query still reads the rollups. */
  hide?: string[];
}

export function Panel(props: {
  name: PanelName | "heatmap" | "goals";
  title: string;
  tabs?: ComponentChildren;
  children: ComponentChildren;
  onDetails?: () => void;
  footer?: ComponentChildren;
}) {
  const id = useId();
  return (
    <section class="panel card" aria-labelledby={id} data-testid={`panel-${props.name}`}>
      <div class="panel-head">
        <h2 id={id}>{props.title}</h2>
        {props.tabs && (
          <div class="tabs" role="group" aria-label={`${props.title}: show`}>
            {props.tabs}
          </div>
        )}
      </div>
      <div class="panel-body">{props.children}</div>
      {(props.onDetails || props.footer) && (
        <div class="panel-foot">
          {props.footer}
          {props.onDetails && (
            <button type="button" class="link details-link" onClick={props.onDetails}>
              Details<span class="visually-hidden"> of {props.title.toLowerCase()}</span>
            </button>
          )}
        </div>
      )}
    </section>
  );
}

export function Tab(props: { current: boolean; onClick: () => void; children: ComponentChildren }) {
  return (
    <button type="button" class={"tab" + (props.current ? " current" : "")} aria-pressed={props.current} onClick={props.onClick}>
      {props.children}
    </button>
  );
}

export function Skeleton({ rows = PANEL_ROWS }: { rows?: number }) {
  return (
    <div class="skeleton" aria-busy="true" aria-label="Loading">
      {Array.from({ length: rows }, (_, i) => (
        <div class="skeleton-row" key={i} style={{ width: `${92 - i * 8}%` }} />
      ))}
    </div>
  );
}

export function PanelError({ error, onRetry }: { error: unknown; onRetry: () => void }) {
  return (
    <div class="panel-error" role="alert">
      <p>{errorMessage(error)}</p>
      <button type="button" onClick={onRetry}>
        Retry
      </button>
    </div>
  );
}

/** A row's dimension value as shown, with the country's flag. */
export function RowLabel({ dimension, value }: { dimension: string; value: string }) {
  const f = dimension === "country" ? flag(value) : "";
  return (
    <>
      {f && (
        <span class="flag" aria-hidden="true">
          {f}
        </span>
      )}
      {valueLabel(dimension, value)}
    </>
  );
}

/** Filters the dashboard by `dimension is value` (replacing an `is` filter on that dimension). */
export function useFilterBy(): (dimension: string, value: string) => void {
  const ctx = useDash();
  return (dimension, value) =>
    setState(ctx.state, { filters: addFilter(ctx.state.filters, ["is", dimension, [value]]), details: null });
}

/** The loading / error / rows states of a list query. */
export function QueryRows({ def, q, limit = PANEL_ROWS }: { def: ListDef; q: QueryState; limit?: number }) {
  if (!q.shown && q.error) return <PanelError error={q.error} onRetry={q.retry} />;
  if (!q.shown) return <Skeleton />;
  return <Rows def={def} data={q.shown} loading={q.loading} limit={limit} />;
}

export function Rows({ def, data, loading, limit = PANEL_ROWS }: { def: ListDef; data: QueryResult; loading?: boolean; limit?: number }) {
  const filterBy = useFilterBy();
  const dimCol = data.columns.indexOf(def.dimension);
  const metrics = data.columns.slice(data.columns.length - (data.results[0]?.metrics.length ?? data.totals.metrics.length));
  const rows = shownRows(def, data.results).slice(0, limit);
  const first = (r: (typeof rows)[number]) => (typeof r.metrics[0] === "number" ? (r.metrics[0] as number) : 0);
  const max = rows.reduce((m, r) => Math.max(m, first(r)), 0);
  return (
    <div class={"rows" + (metrics.length > 1 ? ` cols-${Math.min(metrics.length, 3)}` : "") + (loading ? " reloading" : "")} aria-busy={loading}>
      <div class="rows-head" aria-hidden="true">
        <span>{def.column}</span>
        {metrics.map((m) => (
          <span class="num" key={m}>
            {shortLabel(m)}
          </span>
        ))}
      </div>
      {rows.length === 0 ? (
        <p class="rows-empty hint">No data for this period</p>
      ) : (
        <ul>
          {rows.map((r) => {
            const value = String(r.dimensions[Math.max(0, dimCol)] ?? "");
            return (
              <li key={value}>
                <button
                  type="button"
                  class="row"
                  data-testid="row"
                  data-value={value}
                  data-metric-value={r.metrics[0] ?? ""}
                  title={`Filter by ${valueLabel(def.dimension, value)}`}
                  onClick={() => filterBy(def.dimension, value)}
                >
                  <span class="bar" style={{ width: max > 0 ? `${(first(r) / max) * 100}%` : "0%" }} />
                  <span class="row-label">
                    <span class="visually-hidden">Filter by </span>
                    <RowLabel dimension={def.dimension} value={value} />
                  </span>
                  {r.metrics.map((v, i) => (
                    <span class="num" key={i}>
                      {metricValue(metrics[i] ?? "", v)}
                    </span>
                  ))}
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
