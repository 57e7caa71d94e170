// DashboardPage: `/sites/{id}` for a signed-in owner, and the site's other views
// (`/sites/{id}/funnels`, `/journeys`, `/sessions`, `/sessions/{session}`) under the same title
// and navigation. The project is loaded once; the dashboard itself starts its queries as soon as
// the project is known, without waiting for the site list (which only feeds the site switcher).
// A site opened before is known at once (lib/remembered.ts) and revalidated in the same moment.
import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api/client";
import type { Project } from "../api/types";
import { ErrorState, isAbort, useTitle } from "../components/states";
import { linkClick, navigate } from "../lib/router";
import { forgetSite, rememberedSite, rememberSite, sameSite } from "../lib/remembered";
import { Dashboard } from "./dashboard";
import { LazyExplore } from "./lazy-explore";
import { SiteNav, viewPath, type SiteView } from "./site-nav";
import "../explore/explore.css";

const OWNER = { kind: "owner" } as const;

export function DashboardPage({ projectId, view = "dashboard", sessionId }: { projectId: string; view?: SiteView; sessionId?: string }) {
  const [project, setProject] = useState<Project | null>(() => rememberedSite(projectId));
  const [error, setError] = useState<unknown>(null);
  const [sites, setSites] = useState<Project[] | null>(null);
  const [nonce, setNonce] = useState(0);
  const viewTitle = { dashboard: "", funnels: "Funnels · ", journeys: "Journeys · ", sessions: "Sessions · ", session: "Session · " }[view];
  useTitle(project ? viewTitle + project.name : null);

  useEffect(() => {
    const ac = new AbortController();
    setError(null);
    if (project?.id !== projectId) setProject(rememberedSite(projectId));
    api<Project>("GET", `/api/v1/projects/${encodeURIComponent(projectId)}`, undefined, ac.signal).then(
      (p) => {
        // The same answer keeps the same object: the dashboard's context does not change, so
        // nothing re-renders and no query re-runs.
        setProject((old) => (sameSite(old, p) ? old : p));
        rememberSite(p);
      },
      (e) => {
        if (isAbort(e)) return;
        if (e instanceof ApiError && (e.status === 404 || e.status === 400)) forgetSite(projectId);
        setError(e);
      },
    );
    return () => ac.abort();
  }, [projectId, nonce]);

  useEffect(() => {
    const ac = new AbortController();
    api<{ projects: Project[] }>("GET", "/api/v1/projects", undefined, ac.signal).then(
      (r) => setSites(r.projects),
      () => {},
    );
    return () => ac.abort();
  }, []);

  if (error instanceof ApiError && (error.status === 404 || error.status === 400)) {
    return (
      <main class="container narrow">
        <h1>Site not found</h1>
        <p>This site does not exist, or it is not yours.</p>
        <p>
          <a href="/" onClick={linkClick}>
            Back to your sites
          </a>
        </p>
      </main>
    );
  }
  if (error) {
    return (
      <main class="container">
        <ErrorState error={error} onRetry={() => setNonce((n) => n + 1)} />
      </main>
    );
  }

  return (
    <main class="container dash-page">
      <div class="dash-title">
        {project && sites && sites.length > 1 ? (
          <>
            <label for="site-switch" class="visually-hidden">
              Site
            </label>
            <h1 class="site-name">
              <select
                id="site-switch"
                class="site-switch"
                value={project.id}
                onChange={(e) => navigate(viewPath((e.currentTarget as HTMLSelectElement).value, view))}
              >
                {sites.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                  </option>
                ))}
              </select>
            </h1>
          </>
        ) : (
          <h1 class="site-name">{project ? project.name : <span class="skeleton-text wide" aria-label="Loading" />}</h1>
        )}
        {project?.domain && <span class="hint site-domain">{project.domain}</span>}
        <a class="settings-link" href={`/sites/${encodeURIComponent(projectId)}/settings`} onClick={linkClick}>
          Settings
        </a>
      </div>
      <SiteNav projectId={projectId} current={view} />
      {!project ? (
        <div class="dash-placeholder" aria-busy="true" />
      ) : view === "dashboard" ? (
        <Dashboard scope={OWNER} project={project} />
      ) : (
        <LazyExplore project={project} view={view} sessionId={sessionId} />
      )}
    </main>
  );
}
