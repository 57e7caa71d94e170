//! What the ground-truth tests share.

use std::collections::BTreeMap;

use contract::enriched::EnrichedEvent;
use store::sessions::{fold, Session};

/// The sessions of `events` as one fold per visitor makes them, with ids that parse as session
/// ids (24 hex characters): the brute force's sessions, independent of any store.
pub fn sessions_of(events: &[EnrichedEvent]) -> Vec<Session> {
    let mut by_visitor: BTreeMap<u64, Vec<&EnrichedEvent>> = BTreeMap::new();
    for e in events {
        by_visitor.entry(e.visitor_id.0).or_default().push(e);
    }
    let mut n = 0;
    let mut mint = || {
        n += 1;
        format!("{n:024x}")
    };
    by_visitor
        .values()
        .flat_map(|evs| fold(Vec::new(), evs, &mut mint).sessions)
        .collect()
}
