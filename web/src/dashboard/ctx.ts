// What every part of the dashboard needs: where to query, the site, the state read from the
// URL, and how to change it (a navigation, so back/forward works).
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { QueryScope } from "../api/client";
import type { Filter, Project, QueryRequest } from "../api/types";
import { queryDateRange } from "../lib/dates";
import { navigate } from "../lib/router";
import { stateSearch, type DashState } from "../lib/url-state";

export interface DashCtx {
  scope: QueryScope;
  project: Project;
  state: DashState;
  shared: boolean;
  /** Today in the site's time zone. */
  today: string;
}

export const Ctx = createContext<DashCtx>(null as unknown as DashCtx);
export function useDash(): DashCtx {
  return useContext(Ctx);
}

/**
 * The URL of the state with `patch` applied (same path). The page's own parameters (a funnel's
 * steps, a journey's start) stay: the toolbar changes the period of whatever page shows it.
 */
export function stateUrl(state: DashState, patch: Partial<DashState>): string {
  return window.location.pathname + stateSearch(state, patch, window.location.search);
}

export function setState(state: DashState, patch: Partial<DashState>, replace = false): void {
  const url = stateUrl(state, patch);
  if (replace) {
    navigate(url, true);
    return;
  }
  // Keep the scroll position: a change of state is not a new page.
  const y = window.scrollY;
  navigate(url);
  window.scrollTo(0, y);
}

/**
 * A query body over the dashboard's period, time zone and filters; `extraFilters` are added
 * to the state's.
 */
export function queryBody(
  ctx: DashCtx,
  q: Omit<QueryRequest, "project_id" | "date_range" | "timezone" | "filters"> & { date_range?: QueryRequest["date_range"] },
  extraFilters: Filter[] = [],
): QueryRequest {
  const { state, project } = ctx;
  const filters = [...state.filters, ...extraFilters];
  const body: QueryRequest = {
    project_id: project.id,
    date_range: q.date_range ?? queryDateRange(state.period, state.from, state.to),
    timezone: project.timezone,
    ...q,
  };
  if (filters.length) body.filters = filters;
  return body;
}
