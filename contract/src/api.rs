//! The JSON bodies of the owners' HTTP API (`/api/v1/…`): accounts, sites, keys, tokens and share
//! links. (The query API's answer is `query::response`; its request is parsed field by field by
//! `query::request` for precise errors.) The dashboard's TypeScript types are generated from these
//! (`web/src/api/generated.ts`, checked by `collector/tests/web_types.rs`), so the app and the
//! server cannot drift apart.
//!
//! Times are RFC 3339 strings in UTC with milliseconds. Ids are 24 hex characters.

use serde::{Deserialize, Serialize};

macro_rules! api_type {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        $vis struct $name { $($body)* }
    };
}

api_type! {
    /// An owner account (`GET /api/v1/me`, sign-up, login).
    pub struct User {
        pub id: String,
        pub email: String,
        pub created_at: String,
    }
}

api_type! {
    /// `202` to `POST /api/v1/users`: the same answer whether the email was free (the account now
    /// exists) or already had an account (nothing changed), so sign-up does not tell which emails
    /// have accounts. Sign in next with the same email and password.
    pub struct SignUpAccepted {
        pub email: String,
        pub note: String,
    }
}

api_type! {
    /// `GET /api/v1/instance`: what the sign-in page needs before anyone is signed in.
    pub struct Instance {
        /// Whether `POST /api/v1/users` creates accounts here.
        pub allow_signup: bool,
    }
}

api_type! {
    /// `GET /api/v1/session`: who is signed in (null when nobody), and whether sign-up is open.
    /// Always 200, so the app's first request tells both without an error in the console.
    pub struct Session {
        pub user: Option<User>,
        pub allow_signup: bool,
    }
}

api_type! {
    /// A site (project) of an owner.
    pub struct Project {
        pub id: String,
        pub name: String,
        /// The site's hostname (`example.com`), or null when not given.
        pub domain: Option<String>,
        /// The IANA time zone the dashboard reports the site in.
        pub timezone: String,
        pub created_at: String,
    }
}

api_type! {
    /// `GET /api/v1/projects`.
    pub struct ProjectList {
        /// Newest first.
        pub projects: Vec<Project>,
    }
}

api_type! {
    /// `GET /api/v1/projects/{id}/status`.
    pub struct ProjectStatus {
        /// When the site's earliest stored event occurred; null while none has arrived.
        pub first_event_at: Option<String>,
    }
}

api_type! {
    /// An ingestion key as listed: a preview, never the key.
    pub struct Key {
        pub id: String,
        pub project_id: String,
        pub label: String,
        /// The key's first characters (`mtr_ab12…`).
        pub preview: String,
        pub created_at: String,
        pub last_used_at: Option<String>,
        pub revoked_at: Option<String>,
    }
}

api_type! {
    /// `GET /api/v1/projects/{id}/keys`.
    pub struct KeyList {
        /// Newest first.
        pub keys: Vec<Key>,
    }
}

api_type! {
    /// `POST /api/v1/projects/{id}/keys`: the new key, shown this once.
    pub struct CreatedKey {
        #[serde(flatten)]
        #[cfg_attr(feature = "ts", ts(flatten))]
        pub record: Key,
        /// The key itself (`mtr_…`), for the site's `<script data-key=…>`.
        pub key: String,
        pub note: String,
    }
}

api_type! {
    /// A bearer token for scripts, as listed (never the token).
    pub struct ApiToken {
        /// A stable id for revoking it (not a secret).
        pub id: String,
        pub label: String,
        pub created_at: String,
    }
}

api_type! {
    /// `GET /api/v1/tokens`.
    pub struct TokenList {
        /// Newest first.
        pub tokens: Vec<ApiToken>,
    }
}

api_type! {
    /// `POST /api/v1/tokens`: the new token, shown this once.
    pub struct CreatedToken {
        #[serde(flatten)]
        #[cfg_attr(feature = "ts", ts(flatten))]
        pub record: ApiToken,
        /// `mtt_…`: send it as `Authorization: Bearer <token>`.
        pub token: String,
        pub note: String,
    }
}

api_type! {
    /// A public, read-only link to a site's dashboard.
    pub struct ShareLink {
        pub id: String,
        pub label: String,
        pub slug: String,
        /// `/share/<slug>`: the collector's origin in front of it gives the link.
        pub path: String,
        pub has_password: bool,
        pub created_at: String,
    }
}

api_type! {
    /// `GET /api/v1/projects/{id}/shares`.
    pub struct ShareList {
        /// Newest first.
        pub shares: Vec<ShareLink>,
    }
}

api_type! {
    /// `GET /api/v1/share/{slug}`: what a signed-out visitor of a share link may see.
    pub struct SharedSite {
        pub project: Project,
        pub password_required: bool,
        /// True when no password is needed or it was given (a cookie scoped to the link remembers it).
        pub unlocked: bool,
    }
}

// --- requests ---------------------------------------------------------------------------------

api_type! {
    /// `POST /api/v1/users` and `POST /api/v1/login`.
    pub struct Credentials {
        pub email: String,
        pub password: String,
    }
}

api_type! {
    /// `POST /api/v1/me/password`.
    pub struct PasswordChange {
        pub current_password: String,
        pub new_password: String,
    }
}

api_type! {
    /// `POST /api/v1/projects`.
    pub struct NewProject {
        pub name: String,
        /// A hostname; a pasted `https://…/` URL is accepted and reduced to its host.
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional))]
        pub domain: Option<String>,
        /// An IANA time zone name; UTC when left out.
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional))]
        pub timezone: Option<String>,
    }
}

api_type! {
    /// `PATCH /api/v1/projects/{id}`: fields left out stay as they are; `domain: ""` removes it.
    pub struct ProjectPatch {
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional))]
        pub name: Option<String>,
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional))]
        pub domain: Option<String>,
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional))]
        pub timezone: Option<String>,
    }
}

api_type! {
    /// `POST /api/v1/projects/{id}/keys` and `POST /api/v1/tokens`.
    pub struct NewLabelled {
        pub label: String,
    }
}

api_type! {
    /// `POST /api/v1/projects/{id}/shares`.
    pub struct NewShareLink {
        pub label: String,
        /// Visitors of the link must give it first; no password when left out or empty.
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional))]
        pub password: Option<String>,
    }
}

api_type! {
    /// `POST /api/v1/share/{slug}/unlock`.
    pub struct ShareUnlock {
        pub password: String,
    }
}

// --- goals, funnels, journeys and sessions (docs/query-api.md) ----------------------------------

api_type! {
    /// A conversion goal of a site: a custom event by name, or page views of a page pattern
    /// (`*` matches any run of characters, `/docs/*`). Exactly one of `event` and `page` is set.
    pub struct Goal {
        pub id: String,
        /// What the dashboard shows and `["is", "goal", [name]]` filters by: the event name, or
        /// `Visit /docs/*` for a page goal.
        pub name: String,
        pub event: Option<String>,
        pub page: Option<String>,
        pub created_at: String,
    }
}

api_type! {
    /// `GET /api/v1/projects/{id}/goals`.
    pub struct GoalList {
        /// Oldest first (the order they were added in).
        pub goals: Vec<Goal>,
    }
}

api_type! {
    /// `POST /api/v1/projects/{id}/goals`: exactly one of `event` and `page`.
    pub struct NewGoal {
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional))]
        pub event: Option<String>,
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional))]
        pub page: Option<String>,
    }
}

api_type! {
    /// An owner's note on a date of a site's graph ("launched the new pricing page").
    pub struct Annotation {
        pub id: String,
        /// The local date of the site's time zone the note is on (`2026-11-03`).
        pub date: String,
        /// One line, at most 200 characters.
        pub text: String,
        pub created_at: String,
    }
}

api_type! {
    /// `GET /api/v1/projects/{id}/annotations` (and a share link's `.../annotations`).
    pub struct AnnotationList {
        /// By date, then in the order they were written.
        pub annotations: Vec<Annotation>,
    }
}

api_type! {
    /// `POST /api/v1/projects/{id}/annotations`.
    pub struct NewAnnotation {
        /// A local date (`2026-11-03`) between 2000-01-01 and 2099-12-31.
        pub date: String,
        /// Trimmed; one line of 1 to 200 characters.
        pub text: String,
    }
}

api_type! {
    /// A saved segment: a named set of the dashboard's filters of one site ("Paid traffic from
    /// Germany"), which the dashboard applies by copying its filters into its URL.
    pub struct Segment {
        pub id: String,
        pub name: String,
        /// 1 to 20 filters as the query API takes them: `[operator, dimension, [values]]`
        /// (`[["is", "country", ["DE"]], ["is", "utm_medium", ["cpc"]]]`).
        pub filters: Vec<(String, String, Vec<String>)>,
        pub created_at: String,
    }
}

api_type! {
    /// `GET /api/v1/projects/{id}/segments`.
    pub struct SegmentList {
        /// Oldest first.
        pub segments: Vec<Segment>,
    }
}

api_type! {
    /// `POST /api/v1/projects/{id}/segments`.
    pub struct NewSegment {
        /// Trimmed; 1 to 100 characters, unique in the site regardless of case.
        pub name: String,
        /// 1 to 20 filters, each valid in a query (`query::check_filters`).
        pub filters: Vec<(String, String, Vec<String>)>,
    }
}

api_type! {
    /// One step of a funnel: exactly one of a page pattern, a custom event name, or a goal id.
    pub struct FunnelStepSpec {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        pub page: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        pub event: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        pub goal: Option<String>,
    }
}

api_type! {
    /// One step of `POST /api/v1/funnel`'s answer.
    pub struct FunnelStep {
        /// The page pattern, the event name, or the goal's name.
        pub label: String,
        /// Distinct visitors with a session (started in the range, passing the filters) that
        /// reached this step: every earlier step, in order, within the session.
        pub visitors: u64,
        /// `visitors` as a percentage of the first step's, 2 decimals (100 for the first step,
        /// 0 when nobody reached it).
        pub conversion_rate: f64,
        /// The previous step's visitors minus this step's (0 for the first step).
        pub drop_off: u64,
        /// `drop_off` as a percentage of the previous step's visitors, 2 decimals (0 for the
        /// first step, or when the previous step had no visitor).
        pub drop_off_rate: f64,
        /// Median time from the previous step to this one over the sessions that reached it,
        /// milliseconds (the lower median of an even count); null for the first step and when no
        /// session reached it.
        pub median_ms_from_previous: Option<u64>,
    }
}

api_type! {
    /// `POST /api/v1/funnel`.
    pub struct FunnelResult {
        pub steps: Vec<FunnelStep>,
        /// The resolved range, `[from, to)` as RFC 3339 instants, and the time zone.
        pub date_range: Vec<String>,
        pub timezone: String,
    }
}

api_type! {
    /// A funnel saved for the dashboard.
    pub struct SavedFunnel {
        pub id: String,
        pub name: String,
        pub steps: Vec<FunnelStepSpec>,
        pub created_at: String,
    }
}

api_type! {
    /// `GET /api/v1/projects/{id}/funnels`.
    pub struct SavedFunnelList {
        /// Oldest first.
        pub funnels: Vec<SavedFunnel>,
    }
}

api_type! {
    /// `POST /api/v1/projects/{id}/funnels`.
    pub struct NewSavedFunnel {
        pub name: String,
        pub steps: Vec<FunnelStepSpec>,
    }
}

api_type! {
    /// A node of a journey: what a session did at one depth, a page view (`kind: "page"`, the
    /// path) or a custom event (`kind: "event"`, its name).
    pub struct JourneyNode {
        /// 1 for the start, up to the request's depth.
        pub depth: u32,
        pub kind: String,
        pub value: String,
        /// Distinct visitors with a session at this node.
        pub visitors: u64,
    }
}

api_type! {
    /// A link between a node at one depth and a node at the next (indexes into `nodes`).
    pub struct JourneyLink {
        pub from: u32,
        pub to: u32,
        pub visitors: u64,
    }
}

api_type! {
    /// Visitors reaching one depth of the journeys, and how many went no further.
    pub struct JourneyDepth {
        pub depth: u32,
        pub visitors: u64,
        /// This depth's visitors minus the next depth's (at the last depth: those whose session
        /// ended there).
        pub drop_off: u64,
    }
}

api_type! {
    /// One whole path from the start, with its visitors.
    pub struct JourneyPath {
        pub steps: Vec<JourneyNodeRef>,
        pub visitors: u64,
    }
}

api_type! {
    /// A step of a path: a page or an event, as in [`JourneyNode`].
    pub struct JourneyNodeRef {
        pub kind: String,
        pub value: String,
    }
}

api_type! {
    /// `POST /api/v1/journeys`: the top nodes per depth and the links between them (what a
    /// Sankey diagram draws), the most frequent whole paths, and the drop-off per depth.
    pub struct JourneyResult {
        pub nodes: Vec<JourneyNode>,
        pub links: Vec<JourneyLink>,
        pub paths: Vec<JourneyPath>,
        pub depths: Vec<JourneyDepth>,
        pub date_range: Vec<String>,
        pub timezone: String,
    }
}

api_type! {
    /// A visit as the session explorer lists it: no visitor id, no address.
    pub struct SessionSummary {
        pub id: String,
        pub started_at: String,
        pub ended_at: String,
        pub duration_ms: u64,
        pub pageviews: u32,
        pub events: u32,
        pub custom_events: u32,
        pub bounce: bool,
        pub entry_page: String,
        pub exit_page: String,
        pub hostname: String,
        pub source: Option<String>,
        pub referrer: Option<String>,
        pub utm_source: Option<String>,
        pub utm_medium: Option<String>,
        pub utm_campaign: Option<String>,
        pub browser: String,
        pub os: String,
        pub device: String,
        pub country: Option<String>,
        pub region: Option<String>,
        pub city: Option<String>,
    }
}

api_type! {
    /// `GET /api/v1/projects/{id}/sessions`: newest first.
    pub struct SessionList {
        pub sessions: Vec<SessionSummary>,
        /// Pass as `cursor` for the next page; null on the last page.
        pub next_cursor: Option<String>,
    }
}

api_type! {
    /// One event of a session's timeline.
    pub struct SessionEvent {
        pub at: String,
        /// `pageview`, `path_change`, `page_exit` or a custom event's name.
        pub name: String,
        pub path: String,
        pub duration_ms: Option<u64>,
        pub scroll_depth: Option<u32>,
        pub props: std::collections::BTreeMap<String, String>,
    }
}

api_type! {
    /// `GET /api/v1/projects/{id}/sessions/{session_id}`: the session and its events in order.
    pub struct SessionDetail {
        pub session: SessionSummary,
        pub events: Vec<SessionEvent>,
        /// Whether the session has more events than the answer holds (`MAX_SESSION_EVENTS`).
        pub truncated: bool,
    }
}
