// Dashboard: a site's analytics, for its owner (`scope` owner) or a share link's visitor
// (`shared`: read-only, no settings). Everything on screen comes from the URL's query string
// (lib/url-state.ts), so a reload or a shared link gives the same view and back/forward works.
// Every panel fires its own query at once when rendered (no waterfall).
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { QueryScope } from "../api/client";
import type { Project } from "../api/types";
import { shiftPeriod, todayIn } from "../lib/dates";
import { location } from "../lib/router";
import { parseState, removeFilter } from "../lib/url-state";
import { Ctx, setState, type DashCtx } from "./ctx";
import { DetailsDialog } from "./details";
import { FilterDialog } from "./filter-dialog";
import { HelpDialog } from "./help-dialog";
import { MainGraph } from "./main-graph";
import { closeOpenMenu } from "./menu";
import { DevicesPanel, EventsPanel, GoalsPanel, HeatmapPanel, LocationsPanel, PagesPanel, SourcesPanel } from "./panels";
import { Realtime } from "./realtime";
import { keyAction } from "./shortcuts";
import { FilterChips, Toolbar } from "./toolbar";
import { TopStats } from "./top-stats";
import "./dashboard.css";

export function Dashboard({ scope, project, shared = false }: { scope: QueryScope; project: Project; shared?: boolean }) {
  const search = location.value.search;
  const state = useMemo(() => parseState(search), [search]);
  const today = todayIn(project.timezone);
  const ctx: DashCtx = useMemo(() => ({ scope, project, state, shared, today }), [scope, project, state, shared, today]);
  const [filterOpen, setFilterOpen] = useState(false);
  const [helpOpen, setHelpOpen] = useState(false);

  // The key handler reads the latest context through a ref: registered once.
  const latest = useRef({ ctx, filterOpen, helpOpen });
  latest.current = { ctx, filterOpen, helpOpen };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented) return;
      const action = keyAction({ key: e.key, ctrlKey: e.ctrlKey, metaKey: e.metaKey, altKey: e.altKey, target: e.target as HTMLElement | null });
      if (!action) return;
      const { ctx: c, filterOpen: fo, helpOpen: ho } = latest.current;
      const s = c.state;
      // While a dialog is open its own keys rule (it closes itself on Esc).
      if (fo || ho || s.details || document.querySelector("dialog[open]")) return;
      switch (action.kind) {
        case "escape":
          if (closeOpenMenu) closeOpenMenu();
          else if (s.filters.length) setState(s, { filters: removeFilter(s.filters, s.filters.length - 1) });
          else return;
          break;
        case "help":
          setHelpOpen(true);
          break;
        case "period":
          setState(s, { period: action.period });
          break;
        case "compare":
          if (s.period === "realtime") return;
          setState(s, { compare: s.compare ? null : "previous_period" });
          break;
        case "move": {
          const r = shiftPeriod(s.period, s.from, s.to, action.dir, c.today);
          if (!r) return;
          setState(s, { period: "custom", from: r.from, to: r.to });
          break;
        }
      }
      e.preventDefault();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  return (
    <Ctx.Provider value={ctx}>
      <div class="dashboard" data-testid="dashboard">
        <Toolbar onFilter={() => setFilterOpen(true)} onHelp={() => setHelpOpen(true)} />
        <FilterChips />
        {state.period === "realtime" ? (
          <Realtime />
        ) : (
          <>
            <section class="card overview" aria-label="Overview">
              <TopStats />
              <MainGraph />
            </section>
            <div class="panels">
              <SourcesPanel />
              <PagesPanel />
              <LocationsPanel />
              <DevicesPanel />
              <EventsPanel />
              <GoalsPanel />
              <HeatmapPanel />
            </div>
          </>
        )}
        {state.details && state.period !== "realtime" && <DetailsDialog panel={state.details} />}
        <FilterDialog open={filterOpen} onClose={() => setFilterOpen(false)} />
        <HelpDialog open={helpOpen} onClose={() => setHelpOpen(false)} />
      </div>
    </Ctx.Provider>
  );
}
