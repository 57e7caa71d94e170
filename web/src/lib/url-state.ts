// The dashboard's whole state lives in the URL's query string, so a link, a reload and the back
// button all give the same view. `parseState` never throws: an unknown or malformed parameter
// falls back to its default. `serializeState` omits defaults, so the plain `/sites/{id}` is the
// default view. Pure, unit-tested (url-state.test.ts).
import type { Filter, FilterOp, MetricName, QueryRequest } from "../api/types";
import { allowedIntervals, defaultInterval, isDate, type Interval } from "./dates";

export type Period =
  | "realtime"
  | "day"
  | "yesterday"
  | "7d"
  | "30d"
  | "month"
  | "last_month"
  | "6mo"
  | "12mo"
  | "all"
  | "custom";
export const PERIODS: readonly Period[] = [
  "realtime", "day", "yesterday", "7d", "30d", "month", "last_month", "6mo", "12mo", "all", "custom",
];

/** "custom": the owner's own range of days (`compareFrom`..`compareTo`). */
export type Compare = "previous_period" | "year_over_year" | "custom";

/** The metrics the main graph can show (those of the top stats). */
export const GRAPH_METRICS: readonly MetricName[] = [
  "visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration",
];

export const FILTER_OPS: readonly FilterOp[] = ["is", "is_not", "contains", "matches"];

/** Per-panel tabs, each with its allowed values; the first is the default. */
export const TABS = {
  sources: ["source", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"],
  pages: ["page", "entry_page", "exit_page"],
  locations: ["map", "country", "region", "city"],
  devices: ["browser", "os", "device"],
  events: ["goals", "props"],
} as const;
export type PanelName = keyof typeof TABS;
export type Tabs = { [K in PanelName]: (typeof TABS)[K][number] };
const PANELS = Object.keys(TABS) as PanelName[];

export interface DashState {
  period: Period;
  /** Both set exactly when period is "custom" (YYYY-MM-DD, from <= to). */
  from: string | null;
  to: string | null;
  /** null: the comparison is off in the URL (the top stats still compare with the previous period). */
  compare: Compare | null;
  /** Both set exactly when compare is "custom" (YYYY-MM-DD, from <= to). */
  compareFrom: string | null;
  compareTo: string | null;
  /** Move a named comparison back by whole weeks (Mondays against Mondays); false otherwise. */
  matchDayOfWeek: boolean;
  /** Always one of allowedIntervals(period): the period's default when absent or not allowed. */
  interval: Interval;
  metric: MetricName;
  filters: Filter[];
  tabs: Tabs;
  /** The goal (event name) whose conversion rate the events panel shows. */
  goal: string | null;
  /** The custom property key the events panel's "Properties" tab breaks down. */
  prop: string | null;
  /** The panel whose details dialog is open. */
  details: PanelName | null;
}

export function defaultTabs(): Tabs {
  return { sources: "source", pages: "page", locations: "map", devices: "browser", events: "goals" };
}

export function defaultState(): DashState {
  return {
    period: "30d",
    from: null,
    to: null,
    compare: null,
    compareFrom: null,
    compareTo: null,
    matchDayOfWeek: false,
    interval: defaultInterval("30d", null, null),
    metric: "visitors",
    filters: [],
    tabs: defaultTabs(),
    goal: null,
    prop: null,
    details: null,
  };
}

/** A query-string value decoded (`+` is a space), or null when it is malformed. */
export function decode(s: string): string | null {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return null;
  }
}

/** Encodes a value for the query string, keeping it readable (`/`, `:` stay as they are). */
function enc(s: string): string {
  return encodeURIComponent(s).replace(/%2F/g, "/").replace(/%3A/g, ":");
}

/** `op,dimension,value[,value…]`, each part URL-encoded on its own (so a comma in a value is %2C). */
export function parseFilter(raw: string): Filter | null {
  const parts = raw.split(",").map(decode);
  if (parts.length < 3 || parts.some((p) => p === null)) return null;
  const [op, dim, ...values] = parts as string[];
  if (!FILTER_OPS.includes(op as FilterOp)) return null;
  if (!/^(props\.[^\s]{1,200}|[a-z_]{2,20})$/.test(dim!)) return null;
  if (dim!.startsWith("time") || dim === "heatmap") return null;
  if (values.length > 100) return null;
  return [op as FilterOp, dim!, values];
}

export function serializeFilter(f: Filter): string {
  return [f[0], f[1], ...f[2]].map(enc).join(",");
}

/** Reads the state from a query string (`?period=7d&f=is,country,FR`), or "" for the defaults. */
export function parseState(search: string): DashState {
  const s = defaultState();
  const q = search.startsWith("?") ? search.slice(1) : search;
  const raw: [string, string][] = [];
  for (const pair of q.split("&")) {
    if (!pair) continue;
    const i = pair.indexOf("=");
    const k = decode(i < 0 ? pair : pair.slice(0, i));
    if (k !== null) raw.push([k, i < 0 ? "" : pair.slice(i + 1)]);
  }
  const get = (k: string): string | null => {
    const hit = raw.find(([key]) => key === k);
    return hit ? decode(hit[1]) : null;
  };

  const period = get("period");
  if (period && (PERIODS as readonly string[]).includes(period)) {
    if (period === "custom") {
      const from = get("from");
      const to = get("to");
      if (from && to && isDate(from) && isDate(to)) {
        s.period = "custom";
        [s.from, s.to] = from <= to ? [from, to] : [to, from];
      }
    } else s.period = period as Period;
  }
  const compare = get("compare");
  if (compare === "previous_period" || compare === "year_over_year") {
    s.compare = compare;
    s.matchDayOfWeek = get("match_day_of_week") === "true";
  } else if (compare === "custom") {
    const from = get("compare_from");
    const to = get("compare_to");
    if (from && to && isDate(from) && isDate(to)) {
      s.compare = "custom";
      [s.compareFrom, s.compareTo] = from <= to ? [from, to] : [to, from];
    }
  }

  const allowed = allowedIntervals(s.period, s.from, s.to);
  const interval = get("interval");
  s.interval = interval && (allowed as string[]).includes(interval)
    ? (interval as Interval)
    : defaultInterval(s.period, s.from, s.to);

  const metric = get("metric");
  if (metric && (GRAPH_METRICS as readonly string[]).includes(metric)) s.metric = metric as MetricName;

  for (const [k, v] of raw) {
    if (k !== "f" || s.filters.length >= 20) continue;
    const f = parseFilter(v);
    if (f) s.filters.push(f);
  }

  for (const p of PANELS) {
    const t = get(p);
    if (t && (TABS[p] as readonly string[]).includes(t)) (s.tabs as Record<string, string>)[p] = t;
  }
  const goal = get("goal");
  if (goal && goal.length <= 120) s.goal = goal;
  const prop = get("prop");
  if (prop && /^[^\s]{1,200}$/.test(prop)) s.prop = prop;
  const details = get("details");
  if (details && (PANELS as string[]).includes(details)) s.details = details as PanelName;
  return s;
}

/** The query string of a state (with its `?`, or "" for the defaults), defaults left out. */
export function serializeState(s: DashState): string {
  const d = defaultState();
  const out: string[] = [];
  if (s.period !== d.period) out.push("period=" + s.period);
  if (s.period === "custom" && s.from && s.to) out.push("from=" + s.from, "to=" + s.to);
  if (s.compare === "custom") {
    if (s.compareFrom && s.compareTo) out.push("compare=custom", "compare_from=" + s.compareFrom, "compare_to=" + s.compareTo);
  } else if (s.compare) {
    out.push("compare=" + s.compare);
    if (s.matchDayOfWeek) out.push("match_day_of_week=true");
  }
  if (s.interval !== defaultInterval(s.period, s.from, s.to)) out.push("interval=" + s.interval);
  if (s.metric !== d.metric) out.push("metric=" + s.metric);
  for (const f of s.filters) out.push("f=" + serializeFilter(f));
  for (const p of PANELS) if (s.tabs[p] !== d.tabs[p]) out.push(p + "=" + s.tabs[p]);
  if (s.goal) out.push("goal=" + enc(s.goal));
  if (s.prop) out.push("prop=" + enc(s.prop));
  if (s.details) out.push("details=" + s.details);
  return out.length ? "?" + out.join("&") : "";
}

/**
 * A new state with some fields changed. Changing the period resets the interval to the new
 * period's default unless the current one is still allowed.
 */
export function withState(s: DashState, patch: Partial<DashState>): DashState {
  const next = { ...s, ...patch };
  if (patch.period !== undefined && patch.period !== "custom") {
    next.from = null;
    next.to = null;
  }
  if (patch.compare !== undefined && patch.compare !== "custom") {
    next.compareFrom = null;
    next.compareTo = null;
  }
  if (next.compare !== "previous_period" && next.compare !== "year_over_year") next.matchDayOfWeek = false;
  if (patch.interval === undefined) {
    // An interval the owner did not choose follows the period; a chosen one stays while allowed.
    const wasDefault = s.interval === defaultInterval(s.period, s.from, s.to);
    const allowed = allowedIntervals(next.period, next.from, next.to);
    if (wasDefault || !allowed.includes(next.interval)) next.interval = defaultInterval(next.period, next.from, next.to);
  }
  return next;
}

/** The request fields of the state's comparison: none when it is off. */
export function comparisonFields(s: DashState): Pick<QueryRequest, "compare" | "match_day_of_week"> {
  if (s.compare === "custom") return s.compareFrom && s.compareTo ? { compare: [s.compareFrom, s.compareTo] } : {};
  if (!s.compare) return {};
  return s.matchDayOfWeek ? { compare: s.compare, match_day_of_week: true } : { compare: s.compare };
}

/** Adds a filter; an `is` filter on a dimension already filtered with `is` replaces it. */
export function addFilter(filters: Filter[], f: Filter): Filter[] {
  const rest = filters.filter((g) => !(g[1] === f[1] && g[0] === f[0] && (f[0] === "is" || sameValues(g, f))));
  return [...rest, f].slice(-20);
}

function sameValues(a: Filter, b: Filter): boolean {
  return a[2].length === b[2].length && a[2].every((v, i) => v === b[2][i]);
}

export function removeFilter(filters: Filter[], index: number): Filter[] {
  return filters.filter((_, i) => i !== index);
}

/** The query-string keys the dashboard's state reads; any other key belongs to the page. */
const DASH_KEYS = new Set(["period", "from", "to", "compare", "compare_from", "compare_to", "match_day_of_week", "interval", "metric", "f", "goal", "prop", "details", ...PANELS]);

/**
 * Page parameters that only make sense for the period and filters they were made under (the
 * sessions list's page cursors): dropped when the period or the filters change.
 */
export const SCOPED_PAGE_PARAMS: readonly string[] = ["cursor"];

/** The raw `key=value` pairs of a query string that are not the dashboard's (a page's own state). */
export function pageParams(search: string): string[] {
  const q = search.startsWith("?") ? search.slice(1) : search;
  return q.split("&").filter((pair) => {
    if (!pair) return false;
    const i = pair.indexOf("=");
    const k = decode(i < 0 ? pair : pair.slice(0, i));
    return k !== null && !DASH_KEYS.has(k);
  });
}

/** Joins query-string parts (each `?…` or bare `k=v` pairs) into one `?…`, or "" when empty. */
export function joinQuery(...parts: (string | string[])[]): string {
  const pairs = parts.flatMap((p) => (Array.isArray(p) ? p : p.replace(/^\?/, "").split("&"))).filter(Boolean);
  return pairs.length ? "?" + pairs.join("&") : "";
}

/**
 * The query string after a dashboard state change on a page whose URL also holds its own state
 * (`search`, the current one): the new dashboard state, then the page's parameters kept as they
 * were, except the scoped ones when the period or the filters changed.
 */
export function stateSearch(s: DashState, patch: Partial<DashState>, search: string): string {
  const next = withState(s, patch);
  const rescoped =
    next.period !== s.period || next.from !== s.from || next.to !== s.to || serializeFilters(next.filters) !== serializeFilters(s.filters);
  const kept = pageParams(search).filter((pair) => !(rescoped && SCOPED_PAGE_PARAMS.includes(decode(pair.split("=")[0]!) ?? "")));
  return joinQuery(serializeState(next), kept);
}

function serializeFilters(filters: Filter[]): string {
  return filters.map(serializeFilter).join("&");
}

/**
 * What the site's views (dashboard, funnels, journeys, sessions) share when going from one to
 * another: the period and the filters, as a query string ("" for the defaults).
 */
export function sharedQuery(s: DashState): string {
  const d = defaultState();
  return serializeState({ ...d, period: s.period, from: s.from, to: s.to, filters: s.filters, interval: defaultInterval(s.period, s.from, s.to) });
}
