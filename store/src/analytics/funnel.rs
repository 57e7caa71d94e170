//! Funnels: how many visitors went through a sequence of steps (page views of a page pattern,
//! custom events by name) in that order within one visit. [`FunnelQuery`] is what both backends
//! compute in the database ([`crate::Store::funnel`]); [`brute_force`] is the reference semantics,
//! in plain Rust, that the conformance suite and the ground-truth test hold them to.
//!
//! # What a funnel counts
//!
//! * Scope: the project's sessions that **started** in `[from, to)` and pass the filters (session
//!   fields only, [`Filter::accepts`] on [`session_value`]; `page` is the entry page). All events
//!   of such a session count, also those after `to`.
//! * In one session, ordered by [`crate::sessions::order_key`] (time, kind, event id): step 1 is
//!   the session's first event matching step 1; step k is the first event strictly after step
//!   k-1's event that matches step k ([`FunnelStep::matches`]). Scanning the events once in order,
//!   taking each event that matches the step awaited, finds exactly these.
//! * A visitor reaches step k when one of its sessions in scope did; counts are distinct
//!   visitors. Visitor ids change daily, so a funnel never spans days through one visitor's
//!   sessions: each session is judged alone.
//! * The time from step k-1 to step k is `t(step k) - t(step k-1)` over the sessions that reached
//!   step k; [`FunnelStepCount::median_ms_from_previous`] is its lower median, `sorted[(n-1)/2]`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use contract::enriched::EnrichedEvent;
use contract::ids::ProjectId;
use contract::wire::{EventName, PAGEVIEW, PATH_CHANGE};
use serde::{Deserialize, Serialize};

use super::{session_value, Filter, PagePattern};
use crate::sessions::{order_key, Session};
use crate::Millis;

/// Fewest steps of a funnel: one step is a count, not a funnel.
pub const MIN_FUNNEL_STEPS: usize = 2;
/// Most steps of a funnel: each one is another pass over a session's matching events in both
/// stores, and eight cover a sign-up or checkout flow.
pub const MAX_FUNNEL_STEPS: usize = 8;

/// One step: page views whose path matches a pattern, or custom events with a name.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunnelStep {
    Page(PagePattern),
    /// A custom event's name (never `pageview`, `path_change` or `page_exit`: see
    /// [`FunnelStep::event`]).
    Event(CustomEventName),
}

/// The name of a custom event: what [`EventName::parse`] accepts, other than the three names
/// the tracker sends for page views and exits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CustomEventName(String);

impl CustomEventName {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.trim() != s {
            return Err("must not start or end with white space");
        }
        match EventName::parse(s) {
            Ok(EventName::Custom(name)) => Ok(Self(name)),
            Ok(_) => Err("names a page view or a page exit, not a custom event: use a page step"),
            Err(contract::wire::EventError::Name(why)) => Err(why),
            Err(_) => Err("is not an event name"),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CustomEventName {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<CustomEventName> for String {
    fn from(n: CustomEventName) -> String {
        n.0
    }
}

/// Whether an event is a page view (`pageview` or `path_change`).
pub fn is_page_view(e: &EnrichedEvent) -> bool {
    e.name == PAGEVIEW || e.name == PATH_CHANGE
}

impl FunnelStep {
    /// Whether `e` is this step: a page view whose path matches, or a custom event of the name.
    pub fn matches(&self, e: &EnrichedEvent) -> bool {
        match self {
            FunnelStep::Page(pattern) => is_page_view(e) && pattern.matches(&e.path),
            // A custom event's name never equals a page view's or exit's (CustomEventName).
            FunnelStep::Event(name) => e.name == name.as_str(),
        }
    }

    /// The step's label in answers: the pattern or the name.
    pub fn label(&self) -> &str {
        match self {
            FunnelStep::Page(p) => p.as_str(),
            FunnelStep::Event(n) => n.as_str(),
        }
    }
}

/// The steps of a funnel: [`MIN_FUNNEL_STEPS`] to [`MAX_FUNNEL_STEPS`] of them.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(try_from = "Vec<FunnelStep>", into = "Vec<FunnelStep>")]
pub struct FunnelSteps(Vec<FunnelStep>);

impl FunnelSteps {
    pub fn new(steps: Vec<FunnelStep>) -> Result<Self, String> {
        if !(MIN_FUNNEL_STEPS..=MAX_FUNNEL_STEPS).contains(&steps.len()) {
            return Err(format!(
                "a funnel has {MIN_FUNNEL_STEPS} to {MAX_FUNNEL_STEPS} steps, not {}",
                steps.len()
            ));
        }
        Ok(Self(steps))
    }

    pub fn as_slice(&self) -> &[FunnelStep] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never: a funnel has at least [`MIN_FUNNEL_STEPS`].
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl TryFrom<Vec<FunnelStep>> for FunnelSteps {
    type Error = String;
    fn try_from(steps: Vec<FunnelStep>) -> Result<Self, String> {
        Self::new(steps)
    }
}

impl From<FunnelSteps> for Vec<FunnelStep> {
    fn from(s: FunnelSteps) -> Self {
        s.0
    }
}

/// One funnel to compute: the sessions of `project` started in `[from, to)` that pass `filters`
/// (session fields only: the caller refuses the others), and the steps.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct FunnelQuery {
    pub project: ProjectId,
    pub from: Millis,
    pub to: Millis,
    pub filters: Vec<Filter>,
    pub steps: FunnelSteps,
}

/// What a store answers for one step.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct FunnelStepCount {
    /// Distinct visitors with a session in scope that reached the step.
    pub visitors: u64,
    /// The lower median of the time from the previous step's event to this step's over the
    /// sessions that reached it, ms; `None` for the first step and when no session reached it.
    pub median_ms_from_previous: Option<u64>,
}

/// One [`FunnelStepCount`] per step, in order.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct FunnelCounts {
    pub steps: Vec<FunnelStepCount>,
}

impl FunnelCounts {
    /// Builds the answer from what the databases compute: per session, how many steps it
    /// reached (`reached_by_visitor`: each visitor's best session) and, per step index from 1,
    /// the lower median time from the previous step. Shared by both stores so the final shape
    /// (cumulative visitors, absent medians) has one definition.
    pub fn from_best_reach(
        steps: usize,
        best_reach: impl IntoIterator<Item = usize>,
        medians: &BTreeMap<usize, u64>,
    ) -> Self {
        let mut at_least = vec![0u64; steps + 1];
        for reached in best_reach {
            at_least[reached.min(steps)] += 1;
        }
        // Visitors whose best session reached exactly k steps reached every step up to k.
        for k in (0..steps).rev() {
            at_least[k] += at_least[k + 1];
        }
        FunnelCounts {
            steps: (0..steps)
                .map(|k| FunnelStepCount {
                    visitors: at_least[k + 1],
                    median_ms_from_previous: if k == 0 { None } else { medians.get(&k).copied() },
                })
                .collect(),
        }
    }
}

/// Whether a session is in the query's scope.
pub fn in_scope(q: &FunnelQuery, s: &Session) -> bool {
    s.project_id == q.project
        && q.from <= s.start
        && s.start < q.to
        && q.filters.iter().all(|f| f.accepts(&session_value(&f.field, s)))
}

/// The times of the step events one session reached, in step order (the greedy scan of the
/// module documentation). `events` must be the session's events in event order.
pub fn session_path<'a>(steps: &[FunnelStep], events: impl IntoIterator<Item = &'a EnrichedEvent>) -> Vec<Millis> {
    let mut times = Vec::new();
    for e in events {
        match steps.get(times.len()) {
            Some(step) if step.matches(e) => times.push(e.occurred_at),
            Some(_) => {}
            None => break,
        }
    }
    times
}

/// The reference answer, from a project's events and sessions (as [`crate::sessions::fold`]
/// gives them); other projects' records are ignored.
pub fn brute_force(q: &FunnelQuery, events: &[EnrichedEvent], sessions: &[Session]) -> FunnelCounts {
    let steps = q.steps.as_slice();
    let scope: Vec<&Session> = sessions.iter().filter(|s| in_scope(q, s)).collect();
    let visitors: BTreeSet<_> = scope.iter().map(|s| s.visitor_id).collect();
    let mut by_visitor: HashMap<_, Vec<&EnrichedEvent>> = HashMap::new();
    for e in events
        .iter()
        .filter(|e| e.project_id == q.project && visitors.contains(&e.visitor_id))
    {
        by_visitor.entry(e.visitor_id).or_default().push(e);
    }
    for list in by_visitor.values_mut() {
        list.sort_by_cached_key(|e| order_key(e));
    }
    let mut best: BTreeMap<_, usize> = BTreeMap::new();
    let mut deltas: Vec<Vec<u64>> = vec![Vec::new(); steps.len()];
    for s in scope {
        let own = by_visitor.get(&s.visitor_id).map(Vec::as_slice).unwrap_or_default();
        let in_session = own
            .iter()
            .copied()
            .filter(|e| s.start <= e.occurred_at && e.occurred_at <= s.end);
        let times = session_path(steps, in_session);
        for k in 1..times.len() {
            deltas[k].push(u64::try_from(times[k] - times[k - 1]).unwrap_or(0));
        }
        let reach = best.entry(s.visitor_id).or_default();
        *reach = (*reach).max(times.len());
    }
    let medians: BTreeMap<usize, u64> = deltas
        .into_iter()
        .enumerate()
        .filter(|(_, d)| !d.is_empty())
        .map(|(k, mut d)| {
            d.sort_unstable();
            (k, d[(d.len() - 1) / 2])
        })
        .collect();
    FunnelCounts::from_best_reach(steps.len(), best.into_values(), &medians)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::{fold, testing::event};

    const T0: Millis = 1_763_683_200_000;

    /// The sessions of `events`, one fold per visitor.
    fn sessions_of(events: &[EnrichedEvent]) -> Vec<Session> {
        let mut by_visitor: BTreeMap<_, Vec<&EnrichedEvent>> = BTreeMap::new();
        for e in events {
            by_visitor.entry(e.visitor_id).or_default().push(e);
        }
        let mut next = 0;
        by_visitor
            .values()
            .flat_map(|mine| {
                fold(vec![], mine, &mut || {
                    next += 1;
                    format!("s{next}")
                })
                .sessions
            })
            .collect()
    }

    fn page(p: &str) -> FunnelStep {
        FunnelStep::Page(PagePattern::parse(p).unwrap())
    }

    fn custom(n: &str) -> FunnelStep {
        FunnelStep::Event(CustomEventName::parse(n).unwrap())
    }

    fn query(steps: Vec<FunnelStep>) -> FunnelQuery {
        FunnelQuery {
            project: ProjectId::from_bytes([1; 12]),
            from: T0,
            to: T0 + 86_400_000,
            filters: Vec::new(),
            steps: FunnelSteps::new(steps).unwrap(),
        }
    }

    #[test]
    fn steps_are_counted_in_order_within_a_session() {
        let p = ProjectId::from_bytes([1; 12]);
        let events = vec![
            // Visitor 1: / -> /pricing -> signup, and /pricing again later.
            event(p, 1, "a1", "pageview", T0, "/"),
            event(p, 1, "a2", "path_change", T0 + 1_000, "/pricing"),
            event(p, 1, "a3", "signup", T0 + 5_000, "/pricing"),
            event(p, 1, "a4", "path_change", T0 + 6_000, "/pricing"),
            // Visitor 2: /pricing before / (out of order): reaches step 1 only.
            event(p, 2, "b1", "pageview", T0, "/pricing"),
            event(p, 2, "b2", "path_change", T0 + 2_000, "/"),
            // Visitor 3: / then /pricing in a second session (an hour later): step 1 only... and
            // the second session starts at /pricing, no / before it.
            event(p, 3, "c1", "pageview", T0, "/"),
            event(p, 3, "c2", "pageview", T0 + 3_600_000, "/pricing"),
            // Visitor 4: / -> /pricing after 3 s, no signup.
            event(p, 4, "d1", "pageview", T0, "/"),
            event(p, 4, "d2", "path_change", T0 + 3_000, "/pricing"),
        ];
        let sessions = sessions_of(&events);
        let got = brute_force(
            &query(vec![page("/"), page("/pricing"), custom("signup")]),
            &events,
            &sessions,
        );
        let visitors: Vec<u64> = got.steps.iter().map(|s| s.visitors).collect();
        assert_eq!(visitors, vec![4, 2, 1]);
        // Deltas 1 s and 3 s: the lower median is 1 s.
        assert_eq!(got.steps[1].median_ms_from_previous, Some(1_000));
        assert_eq!(got.steps[2].median_ms_from_previous, Some(4_000));
        assert_eq!(got.steps[0].median_ms_from_previous, None);
    }

    #[test]
    fn a_step_needs_an_event_strictly_after_the_previous_one() {
        let p = ProjectId::from_bytes([1; 12]);
        // One page view cannot be both steps of "/ then /*".
        let events = vec![event(p, 1, "a1", "pageview", T0, "/")];
        let sessions = sessions_of(&events);
        let got = brute_force(&query(vec![page("/"), page("/*")]), &events, &sessions);
        assert_eq!(got.steps.iter().map(|s| s.visitors).collect::<Vec<_>>(), vec![1, 0]);
        assert_eq!(got.steps[1].median_ms_from_previous, None);
    }

    #[test]
    fn steps_and_names_are_validated() {
        assert!(FunnelSteps::new(vec![page("/")]).is_err());
        assert!(FunnelSteps::new(vec![page("/"); MAX_FUNNEL_STEPS + 1]).is_err());
        assert!(CustomEventName::parse("pageview").is_err());
        assert!(CustomEventName::parse("page_exit").is_err());
        assert!(CustomEventName::parse(" signup").is_err());
        assert!(CustomEventName::parse("").is_err());
        assert_eq!(CustomEventName::parse("signup").unwrap().as_str(), "signup");
        let json = serde_json::to_string(&vec![page("/a"), custom("b")]).unwrap();
        assert_eq!(json, r#"[{"page":"/a"},{"event":"b"}]"#);
    }
}
