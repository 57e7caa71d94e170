// How dimensions, their values and filters read on screen: "Country is France", "🇫🇷 France",
// "Direct / None". Pure, unit-tested (dimensions.test.ts).
import type { Filter, MetricName } from "../api/types";

const DIMENSION_LABEL: Record<string, string> = {
  page: "Page",
  entry_page: "Entry page",
  exit_page: "Exit page",
  hostname: "Hostname",
  source: "Source",
  referrer: "Referrer",
  utm_source: "UTM source",
  utm_medium: "UTM medium",
  utm_campaign: "UTM campaign",
  utm_term: "UTM term",
  utm_content: "UTM content",
  browser: "Browser",
  os: "Operating system",
  device: "Device",
  country: "Country",
  region: "Region",
  city: "City",
  event_name: "Event",
  goal: "Goal",
};

/**
 * Dimensions the filter dialog offers (props.<key> is typed in). Not goals: a goal filter takes
 * only is / is not, and the goals panel's rows set it.
 */
export const FILTER_DIMENSIONS = Object.keys(DIMENSION_LABEL).filter((d) => d !== "goal");

export function dimensionLabel(dim: string): string {
  if (dim.startsWith("props.")) return `Property ${dim.slice(6)}`;
  return DIMENSION_LABEL[dim] ?? dim;
}

const SESSION_DIMS = new Set(["source", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"]);

let regionNames: Intl.DisplayNames | null | undefined;
// Names already looked up: the map and the locations panel ask for every country on each render.
const countryNames = new Map<string, string>();
/** "FR" → "France" (English names, whatever the browser's language: stable for tests). */
export function countryName(code: string): string {
  let name = countryNames.get(code);
  if (name === undefined) {
    name = lookUpCountry(code);
    // Codes come from visitors' data: bounded by starting over rather than growing forever.
    if (countryNames.size >= 1000) countryNames.clear();
    countryNames.set(code, name);
  }
  return name;
}

function lookUpCountry(code: string): string {
  if (regionNames === undefined) {
    try {
      regionNames = new Intl.DisplayNames(["en"], { type: "region" });
    } catch {
      regionNames = null;
    }
  }
  if (!/^[A-Za-z]{2}$/.test(code) || !regionNames) return code;
  try {
    return regionNames.of(code.toUpperCase()) ?? code;
  } catch {
    return code;
  }
}

/** "FR" → 🇫🇷 (two regional indicator symbols); "" for anything that is not two letters. */
export function flag(code: string): string {
  if (!/^[A-Za-z]{2}$/.test(code)) return "";
  const A = 0x1f1e6;
  const up = code.toUpperCase();
  return String.fromCodePoint(A + up.charCodeAt(0) - 65, A + up.charCodeAt(1) - 65);
}

/** A dimension value as people read it (no flag: see `flag`). */
export function valueLabel(dim: string, value: string | number | null): string {
  const v = value === null ? "" : String(value);
  if (v === "") return SESSION_DIMS.has(dim) ? "Direct / None" : "(none)";
  if (dim === "country") return countryName(v);
  if (dim === "device") return v.charAt(0).toUpperCase() + v.slice(1);
  return v;
}

const OP_LABEL: Record<string, string> = { is: "is", is_not: "is not", contains: "contains", matches: "matches" };
export function opLabel(op: string): string {
  return OP_LABEL[op] ?? op;
}

/** "Country is France or Belgium", "Page contains /blog/". */
export function filterLabel(f: Filter): string {
  const [op, dim, values] = f;
  const vals = op === "is" || op === "is_not" ? values.map((v) => valueLabel(dim, v)) : values;
  const joined = vals.length <= 2 ? vals.join(" or ") : `${vals.slice(0, 2).join(", ")} or ${vals.length - 2} more`;
  return `${dimensionLabel(dim)} ${opLabel(op)} ${joined}`;
}

/** Metrics counting sessions: refused with an event_name, props.* or goal filter (docs/query-api.md). */
export const SESSION_METRICS = new Set<MetricName>(["visits", "bounce_rate", "visit_duration", "views_per_visit"]);

/** True when a filter makes session metrics unavailable. */
export function hasEventFilter(filters: Filter[]): boolean {
  return filters.some((f) => !isSessionFilter(f));
}

/**
 * Whether a filter is on a session's fields, the only ones funnels, journeys and the sessions
 * list take (`page` is then the entry page): not on events' names, properties or goals.
 */
export function isSessionFilter(f: Filter): boolean {
  return f[1] !== "event_name" && f[1] !== "goal" && !f[1].startsWith("props.");
}

/** The metrics of a list that the filters allow. */
export function allowedMetrics(metrics: MetricName[], filters: Filter[]): MetricName[] {
  if (!hasEventFilter(filters)) return metrics;
  const out = metrics.filter((m) => !SESSION_METRICS.has(m));
  return out.length ? out : ["visitors"];
}

/** `<site>-<period>.csv`, safe as a file name. */
export function csvName(site: string, period: string): string {
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9.]+/g, "-").replace(/^-+|-+$/g, "");
  return `${clean(site) || "site"}-${clean(period) || "period"}.csv`;
}
