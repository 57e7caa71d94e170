// What each panel's tab queries: its dimension, metrics and own filters. Shared by the panels
// and their details dialogs.
import type { Filter, MetricName, Row } from "../api/types";
import type { DashState, PanelName } from "../lib/url-state";
import { allowedMetrics, dimensionLabel } from "./dimensions";
import type { ListDef } from "./panel";

/**
 * Event names that are not custom events (docs/query-api.md, `events`). The events list leaves
 * them out of its rows rather than filtering them in the query: a filter would send the query
 * past the rollups to the raw events (seconds at 10 million events), a hidden row costs nothing.
 */
export const BUILTIN_EVENTS = ["pageview", "path_change", "page_exit"];

const SESSION_DETAILS: MetricName[] = ["visitors", "visits", "bounce_rate", "visit_duration"];

export const TAB_LABEL: Record<string, string> = {
  source: "Sources",
  referrer: "Referrers",
  utm_source: "UTM source",
  utm_medium: "UTM medium",
  utm_campaign: "UTM campaign",
  utm_term: "UTM term",
  utm_content: "UTM content",
  page: "Top pages",
  entry_page: "Entry pages",
  exit_page: "Exit pages",
  map: "Map",
  country: "Countries",
  region: "Regions",
  city: "Cities",
  browser: "Browsers",
  os: "OS",
  device: "Devices",
  goals: "Events",
  props: "Properties",
};

export const PANEL_TITLE: Record<PanelName, string> = {
  sources: "Top sources",
  pages: "Top pages",
  locations: "Locations",
  devices: "Devices",
  events: "Custom events",
};

/** The list a panel shows for its current tab, or null (the properties tab without a key). */
export function listDef(panel: PanelName, state: DashState): ListDef | null {
  const f = state.filters;
  const def = (dimension: string, metrics: MetricName[], detailMetrics: MetricName[], filters?: Filter[]): ListDef => ({
    dimension,
    column: dimensionLabel(dimension),
    metrics: allowedMetrics(metrics, f),
    detailMetrics: allowedMetrics(detailMetrics, f),
    ...(filters ? { filters } : {}),
  });
  switch (panel) {
    case "sources": {
      // Drill-down: filtered to one source, the Sources tab lists that source's referrers
      // (the pages that sent them), as a list of one row would say nothing new.
      const one = drilledSource(f);
      if (state.tabs.sources === "source" && one !== null) {
        return { ...def("referrer", ["visitors"], SESSION_DETAILS), column: `Referrers from ${one}` };
      }
      return def(state.tabs.sources, ["visitors"], SESSION_DETAILS);
    }
    case "pages": {
      const t = state.tabs.pages;
      if (t === "page") return def("page", ["visitors"], ["visitors", "pageviews", "time_on_page", "scroll_depth"]);
      if (t === "entry_page") return def(t, ["visits"], SESSION_DETAILS);
      return def(t, ["visits"], ["visitors", "visits"]);
    }
    case "locations": {
      const t = state.tabs.locations;
      return def(t === "map" ? "country" : t, ["visitors"], ["visitors", "pageviews"]);
    }
    case "devices":
      return def(state.tabs.devices, ["visitors"], ["visitors", "pageviews"]);
    case "events":
      if (state.tabs.events === "props") {
        if (!state.prop) return null;
        const dim = "props." + state.prop;
        return { ...def(dim, ["visitors", "events"], ["visitors", "events"], [["is_not", dim, [""]]]), column: state.prop };
      }
      return { ...def("event_name", ["visitors", "events"], ["visitors", "events"]), column: "Event", hide: BUILTIN_EVENTS };
  }
}

/** The one source the filters keep (an `is` filter of one value, not Direct), or null. */
export function drilledSource(filters: Filter[]): string | null {
  const is = filters.filter((x) => x[0] === "is" && x[1] === "source");
  const only = is.length === 1 && is[0]![2].length === 1 ? is[0]![2][0]! : null;
  return only ? only : null;
}

/** The rows a list shows: the answer's, without the values the list hides. */
export function shownRows(def: ListDef, rows: Row[]): Row[] {
  const hide = def.hide;
  return hide ? rows.filter((r) => !hide.includes(String(r.dimensions[0] ?? ""))) : rows;
}
