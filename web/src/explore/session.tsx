// One session (/sites/{id}/sessions/{session}): what the visit was (when, how long, where it came
// from, on what) and its events in order, as a timeline. No visitor id and no address: the API
// has none to give. The list's URL state follows it, so Back to sessions returns to the same page.
import { ApiError } from "../api/client";
import type { SessionDetail } from "../api/types";
import { clockTime, dateTime, durationMs, eventKind, eventText, sinceStart } from "../lib/explore-format";
import { fullNumber } from "../lib/format";
import { linkClick, location } from "../lib/router";
import { useDash } from "../dashboard/ctx";
import { flag, valueLabel } from "../dashboard/dimensions";
import { PanelError, Skeleton } from "../dashboard/panel";
import { useCall } from "./use-call";

export function SessionPage({ sessionId }: { sessionId: string }) {
  const ctx = useDash();
  const tz = ctx.project.timezone;
  const site = encodeURIComponent(ctx.project.id);
  const detail = useCall<SessionDetail>("GET", `/api/v1/projects/${site}/sessions/${encodeURIComponent(sessionId)}`);
  const back = `/sites/${site}/sessions${location.value.search}`;
  const d = detail.data;
  const missing = detail.error instanceof ApiError && (detail.error.status === 404 || detail.error.status === 400);

  return (
    <>
      <p class="settings-back">
        <a href={back} onClick={linkClick}>
          ← Back to sessions
        </a>
      </p>
      {missing ? (
        <section class="card explore-main">
          <h2>Session not found</h2>
          <p>This visit does not exist, or it is past the site's retention.</p>
        </section>
      ) : detail.error ? (
        <PanelError error={detail.error} onRetry={detail.retry} />
      ) : !d ? (
        <section class="card explore-main">
          <Skeleton rows={6} />
        </section>
      ) : (
        <>
          <section class="card explore-main" aria-labelledby="session-title" data-testid="session-summary" data-id={d.session.id}>
            <h2 id="session-title">Visit of {dateTime(d.session.started_at, tz)}</h2>
            <dl class="session-facts">
              <div>
                <dt>Duration</dt>
                <dd>{durationMs(d.session.duration_ms)}</dd>
              </div>
              <div>
                <dt>Pageviews</dt>
                <dd data-testid="session-pageviews">{fullNumber(d.session.pageviews)}</dd>
              </div>
              <div>
                <dt>Events</dt>
                <dd>{fullNumber(d.session.custom_events)}</dd>
              </div>
              <div>
                <dt>Entry → exit</dt>
                <dd>
                  {d.session.entry_page} → {d.session.exit_page}
                </dd>
              </div>
              <div>
                <dt>Source</dt>
                <dd>
                  {valueLabel("source", d.session.source)}
                  {d.session.utm_campaign ? ` (${d.session.utm_campaign})` : ""}
                </dd>
              </div>
              <div>
                <dt>Location</dt>
                <dd>
                  {d.session.country && (
                    <span class="flag" aria-hidden="true">
                      {flag(d.session.country)}
                    </span>
                  )}
                  {[d.session.city, d.session.region, d.session.country ? valueLabel("country", d.session.country) : ""].filter(Boolean).join(", ") || "Unknown"}
                </dd>
              </div>
              <div>
                <dt>Device</dt>
                <dd>
                  {d.session.browser} · {d.session.os} · {valueLabel("device", d.session.device)}
                </dd>
              </div>
            </dl>
          </section>
          <section class="card explore-main" aria-labelledby="timeline-title">
            <h2 id="timeline-title">Timeline</h2>
            <ol class="timeline" data-testid="session-timeline">
              {d.events.map((e, i) => (
                <li key={i} class={"timeline-event " + eventKind(e)} data-testid="timeline-event" data-name={e.name} data-path={e.path}>
                  <span class="timeline-at">
                    <time dateTime={e.at} title={clockTime(e.at, tz)}>
                      {sinceStart(e.at, d.session.started_at)}
                    </time>
                  </span>
                  <span class="timeline-dot" aria-hidden="true" />
                  <span class="timeline-text">
                    {eventText(e)}
                    {Object.keys(e.props).length > 0 && (
                      <span class="timeline-props">
                        {Object.entries(e.props).map(([k, v]) => (
                          <code key={k}>
                            {k}: {v}
                          </code>
                        ))}
                      </span>
                    )}
                  </span>
                </li>
              ))}
            </ol>
            {d.truncated && <p class="hint">The visit has more events than shown here (the first {fullNumber(d.events.length)}).</p>}
          </section>
        </>
      )}
    </>
  );
}
