//! The collector's storage interface.
//!
//! One [`Store`] trait with two backends: `store-sqlite` (embedded, the default, so a newcomer
//! needs no database) and `store-mongo` (MongoDB, for production). Both pass the same
//! [`conformance`] suite. What does not depend on the database lives here as plain functions:
//! the domain records ([`model`]), id minting ([`ids`]) and the session folding ([`sessions`]),
//! so both backends store the same sessions for the same events.

pub mod analytics;
pub mod annotations;
pub mod funnels;
pub mod goals;
pub mod ids;
pub mod model;
pub mod segments;
pub mod sessions;
pub mod trail;

#[cfg(feature = "conformance")]
pub mod analytics_conformance;
#[cfg(feature = "conformance")]
pub mod annotations_conformance;
#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "conformance")]
pub mod funnel_conformance;
#[cfg(feature = "conformance")]
pub mod goals_conformance;
#[cfg(feature = "conformance")]
pub mod journeys_conformance;
#[cfg(feature = "conformance")]
pub mod segments_conformance;

use analytics::{
    DirtyHour, EventGroup, Expired, Granularity, RawQuery, Retention, RollupDim, RollupRow, RollupSummary,
    SessionGroup, StoredRollup,
};
use async_trait::async_trait;
use contract::enrich::VisitorId;
use contract::enriched::EnrichedEvent;
use contract::ids::ProjectId;
use contract::keys::KeyHash;

pub use annotations::{Annotation, AnnotationText, MAX_ANNOTATIONS_PER_PROJECT};
pub use goals::{Goal, GoalKind, MAX_GOALS_PER_PROJECT};
pub use ids::{AnnotationId, GoalId, SegmentId};
pub use ids::{KeyId, ShareId, UserId};
pub use model::*;
pub use segments::{Segment, SegmentFilter, SegmentFilters, MAX_SEGMENTS_PER_PROJECT, MAX_SEGMENT_FILTERS};
pub use sessions::Session;

/// Milliseconds since the Unix epoch, UTC. The one time representation inside the collector.
pub type Millis = i64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (an email already registered, …).
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The database failed or could not be reached.
    #[error("storage backend error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// An analytics read ran past its time budget ([`ANALYTICS_TIME_BUDGET`]) and was cancelled.
    #[error("the query ran longer than {0:?} and was cancelled")]
    TimedOut(std::time::Duration),
}

/// Longest one analytics read (a raw aggregation or a rollup read) may run before the backend
/// cancels it: SQLite interrupts the statement, MongoDB is sent `maxTimeMS`. A dashboard query
/// makes a few such reads at once, so this also bounds the query.
pub const ANALYTICS_TIME_BUDGET: std::time::Duration = std::time::Duration::from_secs(30);

impl StoreError {
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(e))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What an ingest did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct IngestReport {
    /// Events stored for the first time.
    pub stored: usize,
    /// Events already stored earlier (a retried request): not stored or counted again.
    pub duplicates: usize,
}

/// Everything the collector keeps. Implementations must be safe to share between tasks, and
/// (for MongoDB) between processes: see [`Store::ingest`].
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Short name for logs and metrics: `sqlite` or `mongodb`.
    fn backend_name(&self) -> &'static str;

    /// Succeeds when the database answers.
    async fn health(&self) -> Result<()>;

    // --- owners ---------------------------------------------------------------------------
    /// Fails with [`StoreError::Conflict`] when the email is taken.
    async fn create_user(&self, user: &User) -> Result<()>;
    async fn user_by_email(&self, email: &Email) -> Result<Option<User>>;
    async fn user_by_id(&self, id: &UserId) -> Result<Option<User>>;
    /// Replaces the user's password hash (Argon2id PHC string). Returns whether the user exists.
    async fn update_password(&self, user: &UserId, password_hash: &str) -> Result<bool>;

    // --- login sessions and bearer tokens (stored by hash) ----------------------------------
    async fn create_auth_token(&self, token: &AuthToken) -> Result<()>;
    /// The token's record if it exists and has not expired at `now`.
    async fn auth_token(&self, token_hash: &str, now: Millis) -> Result<Option<AuthToken>>;
    async fn delete_auth_token(&self, token_hash: &str) -> Result<()>;
    /// Every token of the user, of every kind, newest first (ties by hash), expired ones included:
    /// the caller decides what to show.
    async fn auth_tokens_of(&self, user: &UserId) -> Result<Vec<AuthToken>>;
    /// Deletes the user's tokens of `kind` except the one with hash `except_hash` ("sign out my
    /// other sessions" after a password change). Returns how many were deleted.
    async fn delete_auth_tokens_of(&self, user: &UserId, kind: TokenKind, except_hash: Option<&str>) -> Result<u64>;

    // --- projects and keys ------------------------------------------------------------------
    async fn create_project(&self, project: &Project) -> Result<()>;
    async fn project(&self, id: &ProjectId) -> Result<Option<Project>>;
    /// Newest first.
    async fn projects_of(&self, owner: &UserId) -> Result<Vec<Project>>;
    /// Writes the name, domain and time zone of the project with `project.id` (its owner and
    /// creation time never change). Returns whether the project exists.
    async fn update_project(&self, project: &Project) -> Result<bool>;
    /// Deletes the project and everything of it: keys, share links, goals, events, sessions,
    /// rollups and dirty marks, and whatever the backend keeps of it in memory. Afterwards nothing of it reads
    /// back, and an event ingested for it again starts afresh (no old session comes back). The
    /// data is purged even when the project record is already gone (a retry after a failure part
    /// of the way). Returns whether the project existed.
    async fn delete_project(&self, id: &ProjectId) -> Result<bool>;
    async fn create_key(&self, key: &KeyRecord) -> Result<()>;
    async fn key(&self, id: &KeyId) -> Result<Option<KeyRecord>>;
    async fn key_by_hash(&self, hash: &KeyHash) -> Result<Option<KeyRecord>>;
    /// Newest first.
    async fn keys_of(&self, project: &ProjectId) -> Result<Vec<KeyRecord>>;
    /// Sets `revoked_at` unless already set. Returns whether the key exists.
    async fn revoke_key(&self, id: &KeyId, at: Millis) -> Result<bool>;
    /// Raises `last_used_at` of each key to the given time (never lowers it).
    async fn touch_keys(&self, used: &[(KeyId, Millis)]) -> Result<()>;

    // --- share links ------------------------------------------------------------------------
    /// Fails with [`StoreError::Conflict`] when the slug (or the id) is taken.
    async fn create_share_link(&self, link: &ShareLink) -> Result<()>;
    /// Newest first.
    async fn share_links_of(&self, project: &ProjectId) -> Result<Vec<ShareLink>>;
    async fn share_link_by_slug(&self, slug: &ShareSlug) -> Result<Option<ShareLink>>;
    /// Returns whether the link existed.
    async fn delete_share_link(&self, id: &ShareId) -> Result<bool>;

    // --- daily visitor salts ----------------------------------------------------------------
    /// The salt of `day` (days since the Unix epoch, UTC): the stored one, or `candidate`,
    /// stored now, if there is none. Concurrent callers all get the same salt.
    async fn salt_for_day(&self, day: i64, candidate: [u8; 32]) -> Result<[u8; 32]>;
    /// Deletes the salts of days before `day`. Returns how many were deleted.
    async fn delete_salts_before(&self, day: i64) -> Result<u64>;

    // --- events and sessions ----------------------------------------------------------------
    /// Stores the events not stored before (by project and event id) and folds every event of
    /// the batch into its visitor's sessions ([`sessions::fold`]). Idempotent: a retried batch,
    /// or a batch that partly overlaps an earlier one, stores and counts each event once, also
    /// when two collector processes ingest the same visitor at the same time, and also when an
    /// earlier attempt died between storing the events and updating the sessions.
    async fn ingest(&self, events: &[EnrichedEvent]) -> Result<IngestReport>;
    /// Events of a project that occurred in `[from, to)`, oldest first (ties by id).
    async fn events(&self, project: &ProjectId, from: Millis, to: Millis) -> Result<Vec<EnrichedEvent>>;
    /// Sessions of a project that started in `[from, to)`, oldest first (ties by visitor).
    async fn sessions(&self, project: &ProjectId, from: Millis, to: Millis) -> Result<Vec<Session>>;
    /// When the project's earliest stored event occurred; `None` before its first event. Read
    /// from the (project, time) index, never by scanning events: every "all time" dashboard query
    /// and the "waiting for the first event" check ask it.
    async fn first_event_at(&self, project: &ProjectId) -> Result<Option<Millis>>;

    // --- dashboard queries ------------------------------------------------------------------
    /// Event metrics of the events matching `q`, grouped by its fields and time buckets, computed
    /// by the database ([`analytics`] defines every counter). Groups with no event are absent.
    async fn aggregate_events(&self, q: &RawQuery) -> Result<Vec<EventGroup>>;
    /// Session metrics of the sessions matching `q` (by start time), grouped likewise.
    async fn aggregate_sessions(&self, q: &RawQuery) -> Result<Vec<SessionGroup>>;
    /// Every session of these visitors of a project (the rollup builder finds each event's session).
    async fn sessions_of_visitors(&self, project: &ProjectId, visitors: &[VisitorId]) -> Result<Vec<Session>>;

    // --- rollups (pre-aggregates) ---------------------------------------------------------
    /// Hours whose rollups are stale (marked by [`Store::ingest`]), oldest first, at most `limit`.
    async fn dirty_hours(&self, limit: usize) -> Result<Vec<DirtyHour>>;
    /// Removes the mark if it still has `mark.version` (not marked again since it was read).
    /// Returns whether it did.
    async fn clear_dirty(&self, mark: &DirtyHour) -> Result<bool>;
    /// Replaces all rows of one bucket with `rows` (rows of other buckets are untouched).
    async fn replace_rollups(
        &self,
        project: &ProjectId,
        granularity: Granularity,
        bucket: Millis,
        rows: &[RollupRow],
    ) -> Result<()>;
    /// Rows of buckets starting in `[from, to)`, of one dimension or (`None`) of all.
    async fn rollups(
        &self,
        project: &ProjectId,
        granularity: Granularity,
        from: Millis,
        to: Millis,
        dim: Option<&RollupDim>,
    ) -> Result<Vec<StoredRollup>>;
    /// Whether [`Store::rollup_summaries`] and [`Store::rollups_of_values`] read less than
    /// [`Store::rollups`] does, so that a top list pays for ranking values before reading their
    /// sketches. False for the default implementations (they read every sketch).
    fn reads_summaries_cheaply(&self) -> bool {
        false
    }
    /// The rows of one dimension like [`Store::rollups`], without their sketches: enough to rank
    /// a dimension's values by counters, or to bound their visitors, before reading sketches.
    /// The default reads the sketches and drops them; backends override it where they can skip
    /// reading them.
    async fn rollup_summaries(
        &self,
        project: &ProjectId,
        granularity: Granularity,
        from: Millis,
        to: Millis,
        dim: &RollupDim,
    ) -> Result<Vec<RollupSummary>> {
        let rows = self.rollups(project, granularity, from, to, Some(dim)).await?;
        Ok(rows.iter().map(RollupSummary::of).collect())
    }
    /// The rows of one dimension like [`Store::rollups`], only those with one of `values`.
    async fn rollups_of_values(
        &self,
        project: &ProjectId,
        granularity: Granularity,
        from: Millis,
        to: Millis,
        dim: &RollupDim,
        values: &[String],
    ) -> Result<Vec<StoredRollup>> {
        let wanted: std::collections::HashSet<&str> = values.iter().map(String::as_str).collect();
        let mut rows = self.rollups(project, granularity, from, to, Some(dim)).await?;
        rows.retain(|r| wanted.contains(r.row.value.as_str()));
        Ok(rows)
    }
    // --- goals ------------------------------------------------------------------------------
    /// Adds a goal to an existing project. Fails with [`StoreError::Conflict`] when the project
    /// already has a goal of the same kind and value (or the id is taken). The count per project ([`MAX_GOALS_PER_PROJECT`]) is the
    /// caller's to check.
    async fn create_goal(&self, goal: &Goal) -> Result<()>;
    /// The project's goals, oldest first (ties by id).
    async fn goals_of(&self, project: &ProjectId) -> Result<Vec<Goal>>;
    /// Deletes the goal `id` of `project` (a goal of another project stays). Returns whether it
    /// existed.
    async fn delete_goal(&self, project: &ProjectId, id: &GoalId) -> Result<bool>;
    // --- annotations -----------------------------------------------------------------------
    /// Adds a note to an existing project ([`StoreError::Conflict`] when its id is taken). The
    /// count per project ([`MAX_ANNOTATIONS_PER_PROJECT`]) is the caller's to check.
    async fn create_annotation(&self, annotation: &Annotation) -> Result<()>;
    /// The project's notes by date, then oldest first (ties by id).
    async fn annotations_of(&self, project: &ProjectId) -> Result<Vec<Annotation>>;
    /// Deletes the note `id` of `project` (a note of another project stays). Returns whether it
    /// existed.
    async fn delete_annotation(&self, project: &ProjectId, id: &AnnotationId) -> Result<bool>;
    // --- segments --------------------------------------------------------------------------
    /// Adds a saved segment to an existing project ([`StoreError::Conflict`] when its id is
    /// taken). The count per project ([`MAX_SEGMENTS_PER_PROJECT`]) and the unique name are the
    /// caller's to check.
    async fn create_segment(&self, segment: &Segment) -> Result<()>;
    /// The project's segments, oldest first (ties by id).
    async fn segments_of(&self, project: &ProjectId) -> Result<Vec<Segment>>;
    /// Deletes the segment `id` of `project` (a segment of another project stays). Returns
    /// whether it existed.
    async fn delete_segment(&self, project: &ProjectId, id: &SegmentId) -> Result<bool>;
    // --- funnels ---------------------------------------------------------------------------
    /// The funnel's step counts, computed by the database ([`analytics::funnel`] defines them)
    /// under [`ANALYTICS_TIME_BUDGET`].
    async fn funnel(&self, q: &analytics::funnel::FunnelQuery) -> Result<analytics::funnel::FunnelCounts>;
    /// Stores a saved funnel ([`StoreError::Conflict`] when its id is taken).
    async fn create_saved_funnel(&self, funnel: &funnels::SavedFunnel) -> Result<()>;
    /// The project's saved funnels, oldest first (ties by id).
    async fn saved_funnels_of(&self, project: &ProjectId) -> Result<Vec<funnels::SavedFunnel>>;
    /// Deletes the project's saved funnel `id`. Returns whether it existed (in that project).
    async fn delete_saved_funnel(&self, project: &ProjectId, id: &ids::FunnelId) -> Result<bool>;
    // --- journeys and the session explorer ---------------------------------------------------
    /// The journeys of `q`, computed in the database with [`analytics::journeys::journeys`]'s
    /// semantics, lists in [`analytics::journeys::Journeys::sorted`] order.
    async fn journeys(&self, q: &analytics::journeys::JourneyQuery) -> Result<analytics::journeys::Journeys>;
    /// A page of the session list ([`analytics::explorer::session_list`]'s semantics): newest
    /// first, ties by id descending, at most `q.limit`.
    async fn session_list(&self, q: &analytics::explorer::SessionListQuery) -> Result<Vec<Session>>;
    /// The project's session with this id, if any.
    async fn session(&self, project: &ProjectId, id: &analytics::explorer::SessionId) -> Result<Option<Session>>;
    /// The first `limit` events of the session, in event order ([`sessions::order_key`]).
    async fn session_events(&self, session: &Session, limit: usize) -> Result<Vec<EnrichedEvent>>;

    /// Deletes what is older than the retention cut-offs.
    async fn delete_expired(&self, retention: &Retention) -> Result<Expired>;
}
