// The site's explore views (a lazy chunk, dashboard/lazy-explore.tsx): funnels, journeys, the
// sessions list and one session's timeline. They share the dashboard's toolbar (period, filter
// dialog, chips) through the same context, so the period and the filters read and change the
// same way; each page keeps its own state next to them in the URL (lib/explore-state.ts).
import { useMemo, useState } from "preact/hooks";
import type { Project } from "../api/types";
import { todayIn } from "../lib/dates";
import { location } from "../lib/router";
import { parseState } from "../lib/url-state";
import { Ctx, type DashCtx } from "../dashboard/ctx";
import { FilterDialog } from "../dashboard/filter-dialog";
import { FilterChips, Toolbar } from "../dashboard/toolbar";
import type { SiteView } from "../dashboard/site-nav";
import { FunnelsPage } from "./funnels";
import { JourneysPage } from "./journeys";
import { SessionPage } from "./session";
import { SessionsPage } from "./sessions";
import { IgnoredFilters } from "./scope";

const OWNER = { kind: "owner" } as const;

export function Explore({ project, view, sessionId }: { project: Project; view: Exclude<SiteView, "dashboard">; sessionId?: string | undefined }) {
  const search = location.value.search;
  const state = useMemo(() => parseState(search), [search]);
  const today = todayIn(project.timezone);
  const ctx: DashCtx = useMemo(() => ({ scope: OWNER, project, state, shared: false, today }), [project, state, today]);
  const [filterOpen, setFilterOpen] = useState(false);
  return (
    <Ctx.Provider value={ctx}>
      <div class="dashboard explore" data-testid={`explore-${view}`}>
        {view === "session" ? (
          <SessionPage sessionId={sessionId ?? ""} />
        ) : (
          <>
            <Toolbar onFilter={() => setFilterOpen(true)} explore />
            <FilterChips />
            <IgnoredFilters />
            {view === "funnels" ? <FunnelsPage /> : view === "journeys" ? <JourneysPage /> : <SessionsPage />}
          </>
        )}
        <FilterDialog open={filterOpen} onClose={() => setFilterOpen(false)} />
      </div>
    </Ctx.Provider>
  );
}
