//! Journeys: the most frequent sequences of pages and custom events within sessions, what
//! `POST /api/v1/journeys` answers and a Sankey diagram draws.
//!
//! # Semantics (every backend computes exactly this; [`journeys`] is the reference)
//!
//! * Scope: the project's sessions that started in `[from, to)` and pass the filters (on session
//!   fields, [`crate::analytics::session_value`]). An event belongs to the session of its
//!   visitor with `start <= occurred_at <= end`.
//! * A session's *steps*: its page views (`pageview`, `path_change`: the path) and custom events
//!   (anything but those and `page_exit`: the name), in event order ([`crate::sessions::order_key`]),
//!   a page step dropped when the step before it is the same page (a reload is not a step).
//! * The journey of a session: from its first page step matching `start` (sessions without one
//!   are out), or from its first step without `start`, up to `depth` steps (fewer where the
//!   session ends). Depth 1 is the start.
//! * Counts are distinct visitors: a visitor is at a node when one of its sessions is.
//! * Nodes: per depth, the top `limit` (by visitors, ties by kind, `event` before `page`, then
//!   value). Links: between nodes shown at consecutive depths, visitors whose session went from
//!   one to the other. Paths: the top `limit` whole journeys (ties by their steps compared in
//!   order, a shorter path before its extensions). Depths: visitors at each depth, and their
//!   drop-off, the visitors at that depth minus those at the next (at the last depth, the next
//!   is the one past the requested depth: those who went no further).

use std::collections::{BTreeMap, BTreeSet};

use contract::enriched::EnrichedEvent;
use contract::ids::ProjectId;
use contract::wire::{PAGEVIEW, PAGE_EXIT, PATH_CHANGE};
use serde::{Deserialize, Serialize};

use super::{session_value, Filter, PagePattern};
use crate::sessions::{order_key, Session};
use crate::Millis;

/// Deepest journey: six steps already show where visits go, and every extra depth multiplies the
/// paths to rank.
pub const MAX_JOURNEY_DEPTH: u32 = 6;
/// Depth when the request does not say.
pub const DEFAULT_JOURNEY_DEPTH: u32 = 3;
/// Most nodes per depth and most paths in an answer (what a diagram can show legibly).
pub const MAX_JOURNEY_LIMIT: u32 = 50;
/// Nodes per depth and paths when the request does not say.
pub const DEFAULT_JOURNEY_LIMIT: u32 = 10;

/// A journey depth, `1..=MAX_JOURNEY_DEPTH`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct JourneyDepth(u32);

impl JourneyDepth {
    pub fn new(depth: u32) -> Option<Self> {
        (1..=MAX_JOURNEY_DEPTH).contains(&depth).then_some(Self(depth))
    }
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for JourneyDepth {
    fn default() -> Self {
        Self(DEFAULT_JOURNEY_DEPTH)
    }
}

/// How many nodes per depth and paths an answer holds, `1..=MAX_JOURNEY_LIMIT`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct JourneyLimit(u32);

impl JourneyLimit {
    pub fn new(limit: u32) -> Option<Self> {
        (1..=MAX_JOURNEY_LIMIT).contains(&limit).then_some(Self(limit))
    }
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for JourneyLimit {
    fn default() -> Self {
        Self(DEFAULT_JOURNEY_LIMIT)
    }
}

/// What a step is. Ordered as the API names sort: `event` before `page`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub enum StepKind {
    Event,
    Page,
}

impl StepKind {
    /// The API name: `event` or `page`.
    pub fn name(self) -> &'static str {
        match self {
            StepKind::Event => "event",
            StepKind::Page => "page",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "event" => Some(StepKind::Event),
            "page" => Some(StepKind::Page),
            _ => None,
        }
    }
}

/// One step of a journey: a page (its path) or a custom event (its name).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct Step {
    pub kind: StepKind,
    pub value: String,
}

impl Step {
    /// The step an event makes, `None` for a `page_exit`.
    pub fn of(e: &EnrichedEvent) -> Option<Step> {
        match e.name.as_str() {
            PAGE_EXIT => None,
            PAGEVIEW | PATH_CHANGE => Some(Step::page(&e.path)),
            name => Some(Step::event(name)),
        }
    }

    /// A page view of `path`.
    pub fn page(path: &str) -> Step {
        Step {
            kind: StepKind::Page,
            value: path.to_owned(),
        }
    }

    /// A custom event named `name`.
    pub fn event(name: &str) -> Step {
        Step {
            kind: StepKind::Event,
            value: name.to_owned(),
        }
    }
}

/// A journeys query, validated.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct JourneyQuery {
    pub project: ProjectId,
    pub from: Millis,
    pub to: Millis,
    /// On session fields only (the parser refuses the others).
    pub filters: Vec<Filter>,
    pub start: Option<PagePattern>,
    pub depth: JourneyDepth,
    pub limit: JourneyLimit,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct NodeCount {
    /// 1 for the start.
    pub depth: u32,
    pub step: Step,
    pub visitors: u64,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct LinkCount {
    /// The depth of `from` (`to` is one deeper).
    pub depth: u32,
    pub from: Step,
    pub to: Step,
    pub visitors: u64,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct PathCount {
    pub steps: Vec<Step>,
    pub visitors: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct DepthCount {
    pub depth: u32,
    pub visitors: u64,
    pub drop_off: u64,
}

/// A journeys answer, in the order [`Journeys::sorted`] gives.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Journeys {
    /// By depth, then visitors (most first), then step.
    pub nodes: Vec<NodeCount>,
    /// By depth, then visitors (most first), then `from`, then `to`.
    pub links: Vec<LinkCount>,
    /// By visitors (most first), then steps.
    pub paths: Vec<PathCount>,
    /// Depths `1..=depth`, each present (with 0 visitors when nobody got there).
    pub depths: Vec<DepthCount>,
}

impl Journeys {
    /// The canonical order of every list (backends compute the same sets, maybe in another order).
    pub fn sorted(mut self) -> Self {
        self.nodes.sort_by(|a, b| {
            (a.depth, std::cmp::Reverse(a.visitors), &a.step).cmp(&(b.depth, std::cmp::Reverse(b.visitors), &b.step))
        });
        self.links.sort_by(|a, b| {
            (a.depth, std::cmp::Reverse(a.visitors), &a.from, &a.to).cmp(&(
                b.depth,
                std::cmp::Reverse(b.visitors),
                &b.from,
                &b.to,
            ))
        });
        self.paths
            .sort_by(|a, b| (std::cmp::Reverse(a.visitors), &a.steps).cmp(&(std::cmp::Reverse(b.visitors), &b.steps)));
        self.depths.sort_by_key(|d| d.depth);
        self
    }
}

/// [`Journeys::depths`] from the visitors at depths `1..=depth + 1` (`reached[i]` at depth
/// `i + 1`; missing entries are 0).
pub fn depth_counts(depth: JourneyDepth, reached: &[u64]) -> Vec<DepthCount> {
    let at = |i: usize| reached.get(i).copied().unwrap_or(0);
    (0..depth.get() as usize)
        .map(|i| DepthCount {
            depth: i as u32 + 1,
            visitors: at(i),
            drop_off: at(i).saturating_sub(at(i + 1)),
        })
        .collect()
}

/// A session's steps, from its events (any order; `page_exit`s are skipped).
pub fn session_steps(events: &[&EnrichedEvent]) -> Vec<Step> {
    let mut ordered: Vec<&&EnrichedEvent> = events.iter().collect();
    ordered.sort_by_key(|e| order_key(e));
    let mut steps: Vec<Step> = Vec::new();
    for step in ordered.into_iter().filter_map(|e| Step::of(e)) {
        let reload = step.kind == StepKind::Page && steps.last() == Some(&step);
        if !reload {
            steps.push(step);
        }
    }
    steps
}

/// The journey of a session of these steps: from the first page step matching `start` (or the
/// first step), at most `len` steps; `None` when it has no such start.
pub fn journey_of(steps: &[Step], start: Option<&PagePattern>, len: usize) -> Option<Vec<Step>> {
    let first = match start {
        None => (!steps.is_empty()).then_some(0)?,
        Some(p) => steps
            .iter()
            .position(|s| s.kind == StepKind::Page && p.matches(&s.value))?,
    };
    Some(steps[first..].iter().take(len).cloned().collect())
}

/// Whether a session is in the query's scope.
pub fn in_scope(s: &Session, project: &ProjectId, from: Millis, to: Millis, filters: &[Filter]) -> bool {
    s.project_id == *project
        && from <= s.start
        && s.start < to
        && filters.iter().all(|f| f.accepts(&session_value(&f.field, s)))
}

/// The reference computation, by brute force over every event and session given.
pub fn journeys(q: &JourneyQuery, events: &[EnrichedEvent], sessions: &[Session]) -> Journeys {
    let depth = q.depth.get() as usize;
    let limit = q.limit.get() as usize;
    // Visitors per depth (1..=depth+1), per node, per link, per path.
    let mut reached: Vec<BTreeSet<u64>> = vec![BTreeSet::new(); depth + 1];
    let mut nodes: BTreeMap<(u32, Step), BTreeSet<u64>> = BTreeMap::new();
    let mut links: BTreeMap<(u32, Step, Step), BTreeSet<u64>> = BTreeMap::new();
    let mut paths: BTreeMap<Vec<Step>, BTreeSet<u64>> = BTreeMap::new();
    for s in sessions
        .iter()
        .filter(|s| in_scope(s, &q.project, q.from, q.to, &q.filters))
    {
        let mine: Vec<&EnrichedEvent> = events
            .iter()
            .filter(|e| {
                e.project_id == s.project_id
                    && e.visitor_id == s.visitor_id
                    && s.start <= e.occurred_at
                    && e.occurred_at <= s.end
            })
            .collect();
        let Some(journey) = journey_of(&session_steps(&mine), q.start.as_ref(), depth + 1) else {
            continue;
        };
        let visitor = s.visitor_id.0;
        for (i, step) in journey.iter().enumerate() {
            reached[i].insert(visitor);
            if i < depth {
                nodes.entry((i as u32 + 1, step.clone())).or_default().insert(visitor);
            }
            if i + 1 < depth && i + 1 < journey.len() {
                links
                    .entry((i as u32 + 1, step.clone(), journey[i + 1].clone()))
                    .or_default()
                    .insert(visitor);
            }
        }
        let shown = journey.len().min(depth);
        paths.entry(journey[..shown].to_vec()).or_default().insert(visitor);
    }

    let mut shown_nodes: Vec<NodeCount> = Vec::new();
    for d in 1..=depth as u32 {
        let mut at_depth: Vec<NodeCount> = nodes
            .iter()
            .filter(|((nd, _), _)| *nd == d)
            .map(|((_, step), v)| NodeCount {
                depth: d,
                step: step.clone(),
                visitors: v.len() as u64,
            })
            .collect();
        at_depth
            .sort_by(|a, b| (std::cmp::Reverse(a.visitors), &a.step).cmp(&(std::cmp::Reverse(b.visitors), &b.step)));
        at_depth.truncate(limit);
        shown_nodes.extend(at_depth);
    }
    let is_shown = |d: u32, step: &Step| shown_nodes.iter().any(|n| n.depth == d && n.step == *step);
    let shown_links: Vec<LinkCount> = links
        .iter()
        .filter(|((d, from, to), _)| is_shown(*d, from) && is_shown(d + 1, to))
        .map(|((d, from, to), v)| LinkCount {
            depth: *d,
            from: from.clone(),
            to: to.clone(),
            visitors: v.len() as u64,
        })
        .collect();
    let mut top_paths: Vec<PathCount> = paths
        .into_iter()
        .map(|(steps, v)| PathCount {
            steps,
            visitors: v.len() as u64,
        })
        .collect();
    top_paths.sort_by(|a, b| (std::cmp::Reverse(a.visitors), &a.steps).cmp(&(std::cmp::Reverse(b.visitors), &b.steps)));
    top_paths.truncate(limit);
    let reached: Vec<u64> = reached.iter().map(|v| v.len() as u64).collect();
    Journeys {
        nodes: shown_nodes,
        links: shown_links,
        paths: top_paths,
        depths: depth_counts(q.depth, &reached),
    }
    .sorted()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::testing::event;

    #[test]
    fn steps_skip_exits_and_reloads_but_not_repeated_events() {
        let p = ProjectId::from_bytes([1; 12]);
        let evs = [
            event(p, 1, "e1", PAGEVIEW, 10, "/"),
            event(p, 1, "e2", PAGE_EXIT, 20, "/"),
            event(p, 1, "e3", PAGEVIEW, 20, "/"), // a reload, after its exit in the same ms
            event(p, 1, "e4", "signup", 30, "/"),
            event(p, 1, "e5", "signup", 31, "/"),
            event(p, 1, "e6", PATH_CHANGE, 40, "/"), // the same page after an event: a step
            event(p, 1, "e7", PATH_CHANGE, 50, "/docs"),
        ];
        let refs: Vec<&EnrichedEvent> = evs.iter().rev().collect();
        assert_eq!(
            session_steps(&refs),
            vec![
                Step::page("/"),
                Step::event("signup"),
                Step::event("signup"),
                Step::page("/"),
                Step::page("/docs")
            ]
        );
    }

    #[test]
    fn a_journey_starts_at_the_first_matching_page() {
        let steps = [
            Step::page("/"),
            Step::event("x"),
            Step::page("/docs/a"),
            Step::page("/docs/b"),
            Step::page("/"),
        ];
        let docs = PagePattern::parse("/docs/*").unwrap();
        assert_eq!(
            journey_of(&steps, Some(&docs), 2),
            Some(vec![Step::page("/docs/a"), Step::page("/docs/b")])
        );
        assert_eq!(
            journey_of(&steps, None, 2),
            Some(vec![Step::page("/"), Step::event("x")])
        );
        let missing = PagePattern::parse("/nope").unwrap();
        assert_eq!(journey_of(&steps, Some(&missing), 2), None);
        assert_eq!(journey_of(&[], None, 2), None);
    }

    #[test]
    fn depth_counts_drop_off_to_the_next_depth() {
        let d = JourneyDepth::new(3).unwrap();
        let counts = depth_counts(d, &[10, 6, 2, 1]);
        assert_eq!(
            counts
                .iter()
                .map(|c| (c.depth, c.visitors, c.drop_off))
                .collect::<Vec<_>>(),
            vec![(1, 10, 4), (2, 6, 4), (3, 2, 1)]
        );
        assert_eq!(JourneyDepth::new(0), None);
        assert_eq!(JourneyDepth::new(7), None);
        assert_eq!(JourneyLimit::new(51), None);
    }
}
