// Generated from the Rust types (contract::api, query::response, query::request) by
// `UPDATE_WEB_TYPES=1 cargo test -p collector --test web_types`. Do not edit by hand.

export type User = { id: string, email: string, created_at: string, };

export type SignUpAccepted = { email: string, note: string, };

export type Instance = { 
/**
 * Whether `POST /api/v1/users` creates accounts here.
 */
allow_signup: boolean, };

export type Session = { user: User | null, allow_signup: boolean, };

export type Project = { id: string, name: string, 
/**
 * The site's hostname (`example.com`), or null when not given.
 */
domain: string | null, 
/**
 * The IANA time zone the dashboard reports the site in.
 */
timezone: string, created_at: string, };

export type ProjectList = { 
/**
 * Newest first.
 */
projects: Array<Project>, };

export type ProjectStatus = { 
/**
 * When the site's earliest stored event occurred; null while none has arrived.
 */
first_event_at: string | null, };

export type Key = { id: string, project_id: string, label: string, 
/**
 * The key's first characters (`mtr_ab12…`).
 */
preview: string, created_at: string, last_used_at: string | null, revoked_at: string | null, };

export type KeyList = { 
/**
 * Newest first.
 */
keys: Array<Key>, };

export type CreatedKey = { 
/**
 * The key itself (`mtr_…`), for the site's `<script data-key=…>`.
 */
key: string, note: string, id: string, project_id: string, label: string, 
/**
 * The key's first characters (`mtr_ab12…`).
 */
preview: string, created_at: string, last_used_at: string | null, revoked_at: string | null, };

export type ApiToken = { 
/**
 * A stable id for revoking it (not a secret).
 */
id: string, label: string, created_at: string, };

export type TokenList = { 
/**
 * Newest first.
 */
tokens: Array<ApiToken>, };

export type CreatedToken = { 
/**
 * `mtt_…`: send it as `Authorization: Bearer <token>`.
 */
token: string, note: string, 
/**
 * A stable id for revoking it (not a secret).
 */
id: string, label: string, created_at: string, };

export type ShareLink = { id: string, label: string, slug: string, 
/**
 * `/share/<slug>`: the collector's origin in front of it gives the link.
 */
path: string, has_password: boolean, created_at: string, };

export type ShareList = { 
/**
 * Newest first.
 */
shares: Array<ShareLink>, };

export type SharedSite = { project: Project, password_required: boolean, 
/**
 * True when no password is needed or it was given (a cookie scoped to the link remembers it).
 */
unlocked: boolean, };

export type Credentials = { email: string, password: string, };

export type PasswordChange = { current_password: string, new_password: string, };

export type NewProject = { name: string, 
/**
 * A hostname; a pasted `https://…/` URL is accepted and reduced to its host.
 */
domain?: string, 
/**
 * An IANA time zone name; UTC when left out.
 */
timezone?: string, };

export type ProjectPatch = { name?: string, domain?: string, timezone?: string, };

export type NewLabelled = { label: string, };

export type NewShareLink = { label: string, 
/**
 * Visitors of the link must give it first; no password when left out or empty.
 */
password?: string, };

export type ShareUnlock = { password: string, };

export type ComparisonValues = { 
/**
 * The comparison row's own dimension values (for time dimensions, the earlier period's labels).
 */
dimensions: Array<number | string | null>, metrics: Array<number | string | null>, 
/**
 * Per metric, the [`percent_change`] from the comparison value to the current one; `None`
 * (null) when the previous value is 0.
 */
change: Array<number | null>, };

export type Row = { 
/**
 * One value per dimension column (two for the heatmap: weekday, hour).
 */
dimensions: Array<number | string | null>, 
/**
 * One value per metric, in the requested order.
 */
metrics: Array<number | string | null>, comparison?: ComparisonValues, };

export type Totals = { metrics: Array<number | string | null>, comparison?: ComparisonValues, };

export type Meta = { 
/**
 * The range as local ISO wall times, `[from, to)`: `["2026-01-05T00:00:00", "2026-01-12T00:00:00"]`.
 */
date_range: [string, string], comparison_date_range?: [string, string], 
/**
 * The IANA name of the time zone.
 */
timezone: string, 
/**
 * Where the numbers came from: `"rollup"`, `"raw"` or `"rollup+raw"`.
 */
source: "rollup" | "raw" | "rollup+raw", 
/**
 * Whether `visitors` are exact counts (false when merged from approximate sketches).
 */
visitors_exact: boolean, took_ms: number, };

export type QueryResult = { 
/**
 * The dimension columns (the heatmap gives `weekday`, `hour`), then the metric names.
 */
columns: Array<string>, results: Array<Row>, totals: Totals, meta: Meta, };

/** Every metric of the query API (docs/query-api.md, Metrics). */
export const METRICS = ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration", "time_on_page", "scroll_depth", "events", "conversion_rate", "live_visitors"] as const;
export type MetricName = (typeof METRICS)[number];

/** The fields a query groups and filters by (besides `props.<key>`). */
export const FIELDS = ["page", "entry_page", "exit_page", "hostname", "source", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "browser", "os", "device", "country", "region", "city", "event_name"] as const;
export type FieldName = (typeof FIELDS)[number] | `props.${string}`;

/** Most rows one query returns. */
export const MAX_LIMIT = 10000;
/** Most filters in one query. */
export const MAX_FILTERS = 20;
