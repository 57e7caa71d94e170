// The own state of the site's funnels, journeys and sessions pages, kept in the URL's query
// string next to the dashboard's period and filters (url-state.ts), so a link, a reload and the
// back button give the same view. Like url-state.ts: parsing never throws (a malformed
// parameter is left out or falls back to its default) and defaults are not written. Pure,
// unit-tested (explore-state.test.ts).
import type { DateRange, Filter, FunnelStepSpec } from "../api/types";
import { decode } from "./url-state";

/** Fewest and most steps of a funnel (the funnel API's bounds, `MAX_FUNNEL_STEPS`). */
export const MIN_FUNNEL_STEPS = 2;
export const MAX_FUNNEL_STEPS = 8;
/** Longest page pattern, event name or goal id a step holds in the URL. */
const MAX_STEP_VALUE = 500;

/** A journey's depths (the journeys API's bounds) and the default. */
export const MIN_JOURNEY_DEPTH = 1;
export const MAX_JOURNEY_DEPTH = 6;
export const DEFAULT_JOURNEY_DEPTH = 3;

/** Most pages back the sessions list remembers (one cursor each in the URL). */
export const MAX_SESSION_PAGES = 50;

export type StepKind = "page" | "event" | "goal";
export const STEP_KINDS: readonly StepKind[] = ["page", "event", "goal"];

/** Encodes a value for the query string, keeping it readable (`/`, `:`, `*` stay as they are). */
function enc(s: string): string {
  return encodeURIComponent(s).replace(/%2F/g, "/").replace(/%3A/g, ":").replace(/%2A/g, "*");
}

/** The query string's pairs, keys and values decoded (malformed ones left out), in order. */
function pairs(search: string): [string, string][] {
  const q = search.startsWith("?") ? search.slice(1) : search;
  const out: [string, string][] = [];
  for (const pair of q.split("&")) {
    if (!pair) continue;
    const i = pair.indexOf("=");
    const k = decode(i < 0 ? pair : pair.slice(0, i));
    const v = decode(i < 0 ? "" : pair.slice(i + 1));
    if (k !== null && v !== null) out.push([k, v]);
  }
  return out;
}

function first(search: string, key: string): string | null {
  return pairs(search).find(([k]) => k === key)?.[1] ?? null;
}

// --- funnels -------------------------------------------------------------------------------

/** A step's kind and value (exactly one of the spec's fields is set by the builder). */
export function stepKind(step: FunnelStepSpec): StepKind {
  return step.page !== undefined ? "page" : step.event !== undefined ? "event" : "goal";
}
export function stepValue(step: FunnelStepSpec): string {
  return step.page ?? step.event ?? step.goal ?? "";
}
export function makeStep(kind: StepKind, value: string): FunnelStepSpec {
  return { [kind]: value };
}

/** `page:/pricing`, `event:Sign up`, `goal:<id>`: one `step=` parameter each, in order. */
export function serializeStep(step: FunnelStepSpec): string {
  return `${stepKind(step)}:${enc(stepValue(step))}`;
}

/** A `step=` value (already decoded), or null when it is not `kind:value` with a known kind. */
export function parseStep(raw: string): FunnelStepSpec | null {
  const i = raw.indexOf(":");
  if (i < 0) return null;
  const kind = raw.slice(0, i);
  const value = raw.slice(i + 1);
  if (!(STEP_KINDS as readonly string[]).includes(kind) || !value.trim() || value.length > MAX_STEP_VALUE) return null;
  return makeStep(kind as StepKind, value);
}

export interface FunnelView {
  /** The steps to show (up to MAX_FUNNEL_STEPS; fewer than 2 means nothing to ask yet). */
  steps: FunnelStepSpec[];
  /** The saved funnel these steps came from, if they are one. */
  funnel: string | null;
}

export function parseFunnelView(search: string): FunnelView {
  const steps: FunnelStepSpec[] = [];
  for (const [k, v] of pairs(search)) {
    if (k !== "step" || steps.length >= MAX_FUNNEL_STEPS) continue;
    const s = parseStep(v);
    if (s) steps.push(s);
  }
  const funnel = first(search, "funnel");
  return { steps, funnel: funnel && /^[0-9a-zA-Z_-]{1,64}$/.test(funnel) ? funnel : null };
}

/** The page's own parameters (`funnel=…&step=…`), to follow the dashboard's. */
export function funnelParams(v: FunnelView): string[] {
  return [...(v.funnel ? ["funnel=" + enc(v.funnel)] : []), ...v.steps.map((s) => "step=" + serializeStep(s))];
}

export function sameSteps(a: FunnelStepSpec[], b: FunnelStepSpec[]): boolean {
  return a.length === b.length && a.every((s, i) => stepKind(s) === stepKind(b[i]!) && stepValue(s) === stepValue(b[i]!));
}

/**
 * The builder's rows as the API wants them: trimmed, empty rows left out; null when fewer than
 * two are left (the form says so rather than send a request the API refuses).
 */
export function cleanSteps(rows: { kind: StepKind; value: string }[]): FunnelStepSpec[] | null {
  const steps = rows.map((r) => ({ kind: r.kind, value: r.value.trim() })).filter((r) => r.value).map((r) => makeStep(r.kind, r.value));
  return steps.length >= MIN_FUNNEL_STEPS && steps.length <= MAX_FUNNEL_STEPS ? steps : null;
}

// --- journeys ------------------------------------------------------------------------------

export interface JourneyView {
  /** The page pattern journeys start at; null: at each session's first step. */
  start: string | null;
  depth: number;
}

export function parseJourneyView(search: string): JourneyView {
  const start = first(search, "start");
  const depth = Number(first(search, "depth"));
  return {
    start: start && start.trim() && start.length <= MAX_STEP_VALUE ? start : null,
    depth: Number.isInteger(depth) && depth >= MIN_JOURNEY_DEPTH && depth <= MAX_JOURNEY_DEPTH ? depth : DEFAULT_JOURNEY_DEPTH,
  };
}

export function journeyParams(v: JourneyView): string[] {
  return [...(v.start ? ["start=" + enc(v.start)] : []), ...(v.depth !== DEFAULT_JOURNEY_DEPTH ? ["depth=" + v.depth] : [])];
}

// --- sessions ------------------------------------------------------------------------------

export interface SessionsView {
  /** Bounds of the visit's duration, in seconds (the API takes milliseconds). */
  minDuration: number | null;
  maxDuration: number | null;
  minPageviews: number | null;
  maxPageviews: number | null;
  /** The cursors of the pages walked through, oldest first; the last one is the page shown. */
  cursors: string[];
}

const BOUNDS = [
  ["minDuration", "min_duration"],
  ["maxDuration", "max_duration"],
  ["minPageviews", "min_pageviews"],
  ["maxPageviews", "max_pageviews"],
] as const;

/** A whole number of at most 9 digits, or null. */
function count(raw: string | null): number | null {
  return raw !== null && /^\d{1,9}$/.test(raw) ? Number(raw) : null;
}

export function parseSessionsView(search: string): SessionsView {
  const v: SessionsView = { minDuration: null, maxDuration: null, minPageviews: null, maxPageviews: null, cursors: [] };
  for (const [field, key] of BOUNDS) v[field] = count(first(search, key));
  for (const [k, c] of pairs(search)) {
    if (k === "cursor" && /^[\w.~-]{1,500}$/.test(c) && v.cursors.length < MAX_SESSION_PAGES) v.cursors.push(c);
  }
  return v;
}

export function sessionsParams(v: SessionsView): string[] {
  const out: string[] = [];
  for (const [field, key] of BOUNDS) if (v[field] !== null) out.push(`${key}=${v[field]}`);
  for (const c of v.cursors) out.push("cursor=" + enc(c));
  return out;
}

/**
 * The sessions API's query string (`GET /api/v1/projects/{id}/sessions?…`): the period (a name,
 * or two dates as a JSON array), the time zone, the filters as JSON, the view's bounds in
 * milliseconds and its page's cursor.
 */
export function sessionsApiQuery(scope: { date_range: DateRange; timezone: string; filters?: Filter[] }, v: SessionsView, limit: number): string {
  const q = new URLSearchParams();
  // The sessions API takes a custom range as two dates separated by a comma (docs/query-api.md).
  q.set("date_range", typeof scope.date_range === "string" ? scope.date_range : scope.date_range.join(","));
  q.set("timezone", scope.timezone);
  if (scope.filters?.length) q.set("filters", JSON.stringify(scope.filters));
  for (const [k, value] of sessionsApiParams(v, limit)) q.set(k, value);
  return q.toString();
}

/** The sessions API's own parameters for a view (its period and filters are added by the page). */
export function sessionsApiParams(v: SessionsView, limit: number): [string, string][] {
  const out: [string, string][] = [["limit", String(limit)]];
  if (v.minDuration !== null) out.push(["min_duration_ms", String(v.minDuration * 1000)]);
  if (v.maxDuration !== null) out.push(["max_duration_ms", String(v.maxDuration * 1000)]);
  if (v.minPageviews !== null) out.push(["min_pageviews", String(v.minPageviews)]);
  if (v.maxPageviews !== null) out.push(["max_pageviews", String(v.maxPageviews)]);
  const cursor = v.cursors[v.cursors.length - 1];
  if (cursor) out.push(["cursor", cursor]);
  return out;
}
