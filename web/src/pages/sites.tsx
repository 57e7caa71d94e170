// The sites list (/): every project as a card linking to its dashboard, with a 30-day
// sparkline of visitors and today's visitors (all cards query in parallel), an empty state,
// and "Add a website" (add-site.tsx).
import { useEffect, useState } from "preact/hooks";
import { query } from "../api/client";
import type { Project, QueryResult } from "../api/types";
import { fullNumber } from "../lib/format";
import { linkClick } from "../lib/router";
import { Sparkline } from "../components/sparkline";
import { EmptyState, ErrorState, isAbort, Loading, useTitle } from "../components/states";
import { useLoad } from "../components/use-api";
import { AddSiteDialog } from "./add-site";
import "./sites.css";

export function SitesPage() {
  useTitle("Your websites");
  const { data, error, retry, set } = useLoad<{ projects: Project[] }>("/api/v1/projects");
  const projects = data?.projects ?? null;
  const [adding, setAdding] = useState(false);

  const addButton = (
    <button type="button" class="primary" onClick={() => setAdding(true)}>
      <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
        <path d="M8 3v10M3 8h10" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" />
      </svg>
      Add a website
    </button>
  );

  let body;
  if (error) body = <ErrorState error={error} onRetry={retry} />;
  else if (!projects) body = <Loading label="Loading your websites…" />;
  else if (projects.length === 0)
    body = (
      <EmptyState title="No websites yet">
        <p>Add your first website to get its tracking snippet. Visitors show up here seconds after it is in place.</p>
        {addButton}
      </EmptyState>
    );
  else
    body = (
      <ul class="site-grid">
        {projects.map((p) => (
          <SiteCard key={p.id} project={p} />
        ))}
      </ul>
    );

  return (
    <main class="container">
      <div class="page-head">
        <h1>Your websites</h1>
        {projects && projects.length > 0 && addButton}
      </div>
      {body}
      <AddSiteDialog
        open={adding}
        onClose={() => setAdding(false)}
        onCreated={(p) => set((d) => ({ projects: [p, ...(d?.projects ?? []).filter((q) => q.id !== p.id)] }))}
      />
    </main>
  );
}

interface CardData {
  values: (number | null)[];
  total: number | null;
  today: number | null;
}

function cellNumber(v: unknown): number | null {
  return typeof v === "number" ? v : null;
}

function SiteCard({ project }: { project: Project }) {
  const [data, setData] = useState<CardData | null>(null);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    const ctl = new AbortController();
    const scope = { kind: "owner" } as const;
    const base = { project_id: project.id, metrics: ["visitors" as const], timezone: project.timezone };
    Promise.all([
      query(scope, { ...base, dimensions: ["time:day"], date_range: "30d" }, ctl.signal),
      query(scope, { ...base, date_range: "day" }, ctl.signal),
    ]).then(
      ([month, day]: [QueryResult, QueryResult]) => {
        const rows = [...month.results].sort((a, b) => String(a.dimensions[0]).localeCompare(String(b.dimensions[0])));
        setData({
          values: rows.map((r) => cellNumber(r.metrics[0])),
          total: cellNumber(month.totals.metrics[0]),
          today: cellNumber(day.totals.metrics[0]),
        });
      },
      (e) => !isAbort(e) && setFailed(true),
    );
    return () => ctl.abort();
  }, [project.id, project.timezone]);

  const href = `/sites/${encodeURIComponent(project.id)}`;
  return (
    <li class="site-card card" data-testid="site-card">
      <div class="site-card-head">
        <h2 class="site-name">
          <a href={href} onClick={linkClick} class="site-link">
            {project.name}
          </a>
        </h2>
        <a
          href={`${href}/settings`}
          onClick={linkClick}
          class="button icon-button site-settings-link"
          aria-label={`Settings of ${project.name}`}
          title="Settings"
        >
          <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
            <circle cx="8" cy="8" r="2.2" fill="none" stroke="currentColor" stroke-width="1.4" />
            <path
              d="M8 1.5v2M8 12.5v2M1.5 8h2M12.5 8h2M3.4 3.4l1.4 1.4M11.2 11.2l1.4 1.4M3.4 12.6l1.4-1.4M11.2 4.8l1.4-1.4"
              stroke="currentColor"
              stroke-width="1.4"
              stroke-linecap="round"
            />
          </svg>
        </a>
      </div>
      <p class="site-domain">{project.domain ?? "No domain set"}</p>
      <div class="site-spark">
        {data ? (
          <Sparkline values={data.values} label={`Visitors, last 30 days: ${fullNumber(data.total)}`} />
        ) : (
          <div class={"site-spark-placeholder" + (failed ? " failed" : "")} />
        )}
      </div>
      <p class="site-today">
        {data ? (
          <>
            <strong data-testid="site-visitors-today">{fullNumber(data.today)}</strong>{" "}
            {data.today === 1 ? "visitor" : "visitors"} today
          </>
        ) : failed ? (
          <span class="hint">Could not load the numbers</span>
        ) : (
          <span class="hint">Loading…</span>
        )}
      </p>
    </li>
  );
}
