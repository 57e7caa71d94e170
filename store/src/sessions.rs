//! Sessions: a visitor's events, split wherever [`SESSION_TIMEOUT_MS`] pass without an event.
//!
//! A session is a pure function of its events, and folding an event into sessions is a merge
//! (minimum start, maximum end, sums, the earliest and latest event for entry and exit page, the
//! earliest event for the session's attributes). So the result does not depend on the order in
//! which events arrive: a late event that falls between two sessions merges them, one that comes
//! before a session moves its entry page. Every session remembers a 64-bit digest of each event id
//! it holds, which makes folding idempotent: a retried batch changes nothing.

use contract::enrich::{ClientInfo, Utm, VisitorId};
use contract::enriched::{EnrichedEvent, Geo};
use contract::ids::ProjectId;
use contract::wire::{PAGEVIEW, PAGE_EXIT, PATH_CHANGE};
use serde::{Deserialize, Serialize};

use crate::Millis;

/// Inactivity that ends a session: 30 minutes, as in Google Analytics and Plausible.
pub const SESSION_TIMEOUT_MS: Millis = 30 * 60 * 1000;

/// One visit.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Session {
    /// 24 hex characters, minted when the session is first seen. When a late event merges two
    /// sessions, the earlier one's id is kept.
    pub id: String,
    pub project_id: ProjectId,
    pub visitor_id: VisitorId,
    /// Time of the first event.
    pub start: Millis,
    /// Time of the last event (a `page_exit` included, so the last page's time counts).
    pub end: Millis,
    /// Path of the first event, and that event's order key (see [`order_key`]).
    pub entry_page: String,
    pub entry_key: EventKey,
    /// Path of the last event, and that event's order key.
    pub exit_page: String,
    pub exit_key: EventKey,
    /// `pageview` and `path_change` events.
    pub pageviews: u32,
    /// All events.
    pub events: u32,
    /// Events other than `pageview`, `path_change` and `page_exit`.
    pub custom_events: u32,
    /// Sum of the engaged time reported by `page_exit` events, ms.
    pub engaged_ms: u64,
    /// Where the visit came from and what it ran on: taken from the first event.
    pub hostname: String,
    pub referrer: Option<String>,
    pub source: Option<String>,
    pub utm: Utm,
    pub client: ClientInfo,
    pub geo: Geo,
    pub screen_width: Option<u32>,
    /// Sorted digests ([`contract::ids::EventId::digest64`]) of the events folded in.
    pub applied: Vec<u64>,
    /// The page views and custom events, in event order: what funnels and journeys read, so
    /// that they never have to find each event's session again.
    pub trail: Vec<TrailStep>,
}

/// One step of a session's [`Session::trail`]: a page view ([`PAGE_RANK`], `value` is its path)
/// or a custom event ([`EVENT_RANK`], `value` is its name), with its order key. A `page_exit`
/// is not a step.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TrailStep {
    pub key: EventKey,
    pub value: String,
}

/// [`EventKey::rank`] of a `page_exit`, a page view and a custom event.
pub const EXIT_RANK: u8 = 0;
pub const PAGE_RANK: u8 = 1;
pub const EVENT_RANK: u8 = 2;

impl TrailStep {
    /// The event's step, `None` for a `page_exit`.
    pub fn of(e: &EnrichedEvent) -> Option<Self> {
        Self::from_parts(e.occurred_at, &e.name, e.id.as_str(), &e.path)
    }

    /// The step of an event given by its time, name, id and path (as a store holds them).
    pub fn from_parts(at: Millis, name: &str, id: &str, path: &str) -> Option<Self> {
        let rank = rank_of(name);
        let value = match rank {
            PAGE_RANK => path,
            EVENT_RANK => name,
            _ => return None,
        };
        Some(TrailStep {
            key: EventKey {
                at,
                rank,
                id: id.to_owned(),
            },
            value: value.to_owned(),
        })
    }
}

/// [`EventKey::rank`] of an event by its name.
fn rank_of(name: &str) -> u8 {
    match name {
        PAGE_EXIT => EXIT_RANK,
        PAGEVIEW | PATH_CHANGE => PAGE_RANK,
        _ => EVENT_RANK,
    }
}

/// Total order of a visitor's events: time, then kind (`page_exit` before a page view before a
/// custom event, so a `page_exit` and the `path_change` it precedes, stamped in the same
/// millisecond, leave the new page as the exit page), then event id.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct EventKey {
    pub at: Millis,
    pub rank: u8,
    pub id: String,
}

pub fn order_key(e: &EnrichedEvent) -> EventKey {
    EventKey {
        at: e.occurred_at,
        rank: rank_of(&e.name),
        id: e.id.as_str().to_owned(),
    }
}

impl Session {
    fn from_event(id: String, e: &EnrichedEvent) -> Self {
        let key = order_key(e);
        let mut s = Session {
            id,
            project_id: e.project_id,
            visitor_id: e.visitor_id,
            start: e.occurred_at,
            end: e.occurred_at,
            entry_page: e.path.clone(),
            entry_key: key.clone(),
            exit_page: e.path.clone(),
            exit_key: key,
            pageviews: 0,
            events: 0,
            custom_events: 0,
            engaged_ms: 0,
            hostname: e.hostname.clone(),
            referrer: e.referrer.clone(),
            source: e.source.clone(),
            utm: e.utm.clone(),
            client: e.client.clone(),
            geo: e.geo.clone(),
            screen_width: e.screen_width,
            applied: Vec::new(),
            trail: Vec::new(),
        };
        s.count(e);
        s
    }

    fn count(&mut self, e: &EnrichedEvent) {
        self.events += 1;
        match e.name.as_str() {
            PAGEVIEW | PATH_CHANGE => self.pageviews += 1,
            PAGE_EXIT => self.engaged_ms += e.duration_ms.unwrap_or(0),
            _ => self.custom_events += 1,
        }
        let digest = e.id.digest64();
        if let Err(at) = self.applied.binary_search(&digest) {
            self.applied.insert(at, digest);
        }
        if let Some(step) = TrailStep::of(e) {
            // Events mostly arrive in order: the search ends at the back.
            if let Err(at) = self.trail.binary_search_by(|s| s.key.cmp(&step.key)) {
                self.trail.insert(at, step);
            }
        }
    }

    fn add(&mut self, e: &EnrichedEvent) {
        let key = order_key(e);
        self.start = self.start.min(e.occurred_at);
        self.end = self.end.max(e.occurred_at);
        if key < self.entry_key {
            self.entry_page = e.path.clone();
            self.entry_key = key.clone();
            // The session's attributes are those of its first event.
            self.hostname = e.hostname.clone();
            self.referrer = e.referrer.clone();
            self.source = e.source.clone();
            self.utm = e.utm.clone();
            self.client = e.client.clone();
            self.geo = e.geo.clone();
            self.screen_width = e.screen_width;
        }
        if key > self.exit_key {
            self.exit_page = e.path.clone();
            self.exit_key = key;
        }
        self.count(e);
    }

    /// Merges `other` (a later or earlier part of the same visit) into `self`, keeping `self.id`.
    fn absorb(&mut self, other: Session) {
        self.start = self.start.min(other.start);
        self.end = self.end.max(other.end);
        if other.entry_key < self.entry_key {
            self.entry_page = other.entry_page;
            self.entry_key = other.entry_key;
            self.hostname = other.hostname;
            self.referrer = other.referrer;
            self.source = other.source;
            self.utm = other.utm;
            self.client = other.client;
            self.geo = other.geo;
            self.screen_width = other.screen_width;
        }
        if other.exit_key > self.exit_key {
            self.exit_page = other.exit_page;
            self.exit_key = other.exit_key;
        }
        self.pageviews += other.pageviews;
        self.events += other.events;
        self.custom_events += other.custom_events;
        self.engaged_ms += other.engaged_ms;
        self.applied.extend(other.applied);
        self.applied.sort_unstable();
        self.applied.dedup();
        self.trail.extend(other.trail);
        self.trail.sort_by(|a, b| a.key.cmp(&b.key));
        self.trail.dedup_by(|a, b| a.key == b.key);
    }

    /// Whether the event with this digest is already folded in.
    pub fn holds(&self, digest: u64) -> bool {
        self.applied.binary_search(&digest).is_ok()
    }

    /// Last event minus first event.
    pub fn duration_ms(&self) -> Millis {
        self.end - self.start
    }

    /// A bounce: at most one page view and no custom event.
    pub fn is_bounce(&self) -> bool {
        self.pageviews <= 1 && self.custom_events == 0
    }

    /// Whether an event at `at` belongs to this session (or bridges it to another).
    pub fn reaches(&self, at: Millis) -> bool {
        self.start - SESSION_TIMEOUT_MS <= at && at <= self.end + SESSION_TIMEOUT_MS
    }
}

/// The result of folding events into one visitor's sessions.
#[derive(Debug, Default)]
pub struct Folded {
    /// The visitor's sessions afterwards, oldest first: the ones given, changed or not, and new ones.
    pub sessions: Vec<Session>,
    /// Ids of sessions that were created or changed.
    pub changed: Vec<String>,
    /// Ids of given sessions merged into another and so gone.
    pub removed: Vec<String>,
    /// How many of the events were new to these sessions.
    pub folded: usize,
}

/// The time window whose sessions [`fold`] needs for `events`: every stored session of the visitor
/// with `end >= from` and `start <= to`.
pub fn window(events: &[&EnrichedEvent]) -> (Millis, Millis) {
    let min = events.iter().map(|e| e.occurred_at).min().unwrap_or(0);
    let max = events.iter().map(|e| e.occurred_at).max().unwrap_or(0);
    (min - SESSION_TIMEOUT_MS, max + SESSION_TIMEOUT_MS)
}

/// Folds one visitor's `events` into that visitor's `sessions` (at least those in [`window`]).
/// Events already held by a session are skipped. `mint_id` names new sessions and must return a
/// fresh id on every call: sessions are told apart by id.
pub fn fold(sessions: Vec<Session>, events: &[&EnrichedEvent], mint_id: &mut dyn FnMut() -> String) -> Folded {
    let mut sessions = sessions;
    let mut changed: Vec<String> = Vec::new();
    let mut removed: Vec<String> = Vec::new();
    let mut folded = 0;
    let mut ordered: Vec<&EnrichedEvent> = events.to_vec();
    ordered.sort_by_key(|e| order_key(e));
    for e in ordered {
        let digest = e.id.digest64();
        if sessions.iter().any(|s| s.holds(digest)) {
            continue;
        }
        folded += 1;
        let reached: Vec<usize> = (0..sessions.len())
            .filter(|&i| sessions[i].reaches(e.occurred_at))
            .collect();
        let id = match reached.as_slice() {
            [] => {
                let s = Session::from_event(mint_id(), e);
                let id = s.id.clone();
                sessions.push(s);
                id
            }
            [first, rest @ ..] => {
                // The event bridges every session it reaches: merge them into the earliest.
                let keep = *reached
                    .iter()
                    .min_by_key(|&&i| (sessions[i].start, sessions[i].id.clone()))
                    .unwrap_or(first);
                let mut merged: Vec<Session> = Vec::new();
                for &i in rest.iter().chain(std::iter::once(first)).rev() {
                    if i != keep {
                        merged.push(sessions[i].clone());
                    }
                }
                let kept_id = sessions[keep].id.clone();
                for other in merged {
                    removed.push(other.id.clone());
                    sessions.retain(|s| s.id != other.id);
                    let target = sessions
                        .iter_mut()
                        .find(|s| s.id == kept_id)
                        .expect("kept session is present");
                    target.absorb(other);
                }
                let target = sessions
                    .iter_mut()
                    .find(|s| s.id == kept_id)
                    .expect("kept session is present");
                target.add(e);
                kept_id
            }
        };
        if !changed.contains(&id) {
            changed.push(id);
        }
    }
    changed.retain(|id| !removed.contains(id));
    sessions.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
    Folded {
        sessions,
        changed,
        removed,
        folded,
    }
}

/// Helpers for tests of this crate and of the backends.
pub mod testing {
    use super::*;
    use contract::ids::EventId;
    use std::collections::BTreeMap;

    /// An enriched event with plausible fields, for tests.
    pub fn event(project: ProjectId, visitor: u64, id: &str, name: &str, at: Millis, path: &str) -> EnrichedEvent {
        EnrichedEvent {
            id: EventId::parse(id).expect("test event id"),
            project_id: project,
            name: name.to_owned(),
            occurred_at: at,
            received_at: at,
            hostname: "example.com".into(),
            path: path.to_owned(),
            url: format!("https://example.com{path}"),
            referrer: None,
            source: None,
            utm: Utm::default(),
            props: BTreeMap::new(),
            duration_ms: (name == PAGE_EXIT).then_some(1_000),
            scroll_depth: None,
            screen_width: Some(1280),
            visitor_id: VisitorId(visitor),
            client: ClientInfo::default(),
            geo: Geo::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::event;
    use super::*;

    const MIN: Millis = 60_000;

    fn project() -> ProjectId {
        ProjectId::parse("65f0a1b2c3d4e5f601234567").unwrap()
    }

    fn counter() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("s{n}")
        }
    }

    /// A visit: /a at 0, /b at 5 min, exit at 6 min; a second visit 2 hours later.
    fn visit() -> Vec<EnrichedEvent> {
        let p = project();
        vec![
            event(p, 1, "e1", "pageview", 0, "/a"),
            event(p, 1, "e2", "path_change", 5 * MIN, "/b"),
            event(p, 1, "e3", "page_exit", 6 * MIN, "/b"),
            event(p, 1, "e4", "pageview", 120 * MIN, "/c"),
        ]
    }

    type Summary = (Millis, Millis, String, String, u32, u32, bool, Vec<String>);

    fn summary(sessions: &[Session]) -> Vec<Summary> {
        sessions
            .iter()
            .map(|s| {
                (
                    s.start,
                    s.end,
                    s.entry_page.clone(),
                    s.exit_page.clone(),
                    s.pageviews,
                    s.events,
                    s.is_bounce(),
                    trail(s),
                )
            })
            .collect()
    }

    fn trail(s: &Session) -> Vec<String> {
        s.trail.iter().map(|t| format!("{}@{}", t.value, t.key.at)).collect()
    }

    #[test]
    fn splits_on_thirty_minutes_of_inactivity() {
        let events = visit();
        let refs: Vec<_> = events.iter().collect();
        let f = fold(vec![], &refs, &mut counter());
        assert_eq!(
            summary(&f.sessions),
            vec![
                (
                    0,
                    6 * MIN,
                    "/a".into(),
                    "/b".into(),
                    2,
                    3,
                    false,
                    steps(&["/a@0", "/b@300000"])
                ),
                (
                    120 * MIN,
                    120 * MIN,
                    "/c".into(),
                    "/c".into(),
                    1,
                    1,
                    true,
                    steps(&["/c@7200000"])
                ),
            ]
        );
        assert_eq!(f.sessions[0].engaged_ms, 1_000);
        assert_eq!(f.folded, 4);
    }

    #[test]
    fn any_arrival_order_and_any_batching_give_the_same_sessions() {
        let mut events = visit();
        // A late event 60 min in: it bridges nothing (gaps of 54 and 60 min stay > 30 min).
        events.push(event(project(), 1, "e5", "pageview", 60 * MIN, "/d"));
        // One at 90 min bridges /d and /c: 60 -> 90 -> 120, each gap exactly 30 min.
        events.push(event(project(), 1, "e6", "signup", 90 * MIN, "/d"));
        let expected = {
            let refs: Vec<_> = events.iter().collect();
            summary(&fold(vec![], &refs, &mut counter()).sessions)
        };
        assert_eq!(expected.len(), 2);
        // Every rotation of the arrival order, delivered one event per batch.
        for shift in 0..events.len() {
            let mut order = events.clone();
            order.rotate_left(shift);
            order.reverse();
            let mut sessions = vec![];
            let mut mint = counter();
            for e in &order {
                sessions = fold(sessions, &[e], &mut mint).sessions;
            }
            assert_eq!(summary(&sessions), expected, "shift {shift}");
        }
    }

    #[test]
    fn a_late_event_merges_two_sessions_into_the_earlier_one() {
        let p = project();
        let a = event(p, 1, "a", "pageview", 0, "/a");
        let b = event(p, 1, "b", "pageview", 50 * MIN, "/b");
        let mid = event(p, 1, "m", "pageview", 25 * MIN, "/m");
        let f = fold(vec![], &[&a, &b], &mut counter());
        assert_eq!(f.sessions.len(), 2);
        let f = fold(f.sessions, &[&mid], &mut counter());
        assert_eq!(f.sessions.len(), 1);
        assert_eq!(f.sessions[0].id, "s1");
        assert_eq!(f.removed, vec!["s2".to_string()]);
        assert_eq!(f.changed, vec!["s1".to_string()]);
        assert_eq!(
            (f.sessions[0].entry_page.as_str(), f.sessions[0].exit_page.as_str()),
            ("/a", "/b")
        );
        assert_eq!(f.sessions[0].pageviews, 3);
        assert_eq!(trail(&f.sessions[0]), steps(&["/a@0", "/m@1500000", "/b@3000000"]));
    }

    fn steps(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| (*s).to_owned()).collect()
    }

    /// The trail is in event order (ties in time by kind, then by id) whatever the arrival order
    /// and batching, holds each event once, and leaves `page_exit`s out.
    #[test]
    fn the_trail_holds_page_views_and_custom_events_in_event_order() {
        let p = project();
        let events = [
            event(p, 1, "b", "signup", MIN, "/x"),
            event(p, 1, "a", "signup", MIN, "/x"),
            event(p, 1, "c", "pageview", MIN, "/p"),
            event(p, 1, "d", "page_exit", MIN, "/p"),
            event(p, 1, "e", "path_change", 0, "/q"),
        ];
        for shift in 0..events.len() {
            let mut order: Vec<&EnrichedEvent> = events.iter().collect();
            order.rotate_left(shift);
            let mut sessions = vec![];
            let mut mint = counter();
            for e in order.iter().chain(order.iter()) {
                sessions = fold(sessions, &[*e], &mut mint).sessions;
            }
            let ids: Vec<(&str, &str)> = sessions[0]
                .trail
                .iter()
                .map(|t| (t.key.id.as_str(), t.value.as_str()))
                .collect();
            assert_eq!(
                ids,
                vec![("e", "/q"), ("c", "/p"), ("a", "signup"), ("b", "signup")],
                "shift {shift}"
            );
        }
    }

    #[test]
    fn refolding_the_same_events_changes_nothing() {
        let events = visit();
        let refs: Vec<_> = events.iter().collect();
        let first = fold(vec![], &refs, &mut counter());
        let again = fold(first.sessions.clone(), &refs, &mut counter());
        assert_eq!(again.sessions, first.sessions);
        assert_eq!((again.folded, again.changed.len()), (0, 0));
    }

    #[test]
    fn attributes_come_from_the_first_event_even_when_it_arrives_last() {
        let p = project();
        let mut first = event(p, 1, "first", "pageview", 0, "/landing");
        first.source = Some("Google".into());
        first.client.browser = "Firefox".into();
        let later = event(p, 1, "later", "pageview", MIN, "/next");
        let f = fold(vec![], &[&later], &mut counter());
        let f = fold(f.sessions, &[&first], &mut counter());
        let s = &f.sessions[0];
        assert_eq!(
            (s.entry_page.as_str(), s.source.as_deref(), s.client.browser.as_str()),
            ("/landing", Some("Google"), "Firefox")
        );
    }

    #[test]
    fn exit_page_is_the_new_page_when_exit_and_path_change_share_a_millisecond() {
        let p = project();
        let view = event(p, 1, "v", "pageview", 0, "/a");
        let exit = event(p, 1, "x", "page_exit", MIN, "/a");
        let change = event(p, 1, "c", "path_change", MIN, "/b");
        let f = fold(vec![], &[&change, &exit, &view], &mut counter());
        assert_eq!(f.sessions[0].exit_page, "/b");
    }
}
