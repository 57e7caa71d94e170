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

export type Goal = { id: string, 
/**
 * What the dashboard shows and `["is", "goal", [name]]` filters by: the event name, or
 * `Visit /docs/*` for a page goal.
 */
name: string, event: string | null, page: string | null, created_at: string, };

export type GoalList = { 
/**
 * Oldest first (the order they were added in).
 */
goals: Array<Goal>, };

export type NewGoal = { event?: string, page?: string, };

export type Annotation = { id: string, 
/**
 * The local date of the site's time zone the note is on (`2026-11-03`).
 */
date: string, 
/**
 * One line, at most 200 characters.
 */
text: string, created_at: string, };

export type AnnotationList = { 
/**
 * By date, then in the order they were written.
 */
annotations: Array<Annotation>, };

export type NewAnnotation = { 
/**
 * A local date (`2026-11-03`) between 2000-01-01 and 2099-12-31.
 */
date: string, 
/**
 * Trimmed; one line of 1 to 200 characters.
 */
text: string, };

export type Segment = { id: string, name: string, 
/**
 * 1 to 20 filters as the query API takes them: `[operator, dimension, [values]]`
 * (`[["is", "country", ["DE"]], ["is", "utm_medium", ["cpc"]]]`).
 */
filters: Array<[string, string, Array<string>]>, created_at: string, };

export type SegmentList = { 
/**
 * Oldest first.
 */
segments: Array<Segment>, };

export type NewSegment = { 
/**
 * Trimmed; 1 to 100 characters, unique in the site regardless of case.
 */
name: string, 
/**
 * 1 to 20 filters, each valid in a query (`query::check_filters`).
 */
filters: Array<[string, string, Array<string>]>, };

export type FunnelStepSpec = { page?: string, event?: string, goal?: string, };

export type FunnelStep = { 
/**
 * The page pattern, the event name, or the goal's name.
 */
label: string, 
/**
 * Distinct visitors with a session (started in the range, passing the filters) that
 * reached this step: every earlier step, in order, within the session.
 */
visitors: number, 
/**
 * `visitors` as a percentage of the first step's, 2 decimals (100 for the first step,
 * 0 when nobody reached it).
 */
conversion_rate: number, 
/**
 * The previous step's visitors minus this step's (0 for the first step).
 */
drop_off: number, 
/**
 * `drop_off` as a percentage of the previous step's visitors, 2 decimals (0 for the
 * first step, or when the previous step had no visitor).
 */
drop_off_rate: number, 
/**
 * Median time from the previous step to this one over the sessions that reached it,
 * milliseconds (the lower median of an even count); null for the first step and when no
 * session reached it.
 */
median_ms_from_previous: number | null, };

export type FunnelResult = { steps: Array<FunnelStep>, 
/**
 * The resolved range, `[from, to)` as RFC 3339 instants, and the time zone.
 */
date_range: Array<string>, timezone: string, };

export type SavedFunnel = { id: string, name: string, steps: Array<FunnelStepSpec>, created_at: string, };

export type SavedFunnelList = { 
/**
 * Oldest first.
 */
funnels: Array<SavedFunnel>, };

export type NewSavedFunnel = { name: string, steps: Array<FunnelStepSpec>, };

export type JourneyNode = { 
/**
 * 1 for the start, up to the request's depth.
 */
depth: number, kind: string, value: string, 
/**
 * Distinct visitors with a session at this node.
 */
visitors: number, };

export type JourneyLink = { from: number, to: number, visitors: number, };

export type JourneyDepth = { depth: number, visitors: number, 
/**
 * This depth's visitors minus the next depth's (at the last depth: those whose session
 * ended there).
 */
drop_off: number, };

export type JourneyPath = { steps: Array<JourneyNodeRef>, visitors: number, };

export type JourneyNodeRef = { kind: string, value: string, };

export type JourneyResult = { nodes: Array<JourneyNode>, links: Array<JourneyLink>, paths: Array<JourneyPath>, depths: Array<JourneyDepth>, date_range: Array<string>, timezone: string, };

export type SessionSummary = { id: string, started_at: string, ended_at: string, duration_ms: number, pageviews: number, events: number, custom_events: number, bounce: boolean, entry_page: string, exit_page: string, hostname: string, source: string | null, referrer: string | null, utm_source: string | null, utm_medium: string | null, utm_campaign: string | null, browser: string, os: string, device: string, country: string | null, region: string | null, city: string | null, };

export type SessionList = { sessions: Array<SessionSummary>, 
/**
 * Pass as `cursor` for the next page; null on the last page.
 */
next_cursor: string | null, };

export type SessionEvent = { at: string, 
/**
 * `pageview`, `path_change`, `page_exit` or a custom event's name.
 */
name: string, path: string, duration_ms: number | null, scroll_depth: number | null, props: { [key in string]: string }, };

export type SessionDetail = { session: SessionSummary, events: Array<SessionEvent>, 
/**
 * Whether the session has more events than the answer holds (`MAX_SESSION_EVENTS`).
 */
truncated: boolean, };

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
