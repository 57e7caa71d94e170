// The site's views: Dashboard, Funnels, Journeys, Sessions. Going from one to another keeps the
// period and the filters (url-state.ts, sharedQuery); each view's own state stays in its URL.
import { linkClick, location } from "../lib/router";
import { parseState, sharedQuery } from "../lib/url-state";

export type SiteView = "dashboard" | "funnels" | "journeys" | "sessions" | "session";

const VIEWS: [Exclude<SiteView, "session">, string][] = [
  ["dashboard", "Dashboard"],
  ["funnels", "Funnels"],
  ["journeys", "Journeys"],
  ["sessions", "Sessions"],
];

/** `/sites/{id}`, `/sites/{id}/funnels`, …: a view's path (one session's view: the sessions list). */
export function viewPath(projectId: string, view: SiteView): string {
  const base = `/sites/${encodeURIComponent(projectId)}`;
  if (view === "dashboard") return base;
  return `${base}/${view === "session" ? "sessions" : view}`;
}

export function SiteNav({ projectId, current }: { projectId: string; current: SiteView }) {
  const shared = sharedQuery(parseState(location.value.search));
  return (
    <nav class="site-nav" aria-label="Site views" data-testid="site-nav">
      {VIEWS.map(([view, label]) => (
        <a
          key={view}
          href={viewPath(projectId, view) + shared}
          onClick={linkClick}
          aria-current={view === current || (view === "sessions" && current === "session") ? "page" : undefined}
        >
          {label}
        </a>
      ))}
    </nav>
  );
}
