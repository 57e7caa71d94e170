// Sessions (/sites/{id}/sessions): the visits of the period that pass the filters, newest first,
// with bounds on their duration and pages, a page at a time (the API's cursors, kept in the URL
// so a reload or Back shows the same page). A row opens the visit's timeline at its own URL.
import { useId, useState } from "preact/hooks";
import type { SessionList, SessionSummary } from "../api/types";
import { dateTime, durationMs } from "../lib/explore-format";
import { parseSessionsView, sessionsApiQuery, sessionsParams, type SessionsView } from "../lib/explore-state";
import { fullNumber } from "../lib/format";
import { linkClick, location, navigate } from "../lib/router";
import { joinQuery, serializeState } from "../lib/url-state";
import { useDash } from "../dashboard/ctx";
import { flag, valueLabel } from "../dashboard/dimensions";
import { PanelError, Skeleton } from "../dashboard/panel";
import { useScope } from "./scope";
import { useCall } from "./use-call";

/** Sessions per page (the API allows 1 to 100). */
const PAGE_SIZE = 25;

export function SessionsPage() {
  const ctx = useDash();
  const search = location.value.search;
  const view = parseSessionsView(search);
  const scope = useScope();
  const path = `/api/v1/projects/${encodeURIComponent(ctx.project.id)}/sessions?${sessionsApiQuery(scope, view, PAGE_SIZE)}`;
  const list = useCall<SessionList>("GET", path);
  const show = (v: SessionsView) => navigate(window.location.pathname + joinQuery(serializeState(ctx.state), sessionsParams(v)));
  const page = view.cursors.length + 1;
  const data = list.shown;

  return (
    <>
      <section class="card journey-controls" aria-label="Session bounds">
        <BoundsForm key={search} view={view} onShow={(v) => show({ ...v, cursors: [] })} />
      </section>
      <section class="card explore-main" aria-labelledby="sessions-title">
        <h2 id="sessions-title">Sessions{page > 1 ? ` · page ${page}` : ""}</h2>
        {!data && list.error ? (
          <PanelError error={list.error} onRetry={list.retry} />
        ) : !data ? (
          <Skeleton rows={8} />
        ) : data.sessions.length === 0 ? (
          <p class="hint explore-empty">No visit matches in this period.</p>
        ) : (
          <ul class={"session-list" + (list.loading ? " reloading" : "")} aria-busy={list.loading}>
            {data.sessions.map((s) => (
              <SessionRow key={s.id} s={s} href={`/sites/${encodeURIComponent(ctx.project.id)}/sessions/${encodeURIComponent(s.id)}${search}`} tz={ctx.project.timezone} />
            ))}
          </ul>
        )}
        {data && list.error ? <PanelError error={list.error} onRetry={list.retry} /> : null}
        <nav class="pager" aria-label="Pages of sessions">
          <button type="button" disabled={page === 1} onClick={() => show({ ...view, cursors: view.cursors.slice(0, -1) })}>
            ← Newer
          </button>
          <button
            type="button"
            data-testid="sessions-older"
            disabled={!list.data?.next_cursor}
            onClick={() => list.data?.next_cursor && show({ ...view, cursors: [...view.cursors, list.data.next_cursor] })}
          >
            Older →
          </button>
        </nav>
      </section>
    </>
  );
}

function SessionRow({ s, href, tz }: { s: SessionSummary; href: string; tz: string }) {
  const where = [s.city, s.region].filter(Boolean).join(", ") || (s.country ? valueLabel("country", s.country) : "");
  return (
    <li>
      <a href={href} onClick={linkClick} class="session-row" data-testid="session-row" data-id={s.id} data-pageviews={s.pageviews} data-duration-ms={s.duration_ms}>
        <span class="session-when">{dateTime(s.started_at, tz)}</span>
        <span class="session-pages">
          <span class="visually-hidden">Entered at </span>
          {s.entry_page}
          {s.exit_page !== s.entry_page && (
            <>
              <span aria-hidden="true"> → </span>
              <span class="visually-hidden">, left from </span>
              {s.exit_page}
            </>
          )}
        </span>
        <span class="session-stats">
          {fullNumber(s.pageviews)} page{s.pageviews === 1 ? "" : "s"} · {s.bounce ? "bounce" : durationMs(s.duration_ms)}
          {s.custom_events > 0 && ` · ${fullNumber(s.custom_events)} event${s.custom_events === 1 ? "" : "s"}`}
        </span>
        <span class="session-meta hint">
          {s.country && (
            <span class="flag" aria-hidden="true">
              {flag(s.country)}
            </span>
          )}
          {[where, valueLabel("source", s.source), s.browser, valueLabel("device", s.device)].filter(Boolean).join(" · ")}
        </span>
      </a>
    </li>
  );
}

function BoundsForm({ view, onShow }: { view: SessionsView; onShow: (v: SessionsView) => void }) {
  const id = useId();
  const [v, setV] = useState(view);
  const field = (key: keyof Omit<SessionsView, "cursors">, label: string, unit: string) => (
    <div class="bound">
      <label for={id + key}>
        {label} <span class="hint">({unit})</span>
      </label>
      <input
        id={id + key}
        name={key}
        type="number"
        min={0}
        step={1}
        inputMode="numeric"
        value={v[key] ?? ""}
        onInput={(e) => {
          const raw = e.currentTarget.value;
          setV({ ...v, [key]: raw === "" || !/^\d+$/.test(raw) ? null : Number(raw) });
        }}
      />
    </div>
  );
  return (
    <form
      class="inline-form bounds-form"
      onSubmit={(e) => {
        e.preventDefault();
        onShow(v);
      }}
    >
      {field("minDuration", "Min duration", "seconds")}
      {field("maxDuration", "Max duration", "seconds")}
      {field("minPageviews", "Min pages", "views")}
      {field("maxPageviews", "Max pages", "views")}
      <button type="submit" class="primary">
        Apply
      </button>
    </form>
  );
}
