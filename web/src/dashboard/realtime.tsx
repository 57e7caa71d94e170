// The realtime view: visitors now, visitors per minute over the last 30 minutes, and the
// pages and sources of that window. Refreshed every 10 s without piling requests up: the next
// round is scheduled only once every answer of the previous one arrived or failed, and waits
// while the tab is hidden.
import { useEffect, useState } from "preact/hooks";
import { query } from "../api/client";
import type { QueryRequest, QueryResult } from "../api/types";
import { LineChart } from "../charts/line-chart";
import { bucketLabel, realtimeRange } from "../lib/dates";
import { fullNumber } from "../lib/format";
import { errorMessage, isAbort } from "../components/states";
import { useDash } from "./ctx";
import { dimensionLabel } from "./dimensions";
import { Panel, Rows, Skeleton, type ListDef } from "./panel";

export const REALTIME_REFRESH_MS = 10_000;

type Answers = { live: QueryResult | null; minutes: QueryResult | null; pages: QueryResult | null; sources: QueryResult | null };
const KEYS = ["live", "minutes", "pages", "sources"] as const;

const PAGES: ListDef = { dimension: "page", column: dimensionLabel("page"), metrics: ["visitors"], detailMetrics: ["visitors"] };
const SOURCES: ListDef = { dimension: "source", column: dimensionLabel("source"), metrics: ["visitors"], detailMetrics: ["visitors"] };

export function Realtime() {
  const ctx = useDash();
  const [answers, setAnswers] = useState<Answers>({ live: null, minutes: null, pages: null, sources: null });
  const [error, setError] = useState<unknown>(null);
  const filtersKey = JSON.stringify(ctx.state.filters);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let ac: AbortController | undefined;
    let waiting = false;
    const base = { project_id: ctx.project.id, timezone: ctx.project.timezone, ...(ctx.state.filters.length ? { filters: ctx.state.filters } : {}) };

    async function round() {
      ac = new AbortController();
      const date_range = realtimeRange(new Date());
      const bodies: QueryRequest[] = [
        { ...base, metrics: ["live_visitors"] },
        { ...base, metrics: ["visitors"], dimensions: ["time:minute"], date_range, limit: 100 },
        { ...base, metrics: ["visitors"], dimensions: ["page"], date_range, limit: 9 },
        { ...base, metrics: ["visitors"], dimensions: ["source"], date_range, limit: 9 },
      ];
      const settled = await Promise.allSettled(bodies.map((b) => query(ctx.scope, b, ac!.signal)));
      if (stopped) return;
      const next: Partial<Answers> = {};
      let failure: unknown = null;
      settled.forEach((s, i) => {
        if (s.status === "fulfilled") next[KEYS[i]!] = s.value;
        else if (!isAbort(s.reason)) failure = s.reason;
      });
      setAnswers((a) => ({ ...a, ...next }));
      setError(failure);
      schedule();
    }
    function schedule() {
      timer = setTimeout(() => {
        if (stopped) return;
        if (document.hidden) waiting = true;
        else void round();
      }, REALTIME_REFRESH_MS);
    }
    function onVisible() {
      if (!document.hidden && waiting && !stopped) {
        waiting = false;
        void round();
      }
    }
    document.addEventListener("visibilitychange", onVisible);
    void round();
    return () => {
      stopped = true;
      ac?.abort();
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [ctx.project.id, filtersKey]);

  const live = answers.live?.totals.metrics[0];
  const minutes = answers.minutes;
  const labels = (minutes?.results ?? []).map((r) => String(r.dimensions[0] ?? ""));
  return (
    <div class="realtime" data-testid="realtime">
      <section class="card realtime-top" aria-labelledby="rt-title">
        <div class="realtime-now" data-testid="realtime-visitors" data-value={answers.live ? (live ?? "") : undefined}>
          <h2 id="rt-title">
            <span class="pulse" aria-hidden="true" /> Current visitors
          </h2>
          <p class="realtime-count">{answers.live ? fullNumber(typeof live === "number" ? live : null) : "…"}</p>
          <p class="hint">Visitors in the last 5 minutes · refreshed every 10 seconds</p>
        </div>
        <div class="main-graph" data-testid="main-graph" data-metric="visitors" data-interval="minute" data-points={labels.length}>
          <h2 class="graph-title">Visitors per minute, last 30 minutes</h2>
          {minutes ? (
            <LineChart
              metric="visitors"
              height={200}
              axisLabels={labels.map((l) => bucketLabel(l, "minute"))}
              current={{ label: "Visitors", values: minutes.results.map((r) => (typeof r.metrics[0] === "number" ? r.metrics[0] : null)), bucketLabels: labels.map((l) => bucketLabel(l, "minute", true)) }}
              label="Visitors per minute over the last 30 minutes"
            />
          ) : (
            <div class="graph-skeleton short" aria-busy="true" />
          )}
        </div>
        {error ? (
          <p class="error-text" role="alert">
            {errorMessage(error)} (retrying every 10 seconds)
          </p>
        ) : null}
      </section>
      <div class="panels">
        <Panel name="pages" title="Current pages">
          {answers.pages ? <Rows def={PAGES} data={answers.pages} /> : <Skeleton />}
        </Panel>
        <Panel name="sources" title="Current sources">
          {answers.sources ? <Rows def={SOURCES} data={answers.sources} /> : <Skeleton />}
        </Panel>
      </div>
    </div>
  );
}
