// What every explore request shares: the site, the dashboard's period in the site's time zone,
// and the filters that apply to sessions (funnels, journeys and sessions take only those: a
// filter on events' names, properties or goals would be refused, so it is left out and said so).
import { useMemo } from "preact/hooks";
import type { DateRange, Filter } from "../api/types";
import { queryDateRange } from "../lib/dates";
import { useDash, type DashCtx } from "../dashboard/ctx";
import { filterLabel, isSessionFilter } from "../dashboard/dimensions";

export interface Scope {
  project_id: string;
  date_range: DateRange;
  timezone: string;
  filters?: Filter[];
}

export function scopeOf(ctx: DashCtx): Scope {
  const { state, project } = ctx;
  const filters = state.filters.filter(isSessionFilter);
  return {
    project_id: project.id,
    date_range: queryDateRange(state.period, state.from, state.to),
    timezone: project.timezone,
    ...(filters.length ? { filters } : {}),
  };
}

/** The scope of the current view, the same object while the URL's period and filters stay. */
export function useScope(): Scope {
  const ctx = useDash();
  return useMemo(() => scopeOf(ctx), [ctx]);
}

/** A note naming the filters this view does not apply (on events, properties or goals). */
export function IgnoredFilters() {
  const ignored = useDash().state.filters.filter((f) => !isSessionFilter(f));
  if (!ignored.length) return null;
  return (
    <p class="hint ignored-filters" data-testid="ignored-filters">
      Not applied here (this view filters visits, not events): {ignored.map(filterLabel).join("; ")}.
    </p>
  );
}
