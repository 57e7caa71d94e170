//! The writer and its ingest log against a store that fails: events are acknowledged once they
//! are in the log, before they are stored, so the writer must keep them through store failures
//! and retry until the store is back, refuse new ones once the log is full, and store what a
//! crash left in the log at the next start. The store is the real SQLite store, with failures
//! injected into `ingest`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use collector::ingest::{IngestLog, Writer, MAX_LOGGED_EVENTS};
use collector::metrics::Metrics;
use contract::enrich::VisitorId;
use contract::enriched::EnrichedEvent;
use contract::ids::ProjectId;
use contract::keys::KeyHash;
use store::analytics::{
    DirtyHour, EventGroup, Expired, Granularity, RawQuery, Retention, RollupDim, RollupRow, RollupSummary,
    SessionGroup, StoredRollup,
};
use store::sessions::testing::event;
use store::{
    AuthToken, Email, IngestReport, KeyId, KeyRecord, Millis, Project, Result, Session, ShareId, ShareLink, ShareSlug,
    Store, StoreError, TokenKind, User, UserId,
};

const T0: Millis = 1_763_683_200_000;

/// The SQLite store, whose `ingest` fails while `failures_left` is above zero.
struct Flaky {
    inner: store_sqlite::SqliteStore,
    failures_left: AtomicUsize,
    ingest_calls: AtomicUsize,
}

#[async_trait]
impl Store for Flaky {
    async fn ingest(&self, events: &[EnrichedEvent]) -> Result<IngestReport> {
        self.ingest_calls.fetch_add(1, Ordering::SeqCst);
        let failing = self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(StoreError::backend(std::io::Error::other("injected: the disk is full")));
        }
        self.inner.ingest(events).await
    }

    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }
    async fn health(&self) -> Result<()> {
        self.inner.health().await
    }
    async fn create_user(&self, user: &User) -> Result<()> {
        self.inner.create_user(user).await
    }
    async fn user_by_email(&self, email: &Email) -> Result<Option<User>> {
        self.inner.user_by_email(email).await
    }
    async fn user_by_id(&self, id: &UserId) -> Result<Option<User>> {
        self.inner.user_by_id(id).await
    }
    async fn create_auth_token(&self, token: &AuthToken) -> Result<()> {
        self.inner.create_auth_token(token).await
    }
    async fn auth_token(&self, token_hash: &str, now: Millis) -> Result<Option<AuthToken>> {
        self.inner.auth_token(token_hash, now).await
    }
    async fn delete_auth_token(&self, token_hash: &str) -> Result<()> {
        self.inner.delete_auth_token(token_hash).await
    }
    async fn create_project(&self, project: &Project) -> Result<()> {
        self.inner.create_project(project).await
    }
    async fn project(&self, id: &ProjectId) -> Result<Option<Project>> {
        self.inner.project(id).await
    }
    async fn projects_of(&self, owner: &UserId) -> Result<Vec<Project>> {
        self.inner.projects_of(owner).await
    }
    async fn create_key(&self, key: &KeyRecord) -> Result<()> {
        self.inner.create_key(key).await
    }
    async fn key(&self, id: &KeyId) -> Result<Option<KeyRecord>> {
        self.inner.key(id).await
    }
    async fn key_by_hash(&self, hash: &KeyHash) -> Result<Option<KeyRecord>> {
        self.inner.key_by_hash(hash).await
    }
    async fn keys_of(&self, project: &ProjectId) -> Result<Vec<KeyRecord>> {
        self.inner.keys_of(project).await
    }
    async fn revoke_key(&self, id: &KeyId, at: Millis) -> Result<bool> {
        self.inner.revoke_key(id, at).await
    }
    async fn touch_keys(&self, used: &[(KeyId, Millis)]) -> Result<()> {
        self.inner.touch_keys(used).await
    }
    async fn salt_for_day(&self, day: i64, candidate: [u8; 32]) -> Result<[u8; 32]> {
        self.inner.salt_for_day(day, candidate).await
    }
    async fn delete_salts_before(&self, day: i64) -> Result<u64> {
        self.inner.delete_salts_before(day).await
    }
    async fn events(&self, project: &ProjectId, from: Millis, to: Millis) -> Result<Vec<EnrichedEvent>> {
        self.inner.events(project, from, to).await
    }
    async fn sessions(&self, project: &ProjectId, from: Millis, to: Millis) -> Result<Vec<Session>> {
        self.inner.sessions(project, from, to).await
    }
    async fn aggregate_events(&self, q: &RawQuery) -> Result<Vec<EventGroup>> {
        self.inner.aggregate_events(q).await
    }
    async fn aggregate_sessions(&self, q: &RawQuery) -> Result<Vec<SessionGroup>> {
        self.inner.aggregate_sessions(q).await
    }
    async fn sessions_of_visitors(&self, project: &ProjectId, visitors: &[VisitorId]) -> Result<Vec<Session>> {
        self.inner.sessions_of_visitors(project, visitors).await
    }
    async fn dirty_hours(&self, limit: usize) -> Result<Vec<DirtyHour>> {
        self.inner.dirty_hours(limit).await
    }
    async fn clear_dirty(&self, mark: &DirtyHour) -> Result<bool> {
        self.inner.clear_dirty(mark).await
    }
    async fn replace_rollups(
        &self,
        project: &ProjectId,
        granularity: Granularity,
        bucket: Millis,
        rows: &[RollupRow],
    ) -> Result<()> {
        self.inner.replace_rollups(project, granularity, bucket, rows).await
    }
    async fn rollups(
        &self,
        project: &ProjectId,
        granularity: Granularity,
        from: Millis,
        to: Millis,
        dim: Option<&RollupDim>,
    ) -> Result<Vec<StoredRollup>> {
        self.inner.rollups(project, granularity, from, to, dim).await
    }
    fn reads_summaries_cheaply(&self) -> bool {
        self.inner.reads_summaries_cheaply()
    }
    async fn rollup_summaries(
        &self,
        project: &ProjectId,
        granularity: Granularity,
        from: Millis,
        to: Millis,
        dim: &RollupDim,
    ) -> Result<Vec<RollupSummary>> {
        self.inner.rollup_summaries(project, granularity, from, to, dim).await
    }
    async fn rollups_of_values(
        &self,
        project: &ProjectId,
        granularity: Granularity,
        from: Millis,
        to: Millis,
        dim: &RollupDim,
        values: &[String],
    ) -> Result<Vec<StoredRollup>> {
        self.inner
            .rollups_of_values(project, granularity, from, to, dim, values)
            .await
    }
    async fn update_password(&self, user: &UserId, password_hash: &str) -> Result<bool> {
        self.inner.update_password(user, password_hash).await
    }
    async fn auth_tokens_of(&self, user: &UserId) -> Result<Vec<AuthToken>> {
        self.inner.auth_tokens_of(user).await
    }
    async fn delete_auth_tokens_of(&self, user: &UserId, kind: TokenKind, except_hash: Option<&str>) -> Result<u64> {
        self.inner.delete_auth_tokens_of(user, kind, except_hash).await
    }
    async fn update_project(&self, project: &Project) -> Result<bool> {
        self.inner.update_project(project).await
    }
    async fn delete_project(&self, id: &ProjectId) -> Result<bool> {
        self.inner.delete_project(id).await
    }
    async fn create_share_link(&self, link: &ShareLink) -> Result<()> {
        self.inner.create_share_link(link).await
    }
    async fn share_links_of(&self, project: &ProjectId) -> Result<Vec<ShareLink>> {
        self.inner.share_links_of(project).await
    }
    async fn share_link_by_slug(&self, slug: &ShareSlug) -> Result<Option<ShareLink>> {
        self.inner.share_link_by_slug(slug).await
    }
    async fn delete_share_link(&self, id: &ShareId) -> Result<bool> {
        self.inner.delete_share_link(id).await
    }
    async fn first_event_at(&self, project: &ProjectId) -> Result<Option<Millis>> {
        self.inner.first_event_at(project).await
    }
    async fn create_goal(&self, goal: &store::Goal) -> Result<()> {
        self.inner.create_goal(goal).await
    }
    async fn goals_of(&self, project: &ProjectId) -> Result<Vec<store::Goal>> {
        self.inner.goals_of(project).await
    }
    async fn delete_goal(&self, project: &ProjectId, id: &store::GoalId) -> Result<bool> {
        self.inner.delete_goal(project, id).await
    }
    async fn create_annotation(&self, annotation: &store::Annotation) -> Result<()> {
        self.inner.create_annotation(annotation).await
    }
    async fn annotations_of(&self, project: &ProjectId) -> Result<Vec<store::Annotation>> {
        self.inner.annotations_of(project).await
    }
    async fn delete_annotation(&self, project: &ProjectId, id: &store::AnnotationId) -> Result<bool> {
        self.inner.delete_annotation(project, id).await
    }
    async fn create_segment(&self, segment: &store::Segment) -> Result<()> {
        self.inner.create_segment(segment).await
    }
    async fn segments_of(&self, project: &ProjectId) -> Result<Vec<store::Segment>> {
        self.inner.segments_of(project).await
    }
    async fn delete_segment(&self, project: &ProjectId, id: &store::SegmentId) -> Result<bool> {
        self.inner.delete_segment(project, id).await
    }
    async fn funnel(
        &self,
        q: &store::analytics::funnel::FunnelQuery,
    ) -> Result<store::analytics::funnel::FunnelCounts> {
        self.inner.funnel(q).await
    }
    async fn create_saved_funnel(&self, funnel: &store::funnels::SavedFunnel) -> Result<()> {
        self.inner.create_saved_funnel(funnel).await
    }
    async fn saved_funnels_of(&self, project: &ProjectId) -> Result<Vec<store::funnels::SavedFunnel>> {
        self.inner.saved_funnels_of(project).await
    }
    async fn delete_saved_funnel(&self, project: &ProjectId, id: &store::ids::FunnelId) -> Result<bool> {
        self.inner.delete_saved_funnel(project, id).await
    }
    // --- journeys and the session explorer ---
    async fn journeys(
        &self,
        q: &store::analytics::journeys::JourneyQuery,
    ) -> Result<store::analytics::journeys::Journeys> {
        self.inner.journeys(q).await
    }
    async fn session_list(&self, q: &store::analytics::explorer::SessionListQuery) -> Result<Vec<Session>> {
        self.inner.session_list(q).await
    }
    async fn session(
        &self,
        project: &ProjectId,
        id: &store::analytics::explorer::SessionId,
    ) -> Result<Option<Session>> {
        self.inner.session(project, id).await
    }
    async fn session_events(&self, session: &Session, limit: usize) -> Result<Vec<EnrichedEvent>> {
        self.inner.session_events(session, limit).await
    }
    async fn delete_expired(&self, retention: &Retention) -> Result<Expired> {
        self.inner.delete_expired(retention).await
    }
}

fn flaky(failures: usize) -> (Arc<Flaky>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Flaky {
        inner: store_sqlite::SqliteStore::open_in(dir.path()).unwrap(),
        failures_left: AtomicUsize::new(failures),
        ingest_calls: AtomicUsize::new(0),
    };
    (Arc::new(store), dir)
}

fn events(project: ProjectId, n: usize) -> Vec<EnrichedEvent> {
    (0..n)
        .map(|i| {
            event(
                project,
                i as u64 % 7,
                &format!("w{i}"),
                "pageview",
                T0 + i as i64 * 1000,
                "/w",
            )
        })
        .collect()
}

/// A writer on `store` with its ingest log in `dir`.
fn writer(
    store: Arc<Flaky>,
    dir: &std::path::Path,
    durable: bool,
) -> (Writer, Arc<Metrics>, tokio::task::JoinHandle<()>) {
    let metrics = Arc::new(Metrics::new());
    let (log, replayed) = IngestLog::open(dir).unwrap();
    let (writer, task) = Writer::spawn(store, metrics.clone(), log, replayed, durable).unwrap();
    (writer, metrics, task)
}

#[tokio::test(start_paused = true)]
async fn acknowledged_events_are_retried_until_the_store_takes_them() {
    // Far more failures than the old bounded retries (64) allowed: nothing is ever given up.
    let (store, dir) = flaky(200);
    let (writer, metrics, task) = writer(store.clone(), dir.path(), true);
    let p = ProjectId::from_bytes([3; 12]);
    let sent = events(p, 30);
    for chunk in sent.chunks(10) {
        writer.accept(chunk.to_vec()).await.unwrap();
    }
    writer.flush().await.unwrap();

    let stored = store.inner.events(&p, T0, T0 + 3_600_000).await.unwrap();
    assert_eq!(stored.len(), 30, "every acknowledged event is stored");
    assert_eq!(metrics.store_write_errors.get(), 200);
    assert_eq!(metrics.events_stored.get(), 30);
    assert_eq!(metrics.ingest_log_events.get(), 0, "stored events leave the log");
    drop(writer);
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_full_log_refuses_with_503_until_the_store_catches_up() {
    let (store, dir) = flaky(usize::MAX);
    let (writer, metrics, task) = writer(store.clone(), dir.path(), true);
    let p = ProjectId::from_bytes([4; 12]);
    writer.accept(events(p, MAX_LOGGED_EVENTS)).await.unwrap();
    assert_eq!(metrics.ingest_log_events.get(), MAX_LOGGED_EVENTS as i64);
    let refused = writer.accept(events(p, 1)).await.expect_err("the log is full");
    let answer = refused.into_response();
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(answer.headers().contains_key("retry-after"));
    let body = axum::body::to_bytes(answer.into_body(), 4096).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        body["error"].as_str().unwrap().contains(&MAX_LOGGED_EVENTS.to_string()),
        "{body}"
    );
    assert_eq!(metrics.ingest_log_full.get(), 1);

    // The store comes back: the log drains, and events are taken again.
    store.failures_left.store(0, Ordering::SeqCst);
    writer.flush().await.unwrap();
    assert_eq!(metrics.ingest_log_events.get(), 0);
    writer.accept(events(p, 1)).await.unwrap();
    drop(writer);
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_stop_while_the_store_fails_ends_and_the_next_start_stores_what_was_logged() {
    let (store, dir) = flaky(usize::MAX);
    let (writer, _, task) = writer(store.clone(), dir.path(), true);
    let p = ProjectId::from_bytes([5; 12]);
    writer.accept(events(p, 20)).await.unwrap();
    // Shutdown: the writer stops retrying a store that fails instead of holding the process.
    drop(writer);
    task.await.unwrap();
    assert!(store.inner.events(&p, T0, T0 + 3_600_000).await.unwrap().is_empty());

    store.failures_left.store(0, Ordering::SeqCst);
    let metrics = Arc::new(Metrics::new());
    let (log, replayed) = IngestLog::open(dir.path()).unwrap();
    let (writer, task) = Writer::spawn(store.clone(), metrics.clone(), log, replayed, true).unwrap();
    writer.flush().await.unwrap();
    assert_eq!(metrics.events_replayed.get(), 20);
    assert_eq!(store.inner.events(&p, T0, T0 + 3_600_000).await.unwrap().len(), 20);
    drop(writer);
    task.await.unwrap();
    let (_, replayed) = IngestLog::open(dir.path()).unwrap();
    assert!(replayed.is_empty(), "a clean stop leaves nothing to replay");
}

#[tokio::test(start_paused = true)]
async fn without_durable_acknowledgement_events_are_acknowledged_before_they_are_stored() {
    let (store, dir) = flaky(3);
    let (writer, metrics, task) = writer(store.clone(), dir.path(), false);
    let p = ProjectId::from_bytes([6; 12]);
    writer.accept(events(p, 3)).await.unwrap();
    writer.flush().await.unwrap();
    assert_eq!(store.inner.events(&p, T0, T0 + 3_600_000).await.unwrap().len(), 3);
    assert_eq!(metrics.store_write_errors.get(), 3);
    drop(writer);
    task.await.unwrap();
    let (_, replayed) = IngestLog::open(dir.path()).unwrap();
    assert!(replayed.is_empty(), "nothing went through the log");
}
