//! Rollups: per time bucket (a UTC hour, or a UTC day), per field value, the counters of every
//! metric and a visitor [`Sketch`].
//!
//! A bucket's rollup is a pure function of the events that occurred in it and of the sessions
//! those events belong to: [`build`]. So it is never updated in place; ingestion marks the hours
//! it touched ([`touched_hours`]) and the collector's rollup worker rebuilds each marked hour from
//! the stored events, then the hour's UTC day from its 24 hourly rollups ([`merge`]). Rebuilding
//! is idempotent, so two collectors doing it at once, or a crash half-way, leave no error behind.
//!
//! Row semantics are those of [`super`]: event counters and the visitor sketch count the bucket's
//! events whose value (their own, or their session's) is the row's; session counters count the
//! sessions that *started* in the bucket whose own value is the row's. Rows for event names and
//! props carry no session counters. An event without a given prop is in no row of that prop.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use contract::enrich::VisitorId;
use contract::enriched::EnrichedEvent;
use contract::wire::{PAGEVIEW, PAGE_EXIT, PATH_CHANGE};
use serde::{Deserialize, Serialize};

use super::{event_value, session_value, Field, Sketch};
use crate::{Millis, Session};

pub const HOUR_MS: Millis = 3_600_000;
pub const DAY_MS: Millis = 24 * HOUR_MS;

/// The start of the UTC hour holding `t`.
pub fn hour_of(t: Millis) -> Millis {
    t.div_euclid(HOUR_MS) * HOUR_MS
}

/// The start of the UTC day holding `t`.
pub fn day_of(t: Millis) -> Millis {
    t.div_euclid(DAY_MS) * DAY_MS
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub enum Granularity {
    /// Buckets are UTC hours: any time zone with whole-hour offsets lines up with them.
    Hour,
    /// Buckets are UTC days: kept longer, read for whole days inside a query's range.
    Day,
}

impl Granularity {
    pub fn bucket_ms(self) -> Millis {
        match self {
            Granularity::Hour => HOUR_MS,
            Granularity::Day => DAY_MS,
        }
    }

    pub fn code(self) -> i64 {
        match self {
            Granularity::Hour => 0,
            Granularity::Day => 1,
        }
    }

    /// The start of the bucket holding `t`.
    pub fn bucket_of(self, t: Millis) -> Millis {
        match self {
            Granularity::Hour => hour_of(t),
            Granularity::Day => day_of(t),
        }
    }

    /// The starts of the buckets starting in `[from, to)`, oldest first, or `None` if there are
    /// more than `max`: stores list them to look rows up by key rather than scan a range.
    pub fn buckets_in(self, from: Millis, to: Millis, max: usize) -> Option<Vec<Millis>> {
        let step = self.bucket_ms();
        let floor = self.bucket_of(from);
        let first = if floor < from { floor + step } else { floor };
        let buckets: Vec<Millis> = (0..)
            .map(|i| first + i * step)
            .take_while(|b| *b < to)
            .take(max + 1)
            .collect();
        (buckets.len() <= max).then_some(buckets)
    }
}

/// What a rollup row is grouped by: nothing (the bucket's totals) or one field.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub enum RollupDim {
    Total,
    Field(Field),
}

impl RollupDim {
    /// The stored name: `total`, or the field's API name (`page`, `props.plan`).
    pub fn key(&self) -> String {
        match self {
            RollupDim::Total => "total".to_owned(),
            RollupDim::Field(f) => f.name(),
        }
    }

    pub fn parse_key(key: &str) -> Option<RollupDim> {
        if key == "total" {
            return Some(RollupDim::Total);
        }
        Field::parse(key).map(RollupDim::Field)
    }
}

/// Everything the metrics are computed from, as sums (so rows add up across buckets).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Counters {
    /// Events: `pageview` + `path_change`.
    pub pageviews: u64,
    /// Events other than page views and exits.
    pub custom_events: u64,
    /// `page_exit` events, and their engaged time.
    pub exits: u64,
    pub exit_duration_ms: u64,
    /// `page_exit` events reporting a scroll depth, and the sum of the depths.
    pub scroll_count: u64,
    pub scroll_sum: u64,
    /// Sessions started in the bucket; bounces among them; sum of their durations and page views.
    pub visits: u64,
    pub bounces: u64,
    pub visit_duration_ms: u64,
    pub session_pageviews: u64,
}

impl Counters {
    pub fn add(&mut self, o: &Counters) {
        self.pageviews += o.pageviews;
        self.custom_events += o.custom_events;
        self.exits += o.exits;
        self.exit_duration_ms += o.exit_duration_ms;
        self.scroll_count += o.scroll_count;
        self.scroll_sum += o.scroll_sum;
        self.visits += o.visits;
        self.bounces += o.bounces;
        self.visit_duration_ms += o.visit_duration_ms;
        self.session_pageviews += o.session_pageviews;
    }

    fn count_event(&mut self, e: &EnrichedEvent) {
        match e.name.as_str() {
            PAGEVIEW | PATH_CHANGE => self.pageviews += 1,
            PAGE_EXIT => {
                self.exits += 1;
                self.exit_duration_ms += e.duration_ms.unwrap_or(0);
                if let Some(s) = e.scroll_depth {
                    self.scroll_count += 1;
                    self.scroll_sum += u64::from(s);
                }
            }
            _ => self.custom_events += 1,
        }
    }

    fn count_session(&mut self, s: &Session) {
        self.visits += 1;
        self.bounces += u64::from(s.is_bounce());
        self.visit_duration_ms += u64::try_from(s.duration_ms()).unwrap_or(0);
        self.session_pageviews += u64::from(s.pageviews);
    }
}

/// One row of a bucket.
#[derive(Clone, PartialEq, Debug)]
pub struct RollupRow {
    pub dim: RollupDim,
    /// The field's value (empty for [`RollupDim::Total`] and for missing values).
    pub value: String,
    pub counters: Counters,
    /// Visitors of the row's events.
    pub visitors: Sketch,
}

/// A row as stored, with its bucket's start.
#[derive(Clone, PartialEq, Debug)]
pub struct StoredRollup {
    pub bucket: Millis,
    pub row: RollupRow,
}

/// A rollup row without its sketch ([`crate::Store::rollup_summaries`]).
#[derive(Clone, PartialEq, Debug)]
pub struct RollupSummary {
    pub bucket: Millis,
    pub value: String,
    pub counters: Counters,
    /// The row's visitors: its sketch's estimate, exact when `visitors_exact`.
    pub visitors: u64,
    pub visitors_exact: bool,
}

impl RollupSummary {
    pub fn of(r: &StoredRollup) -> Self {
        Self {
            bucket: r.bucket,
            value: r.row.value.clone(),
            counters: r.row.counters,
            visitors: r.row.visitors.estimate(),
            visitors_exact: r.row.visitors.is_exact(),
        }
    }
}

/// One visitor's sessions, to find the one an event belongs to.
fn session_index(sessions: &[Session]) -> HashMap<VisitorId, Vec<&Session>> {
    let mut by_visitor: HashMap<VisitorId, Vec<&Session>> = HashMap::new();
    for s in sessions {
        by_visitor.entry(s.visitor_id).or_default().push(s);
    }
    for list in by_visitor.values_mut() {
        list.sort_by_key(|s| s.start);
    }
    by_visitor
}

/// The session of `e` among its visitor's sessions (sorted by start): the one spanning its time.
pub fn session_of<'a>(index: &HashMap<VisitorId, Vec<&'a Session>>, e: &EnrichedEvent) -> Option<&'a Session> {
    let list = index.get(&e.visitor_id)?;
    let i = list.partition_point(|s| s.start <= e.occurred_at);
    (i > 0 && list[i - 1].end >= e.occurred_at).then(|| list[i - 1])
}

/// The rollup of the bucket `[from, to)`: `events` are (at least) the bucket's events, `sessions`
/// (at least) every session of their visitors. Rows come sorted by dimension and value.
pub fn build(events: &[EnrichedEvent], sessions: &[Session], from: Millis, to: Millis) -> Vec<RollupRow> {
    let index = session_index(sessions);
    let mut rows: BTreeMap<(RollupDim, String), (Counters, Sketch)> = BTreeMap::new();
    for e in events.iter().filter(|e| from <= e.occurred_at && e.occurred_at < to) {
        let session = session_of(&index, e);
        let mut dims: Vec<(RollupDim, String)> = Vec::with_capacity(Field::FIXED.len() + 1 + e.props.len());
        dims.push((RollupDim::Total, String::new()));
        for f in Field::FIXED {
            let value = event_value(&f, e, session);
            dims.push((RollupDim::Field(f), value));
        }
        for (k, v) in &e.props {
            dims.push((RollupDim::Field(Field::Prop(k.clone())), v.clone()));
        }
        for (dim, value) in dims {
            let (counters, sketch) = rows.entry((dim, value)).or_default();
            counters.count_event(e);
            sketch.insert(e.visitor_id.0);
        }
    }
    for s in sessions.iter().filter(|s| from <= s.start && s.start < to) {
        rows.entry((RollupDim::Total, String::new()))
            .or_default()
            .0
            .count_session(s);
        for f in Field::FIXED.iter().filter(|f| f.is_session_field()) {
            let key = (RollupDim::Field(f.clone()), session_value(f, s));
            rows.entry(key).or_default().0.count_session(s);
        }
    }
    rows.into_iter()
        .map(|((dim, value), (counters, visitors))| RollupRow {
            dim,
            value,
            counters,
            visitors,
        })
        .collect()
}

/// Adds rows up by (dimension, value): counters summed, sketches merged. Sorted like [`build`].
pub fn merge(rows: impl IntoIterator<Item = RollupRow>) -> Vec<RollupRow> {
    let mut merged: BTreeMap<(RollupDim, String), (Counters, Sketch)> = BTreeMap::new();
    for r in rows {
        let (counters, sketch) = merged.entry((r.dim, r.value)).or_default();
        counters.add(&r.counters);
        sketch.merge(&r.visitors);
    }
    merged
        .into_iter()
        .map(|((dim, value), (counters, visitors))| RollupRow {
            dim,
            value,
            counters,
            visitors,
        })
        .collect()
}

/// The UTC hours whose rollups change when `events` are folded into `sessions` (the visitors'
/// sessions after the fold): each event's hour, and every hour of the session holding it, from
/// its start (its visit counters change) to its end (its other events carry its entry and exit
/// pages, source, etc., which the new event may have changed). `removed_starts` are the starts of
/// sessions merged away (their events are inside the merged session's hours).
pub fn touched_hours<'a>(
    events: impl IntoIterator<Item = &'a EnrichedEvent>,
    sessions: &[Session],
    removed_starts: &[Millis],
) -> BTreeSet<Millis> {
    let index = session_index(sessions);
    let mut hours: BTreeSet<Millis> = removed_starts.iter().map(|&t| hour_of(t)).collect();
    for e in events {
        hours.insert(hour_of(e.occurred_at));
        if let Some(s) = session_of(&index, e) {
            hours.extend((hour_of(s.start)..=hour_of(s.end)).step_by(HOUR_MS as usize));
        }
    }
    hours
}

/// A rollup hour waiting to be rebuilt. `version` grows each time ingestion marks it again, so
/// clearing a mark read before a new ingest does not lose that ingest.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DirtyHour {
    pub project: contract::ids::ProjectId,
    pub hour: Millis,
    pub version: i64,
}

/// Cut-offs of the retention sweep: what is older is deleted.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Retention {
    /// Events (by occurrence), sessions (by start) and dirty marks before this.
    pub raw_before: Millis,
    pub hourly_before: Millis,
    pub daily_before: Millis,
}

/// What a retention sweep deleted.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Expired {
    pub events: u64,
    pub sessions: u64,
    pub rollups: u64,
}
