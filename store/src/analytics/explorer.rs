//! The session explorer: a project's sessions newest first, filtered and paged by key
//! (`GET /api/v1/projects/{id}/sessions`), and one session's events in order
//! (`GET /api/v1/projects/{id}/sessions/{session_id}`). [`session_list`] and [`session_events`]
//! are the reference semantics both backends implement.

use contract::enriched::EnrichedEvent;
use contract::ids::ProjectId;
use serde::{Deserialize, Serialize};

use super::journeys::in_scope;
use super::Filter;
use crate::sessions::{order_key, Session};
use crate::Millis;

/// Sessions per page when the request does not say.
pub const DEFAULT_SESSION_PAGE: usize = 25;
/// Most sessions per page.
pub const MAX_SESSION_PAGE: usize = 100;
/// Most events a session's detail holds (its `truncated` flag says when there were more): a
/// visit with more events is a script, not a person, and its first thousand tell the story.
pub const MAX_SESSION_EVENTS: usize = 1_000;

/// A session id: 24 lowercase hex characters (12 bytes), as both stores mint them.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct SessionId(String);

impl SessionId {
    /// 24 hex characters (either case), or `None`.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Self(s.to_ascii_lowercase()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where the previous page ended: its last session's start and id. A page holds the sessions
/// strictly before it in the list's order (start descending, then id descending).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SessionCursor {
    pub start: Millis,
    pub id: SessionId,
}

impl SessionCursor {
    pub fn after(s: &Session) -> Option<Self> {
        Some(Self {
            start: s.start,
            id: SessionId::parse(&s.id)?,
        })
    }

    /// The opaque text clients pass back: 16 hex digits of the start, then the id.
    pub fn encode(&self) -> String {
        format!("{:016x}{}", self.start as u64, self.id.as_str())
    }

    pub fn decode(text: &str) -> Option<Self> {
        if text.len() != 40 || !text.is_ascii() {
            return None;
        }
        let start = u64::from_str_radix(&text[..16], 16).ok()? as i64;
        Some(Self {
            start,
            id: SessionId::parse(&text[16..])?,
        })
    }

    /// Whether `s` comes after this cursor in the list (newest first).
    pub fn precedes(&self, s: &Session) -> bool {
        (s.start, s.id.as_str()) < (self.start, self.id.as_str())
    }
}

/// A page of the session list, validated.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct SessionListQuery {
    pub project: ProjectId,
    /// Sessions that started in `[from, to)`.
    pub from: Millis,
    pub to: Millis,
    /// On session fields only.
    pub filters: Vec<Filter>,
    /// Inclusive bounds on `end - start`.
    pub min_duration_ms: Option<u64>,
    pub max_duration_ms: Option<u64>,
    /// Inclusive bounds on the session's page views.
    pub min_pageviews: Option<u32>,
    pub max_pageviews: Option<u32>,
    pub after: Option<SessionCursor>,
    /// Sessions to return at most (the route asks for one more than it shows, to know whether
    /// there is a next page).
    pub limit: usize,
}

impl SessionListQuery {
    /// Whether `s` is on the list (before paging).
    pub fn accepts(&self, s: &Session) -> bool {
        let duration = s.duration_ms().max(0) as u64;
        in_scope(s, &self.project, self.from, self.to, &self.filters)
            && self.min_duration_ms.is_none_or(|m| duration >= m)
            && self.max_duration_ms.is_none_or(|m| duration <= m)
            && self.min_pageviews.is_none_or(|m| s.pageviews >= m)
            && self.max_pageviews.is_none_or(|m| s.pageviews <= m)
            && self.after.as_ref().is_none_or(|c| c.precedes(s))
    }
}

/// The reference: the sessions of the list, newest first (ties by id, descending), at most
/// `limit`.
pub fn session_list(q: &SessionListQuery, sessions: &[Session]) -> Vec<Session> {
    let mut out: Vec<Session> = sessions.iter().filter(|s| q.accepts(s)).cloned().collect();
    out.sort_by(|a, b| (b.start, &b.id).cmp(&(a.start, &a.id)));
    out.truncate(q.limit);
    out
}

/// Whether an event belongs to the session: same project and visitor, `start <= t <= end`.
pub fn belongs(e: &EnrichedEvent, s: &Session) -> bool {
    e.project_id == s.project_id && e.visitor_id == s.visitor_id && s.start <= e.occurred_at && e.occurred_at <= s.end
}

/// The reference: the session's first `limit` events in event order ([`order_key`]).
pub fn session_events(s: &Session, events: &[EnrichedEvent], limit: usize) -> Vec<EnrichedEvent> {
    let mut out: Vec<EnrichedEvent> = events.iter().filter(|e| belongs(e, s)).cloned().collect();
    out.sort_by_key(order_key);
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = SessionCursor {
            start: 1_763_683_200_000,
            id: SessionId::parse("65F0A1B2C3D4E5F601234567").unwrap(),
        };
        assert_eq!(c.id.as_str(), "65f0a1b2c3d4e5f601234567");
        assert_eq!(SessionCursor::decode(&c.encode()), Some(c));
        assert_eq!(SessionCursor::decode("xyz"), None);
        assert_eq!(SessionCursor::decode(&"g".repeat(40)), None);
        assert_eq!(SessionCursor::decode(&"é".repeat(20)), None);
        assert_eq!(SessionId::parse("65f0a1b2c3d4e5f60123456"), None);
    }
}
