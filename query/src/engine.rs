//! The query engine: answers a [`Query`] from a [`Store`], from the rollups when they can answer
//! it and from raw aggregations pushed down to the database otherwise.
//!
//! # Which path
//!
//! The rollups ([`store::analytics::rollup`]) hold, per UTC hour and per UTC day, the counters of
//! one field's values. They answer a query with at most one field dimension (plus a time
//! dimension or the heatmap), and every boundary it needs (range ends, local time buckets) on a
//! UTC hour: every time zone with whole-hour offsets, which is nearly all of them. A UTC day
//! fully inside the range (and inside one time bucket) is read from the daily rollup, the rest
//! hour by hour. Filters are applied from the rollups when they are all on one field and the
//! query groups by no other field (a click on a dashboard row: the top stats, the graph, the
//! heatmap and the clicked panel): every event has exactly one value of a field, so the rows of
//! the values the filters accept hold exactly the filtered events, and for a session field the
//! filtered sessions ([`RollupFilter`]). `conversion_rate` by a field or under a filter needs
//! per-value goal visitors, which rollups do not hold, and so do page goals, the `goal` filter
//! and the `goal` dimension (rows per goal: `engine/goal_rows.rs`). Anything else runs as raw
//! aggregations ([`Store::aggregate_events`] and [`Store::aggregate_sessions`]), which are exact.
//! A query naming the site's stored goals (by id, in a filter, the dimension) reads them first
//! ([`Store::goals_of`]) and resolves the names ([`crate::goals::resolve`]).
//!
//! Rollups are rebuilt by the collector's rollup worker shortly after ingestion (a few seconds);
//! until then a rollup answer lacks the newest events. Visitors from rollups are merged sketches:
//! exact up to [`store::analytics::sketch::EXACT_LIMIT`] visitors, within ~2% beyond.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use store::analytics::rollup::{day_of, DAY_MS, HOUR_MS};
use store::analytics::{
    Counters, EventCounters, EventGroup, Field, Filter, FilterOp, Granularity, RawQuery, RollupDim, SessionGroup,
    Sketch, StoredRollup, TimeBuckets,
};
use store::{GoalKind, Millis, Store, StoreError};

mod goal_rows;

use crate::goals::GoalPlan;
use crate::range::Range;
use crate::request::{Dimension, Direction, Metric, OrderKey, Query, QueryError};
use crate::response::{percent_change, round2, ComparisonValues, Meta, QueryResult, Row, Totals, Value};
use crate::time::{buckets, heatmap_hours};

/// What the engine needs to know about the deployment.
#[derive(Clone, Copy, Debug)]
pub struct EngineOptions {
    /// Hourly rollups older than this are deleted: whole days before it are read from the daily
    /// rollups even when a time zone would want hours (their numbers then follow UTC days).
    pub hourly_kept_since: Millis,
    /// Never answer from rollups (tests of the raw path, and the benchmark's naive baseline).
    pub force_raw: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            hourly_kept_since: Millis::MIN,
            force_raw: false,
        }
    }
}

/// Distinct visitors: an exact count (raw) or a sketch (rollups).
#[derive(Clone, Debug)]
enum Visitors {
    Count(u64),
    Sketch(Sketch),
}

impl Default for Visitors {
    fn default() -> Self {
        Visitors::Count(0)
    }
}

impl Visitors {
    fn value(&self) -> u64 {
        match self {
            Visitors::Count(n) => *n,
            Visitors::Sketch(s) => s.estimate(),
        }
    }

    fn exact(&self) -> bool {
        match self {
            Visitors::Count(_) => true,
            Visitors::Sketch(s) => s.is_exact(),
        }
    }

    fn merge_sketch(&mut self, other: &Sketch) {
        match self {
            Visitors::Sketch(s) => s.merge(other),
            Visitors::Count(n) => {
                debug_assert_eq!(*n, 0, "raw counts never merge with sketches");
                *self = Visitors::Sketch(other.clone());
            }
        }
    }

    /// [`merge_sketch`](Self::merge_sketch) of a sketch no longer needed: the first one is moved
    /// in, not copied (a dense sketch is 16 KiB, and a top-pages query merges thousands).
    fn merge_owned(&mut self, mut other: Sketch) {
        match self {
            // Union is commutative: merge the exact set into the dense copy we own.
            Visitors::Sketch(s) if s.is_exact() && !other.is_exact() => {
                other.merge(s);
                *s = other;
            }
            Visitors::Sketch(s) => s.merge(&other),
            Visitors::Count(n) => {
                debug_assert_eq!(*n, 0, "raw counts never merge with sketches");
                *self = Visitors::Sketch(other);
            }
        }
    }
}

/// Everything the metrics of one row are computed from.
#[derive(Clone, Debug, Default)]
struct Acc {
    c: Counters,
    visitors: Visitors,
    converted: Visitors,
    /// A goal row's (or the goals' totals') denominator of `conversion_rate`: all visitors of
    /// its group under the query's filters, `visitors` being the goal's. `None` elsewhere, where
    /// `conversion_rate` is `converted` over `visitors`.
    all_visitors: Option<u64>,
}

impl Acc {
    fn add_event_group(&mut self, g: &EventGroup) {
        self.c.pageviews += g.pageviews;
        self.c.custom_events += g.custom_events;
        self.c.exits += g.exits;
        self.c.exit_duration_ms += g.exit_duration_ms;
        self.c.scroll_count += g.scroll_count;
        self.c.scroll_sum += g.scroll_sum;
        self.visitors = Visitors::Count(self.visitors.value() + g.visitors);
        self.converted = Visitors::Count(self.converted.value() + g.converted);
    }

    fn add_session_group(&mut self, g: &SessionGroup) {
        self.c.visits += g.visits;
        self.c.bounces += g.bounces;
        self.c.visit_duration_ms += g.duration_ms;
        self.c.session_pageviews += g.pageviews;
    }

    fn add_rollup(&mut self, r: &StoredRollup) {
        self.c.add(&r.row.counters);
        self.visitors.merge_sketch(&r.row.visitors);
    }

    fn add_rollup_owned(&mut self, r: StoredRollup) {
        self.c.add(&r.row.counters);
        self.visitors.merge_owned(r.row.visitors);
    }

    fn metric(&self, m: Metric) -> Value {
        let c = &self.c;
        let ratio = |num: f64, den: u64, scale: f64| {
            if den == 0 {
                Value::Null
            } else {
                Value::Float(round2(num / den as f64 * scale))
            }
        };
        match m {
            Metric::Visitors | Metric::LiveVisitors => Value::Int(self.visitors.value()),
            Metric::Visits => Value::Int(c.visits),
            Metric::Pageviews => Value::Int(c.pageviews),
            Metric::Events => Value::Int(c.custom_events),
            Metric::ViewsPerVisit => ratio(c.session_pageviews as f64, c.visits, 1.0),
            Metric::BounceRate => ratio(c.bounces as f64, c.visits, 100.0),
            Metric::VisitDuration => ratio(c.visit_duration_ms as f64, c.visits, 0.001),
            Metric::TimeOnPage => ratio(c.exit_duration_ms as f64, c.exits, 0.001),
            Metric::ScrollDepth => ratio(c.scroll_sum as f64, c.scroll_count, 1.0),
            Metric::ConversionRate => match self.all_visitors {
                Some(all) => ratio(self.visitors.value() as f64, all, 100.0),
                None => ratio(self.converted.value() as f64, self.visitors.value(), 100.0),
            },
        }
    }
}

/// Where a row belongs: its field values and its time bucket (index or heatmap cell).
type Key = (Vec<String>, Option<i64>);

/// One period's numbers.
struct Period {
    rows: HashMap<Key, Acc>,
    totals: Acc,
    source: &'static str,
    exact: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The query names a goal the project does not have (a 400, like a parse error).
    #[error(transparent)]
    Query(#[from] QueryError),
}

/// How the rows of one period are laid out in time.
enum TimeLayout {
    None,
    /// Local buckets: index `i` covers `[bounds[i], bounds[i+1])`.
    Buckets {
        bounds: Vec<Millis>,
        labels: Vec<String>,
    },
    /// Local hours of the range, each with its weekday x hour cell.
    Heatmap {
        bounds: Vec<Millis>,
        cells: Vec<i64>,
    },
}

impl TimeLayout {
    fn of(q: &Query, range: &Range) -> TimeLayout {
        match q.time_dimension().map(|(_, d)| d) {
            Some(Dimension::Time(unit)) => {
                let bs = buckets(range, q.timezone, *unit);
                let mut bounds: Vec<Millis> = bs.iter().map(|b| b.from).collect();
                bounds.push(bs.last().map_or(range.to, |b| b.to));
                TimeLayout::Buckets {
                    bounds,
                    labels: bs.into_iter().map(|b| b.label).collect(),
                }
            }
            Some(Dimension::Heatmap) => {
                let hours = heatmap_hours(range, q.timezone);
                let mut bounds: Vec<Millis> = hours.iter().map(|h| h.0).collect();
                bounds.push(hours.last().map_or(range.to, |h| h.1));
                TimeLayout::Heatmap {
                    bounds,
                    cells: hours.into_iter().map(|h| h.2).collect(),
                }
            }
            _ => TimeLayout::None,
        }
    }

    fn bounds(&self) -> &[Millis] {
        match self {
            TimeLayout::None => &[],
            TimeLayout::Buckets { bounds, .. } | TimeLayout::Heatmap { bounds, .. } => bounds,
        }
    }

    /// For the raw path: bounds and the label each bucket is grouped under.
    fn raw(&self) -> Option<TimeBuckets> {
        match self {
            TimeLayout::None => None,
            TimeLayout::Buckets { bounds, .. } => Some(TimeBuckets {
                bounds: bounds.clone(),
                labels: (0..bounds.len() as i64 - 1).collect(),
            }),
            TimeLayout::Heatmap { bounds, cells } => Some(TimeBuckets {
                bounds: bounds.clone(),
                labels: cells.clone(),
            }),
        }
    }

    /// The row label of the instant `t` (a rollup bucket's start).
    fn label_of(&self, t: Millis) -> Option<i64> {
        let bounds = self.bounds();
        let i = bounds.partition_point(|&b| b <= t);
        if i == 0 || i >= bounds.len() {
            return None;
        }
        Some(match self {
            TimeLayout::Heatmap { cells, .. } => cells[i - 1],
            _ => (i - 1) as i64,
        })
    }

    /// Whether a row of this label (`None`: no time dimension) has a bucket in this layout.
    fn has_label(&self, label: Option<i64>) -> bool {
        match (self, label) {
            (TimeLayout::Buckets { labels, .. }, Some(l)) => (l as usize) < labels.len(),
            _ => true,
        }
    }

    /// Every label a complete answer has a row for (empty buckets included), in order.
    fn all_labels(&self) -> Vec<i64> {
        match self {
            TimeLayout::None => Vec::new(),
            TimeLayout::Buckets { labels, .. } => (0..labels.len() as i64).collect(),
            TimeLayout::Heatmap { cells, .. } => {
                let mut all = cells.clone();
                all.sort_unstable();
                all.dedup();
                all
            }
        }
    }

    fn dimension_values(&self, label: i64) -> Vec<Value> {
        match self {
            TimeLayout::None => Vec::new(),
            TimeLayout::Buckets { labels, .. } => {
                vec![labels
                    .get(label as usize)
                    .map_or(Value::Null, |l| Value::Text(l.clone()))]
            }
            TimeLayout::Heatmap { .. } => vec![Value::Int((label / 24 + 1) as u64), Value::Int((label % 24) as u64)],
        }
    }
}

fn fields_of(q: &Query) -> Vec<Field> {
    q.dimensions.iter().filter_map(|d| d.field().cloned()).collect()
}

/// The event counters the groups of `q` are read for: a panel of visitors alone needs none, so
/// the store reads less (a query's totals are asked with every counter, so that the panels of
/// one click, which share their filtered totals, share one count of them).
pub(super) fn event_counters(q: &Query) -> EventCounters {
    let needs = |m: &Metric| match m {
        Metric::TimeOnPage | Metric::ScrollDepth => EventCounters::All,
        Metric::Pageviews | Metric::Events => EventCounters::Kinds,
        Metric::Visitors
        | Metric::LiveVisitors
        | Metric::ConversionRate
        | Metric::Visits
        | Metric::ViewsPerVisit
        | Metric::BounceRate
        | Metric::VisitDuration => EventCounters::Visitors,
    };
    q.metrics.iter().map(needs).max().unwrap_or(EventCounters::Visitors)
}

fn wants_events(q: &Query) -> bool {
    q.metrics.iter().any(|m| !m.is_session_metric())
}

fn wants_sessions(q: &Query) -> bool {
    q.metrics.iter().any(|m| m.is_session_metric())
}

/// Whether the rollups can answer `q` over `range` exactly as the raw path would. Goals other
/// than an event goal's `conversion_rate` are not in the rollups: a page goal's converted
/// visitors are those with a page view of a matching path, while the `page` rows count every
/// event on it (a custom event without a page view in the range, a page exit).
fn rollups_can_answer(q: &Query, plan: &GoalPlan, range: &Range, layout: &TimeLayout) -> bool {
    let fields = fields_of(q);
    let Some(filter) = RollupFilter::of(q) else {
        return false;
    };
    let conversion = q.metrics.contains(&Metric::ConversionRate);
    let goals_in_rollups = q.goal_filters.is_empty()
        && !q.dimensions.contains(&Dimension::Goal)
        && !matches!(plan.conversion, Some(GoalKind::Page(_)));
    goals_in_rollups
        && fields.len() <= 1
        && !(conversion && (!fields.is_empty() || filter.is_some()))
        && filter.is_none_or(|f| fields.iter().all(|g| g == f.field))
        && range.from % HOUR_MS == 0
        && range.to % HOUR_MS == 0
        && layout.bounds().iter().all(|b| b % HOUR_MS == 0)
}

/// A query's filters as the rollups apply them: all on one field, whose values they accept or
/// not ([`Filter::accepts`]; `matches` patterns compile once, in `compile_regex`'s cache).
struct RollupFilter<'q> {
    field: &'q Field,
    filters: &'q [Filter],
}

impl<'q> RollupFilter<'q> {
    /// `Some(None)` without filters; `Some(Some(_))` when the rollups can apply them; `None`
    /// when they cannot: filters on several fields, or a prop filter that accepts the empty
    /// value (an event without the prop is in no row of it, yet the raw path gives it the empty
    /// value).
    fn of(q: &'q Query) -> Option<Option<RollupFilter<'q>>> {
        let Some(first) = q.filters.first() else {
            return Some(None);
        };
        if q.filters.iter().any(|f| f.field != first.field) {
            return None;
        }
        let filter = RollupFilter {
            field: &first.field,
            filters: &q.filters,
        };
        if matches!(filter.field, Field::Prop(_)) && filter.accepts("") {
            return None;
        }
        Some(Some(filter))
    }

    /// Whether every filter accepts `value`.
    fn accepts(&self, value: &str) -> bool {
        self.filters.iter().all(|f| f.accepts(value))
    }

    /// The values an `is` filter names (those the other filters accept too): only their rows
    /// need reading. `None` when no filter is an `is`.
    fn named_values(&self) -> Option<Vec<String>> {
        let is = self.filters.iter().find(|f| f.op == FilterOp::Is)?;
        let mut values: Vec<String> = is.values.iter().filter(|v| self.accepts(v)).cloned().collect();
        values.sort_unstable();
        values.dedup();
        Some(values)
    }
}

/// Stretches of time, `[from, to)`.
type Spans = Vec<(Millis, Millis)>;

/// The stretches of the range read from daily rollups (whole UTC days, each inside one time
/// bucket) and from hourly rollups (the rest), as `[from, to)` lists.
fn plan_rollup_reads(range: &Range, layout: &TimeLayout, opts: &EngineOptions) -> (Spans, Spans) {
    let mut days: Spans = Vec::new();
    let mut hours: Spans = Vec::new();
    let push = |list: &mut Spans, from: Millis, to: Millis| match list.last_mut() {
        Some(last) if last.1 == from => last.1 = to,
        _ => list.push((from, to)),
    };
    let mut day = day_of(range.from);
    while day < range.to {
        let (from, to) = (day.max(range.from), (day + DAY_MS).min(range.to));
        let whole = from == day && to == day + DAY_MS;
        let one_bucket = match layout {
            TimeLayout::None => true,
            TimeLayout::Heatmap { .. } => false,
            TimeLayout::Buckets { .. } => layout.label_of(day) == layout.label_of(day + DAY_MS - 1),
        };
        if whole && (one_bucket || day + DAY_MS <= opts.hourly_kept_since) {
            push(&mut days, day, day + DAY_MS);
        } else {
            push(&mut hours, from, to);
        }
        day += DAY_MS;
    }
    (days, hours)
}

/// Every span of a plan with the granularity it is read at.
fn spans_of(reads: &(Spans, Spans)) -> Vec<(Granularity, Millis, Millis)> {
    [(Granularity::Day, &reads.0), (Granularity::Hour, &reads.1)]
        .into_iter()
        .flat_map(|(g, list)| list.iter().map(move |&(from, to)| (g, from, to)))
        .collect()
}

/// Reads the rollup rows of every span at once: each read runs on its own blocking thread and
/// database connection (or server cursor), so a 30-day read takes the time of its largest span,
/// not the sum of all of them.
async fn read_rollups(
    store: &dyn Store,
    q: &Query,
    reads: &(Spans, Spans),
    dim: &RollupDim,
) -> Result<Vec<StoredRollup>, EngineError> {
    let parts = futures_util::future::try_join_all(
        spans_of(reads)
            .into_iter()
            .map(|(granularity, from, to)| store.rollups(&q.project, granularity, from, to, Some(dim))),
    )
    .await?;
    Ok(parts.into_iter().flatten().collect())
}

/// An upper bound of the visitors of a value whose rows count `sum` visitors in all, each row's
/// count exact or not: the union of the rows' visitors is at most the sum of their counts, and
/// when estimates are involved (a row's sketch, or a union past the exact limit) an estimate can
/// land above the true count by HyperLogLog's error (relative standard error 0.81%). 5% plus 16
/// is over six standard errors: no value is left out that the full read would rank higher.
fn visitors_ceiling(sum: u64, all_exact: bool) -> u64 {
    if all_exact && sum <= store::analytics::sketch::EXACT_LIMIT as u64 {
        sum
    } else {
        sum + sum / 20 + 16
    }
}

/// The rows of a field dimension for a top-`limit` query without a time dimension, reading the
/// sketches of only the values that can make the top.
///
/// Sketches are most of a rollup's bytes (up to 16 KiB a row), and a field like `page` has
/// hundreds of values a day: a 30-day top-pages query would otherwise read and merge thousands
/// of them for ten rows. First the rows' summaries (counters and visitor counts, no sketches)
/// are read for every value. When the order's first key is a metric computed from counters,
/// they rank the values exactly, and only the top `limit` (and values tied with the last of
/// them) are read in full. When it is `visitors` descending, the threshold method: read the
/// `limit` values with the highest upper bounds ([`visitors_ceiling`] of the sums of their rows'
/// counts), take the `limit`-th largest visitor count among them, and read every other value
/// whose upper bound reaches it. Otherwise, or when the store cannot read summaries without the
/// sketches ([`Store::reads_summaries_cheaply`]), every row is read.
async fn field_rollups(
    store: &dyn Store,
    q: &Query,
    reads: &(Spans, Spans),
    dim: &RollupDim,
) -> Result<Vec<StoredRollup>, EngineError> {
    let Some(&(OrderKey::Metric(first), direction)) = q.order_by.first() else {
        return read_rollups(store, q, reads, dim).await;
    };
    if !store.reads_summaries_cheaply() {
        return read_rollups(store, q, reads, dim).await;
    }
    let by_visitors = matches!(first, Metric::Visitors) && matches!(direction, Direction::Desc);
    let by_counters = !matches!(first, Metric::Visitors | Metric::LiveVisitors | Metric::ConversionRate);
    if !by_visitors && !by_counters {
        return read_rollups(store, q, reads, dim).await;
    }
    let spans = spans_of(reads);
    let summaries = futures_util::future::try_join_all(
        spans
            .iter()
            .map(|&(g, from, to)| store.rollup_summaries(&q.project, g, from, to, dim)),
    )
    .await?;
    // Per value: its counters, the sum of its rows' visitor counts and whether all were exact.
    let mut values: HashMap<String, (Acc, u64, bool)> = HashMap::new();
    for s in summaries.into_iter().flatten() {
        let (acc, sum, exact) = values.entry(s.value).or_insert_with(|| (Acc::default(), 0, true));
        acc.c.add(&s.counters);
        *sum += s.visitors;
        *exact &= s.visitors_exact;
    }
    if values.len() <= q.limit {
        return read_rollups(store, q, reads, dim).await;
    }
    let read_values = |wanted: Vec<String>| read_rollups_of_values(store, q, reads, dim, wanted);
    if by_counters {
        let mut ranked: Vec<(String, Value)> = values
            .into_iter()
            .map(|(v, (acc, _, _))| (v, acc.metric(first)))
            .collect();
        let order = |a: &Value, b: &Value| match direction {
            Direction::Asc => compare_values(a, b),
            Direction::Desc => compare_values(b, a),
        };
        ranked.sort_by(|a, b| order(&a.1, &b.1));
        let last = ranked[q.limit - 1].1.clone();
        let wanted = ranked
            .into_iter()
            .take_while(|(_, m)| order(m, &last) != Ordering::Greater)
            .map(|(v, _)| v)
            .collect();
        return read_values(wanted).await;
    }
    let mut ranked: Vec<(String, u64)> = values
        .into_iter()
        .map(|(v, (_, sum, exact))| (v, visitors_ceiling(sum, exact)))
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let rest = ranked.split_off(q.limit);
    let first_rows = read_values(ranked.into_iter().map(|(v, _)| v).collect()).await?;
    let mut estimates: HashMap<&str, Visitors> = HashMap::new();
    for r in &first_rows {
        estimates
            .entry(r.row.value.as_str())
            .or_default()
            .merge_sketch(&r.row.visitors);
    }
    let mut top: Vec<u64> = estimates.values().map(Visitors::value).collect();
    top.sort_unstable_by(|a, b| b.cmp(a));
    let threshold = top.get(q.limit - 1).copied().unwrap_or(0);
    let more: Vec<String> = rest
        .into_iter()
        .filter(|(_, ceiling)| *ceiling >= threshold)
        .map(|(v, _)| v)
        .collect();
    let mut rows = first_rows;
    rows.extend(read_values(more).await?);
    Ok(rows)
}

/// The rows of `values` of one dimension, every span read at once.
async fn read_rollups_of_values(
    store: &dyn Store,
    q: &Query,
    reads: &(Spans, Spans),
    dim: &RollupDim,
    values: Vec<String>,
) -> Result<Vec<StoredRollup>, EngineError> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let parts = futures_util::future::try_join_all(
        spans_of(reads)
            .into_iter()
            .map(|(g, from, to)| store.rollups_of_values(&q.project, g, from, to, dim, &values)),
    )
    .await?;
    Ok(parts.into_iter().flatten().collect())
}

/// The rows of the filtered field's values that the filters accept. An `is` filter names them;
/// otherwise the values present in the range are listed from the summaries (no sketches) when
/// the store reads those cheaply, and only the accepted ones read in full.
async fn accepted_rollups(
    store: &dyn Store,
    q: &Query,
    reads: &(Spans, Spans),
    filter: &RollupFilter<'_>,
) -> Result<Vec<StoredRollup>, EngineError> {
    let dim = RollupDim::Field(filter.field.clone());
    if let Some(values) = filter.named_values() {
        return read_rollups_of_values(store, q, reads, &dim, values).await;
    }
    if !store.reads_summaries_cheaply() {
        let mut rows = read_rollups(store, q, reads, &dim).await?;
        rows.retain(|r| filter.accepts(&r.row.value));
        return Ok(rows);
    }
    let summaries = futures_util::future::try_join_all(
        spans_of(reads)
            .into_iter()
            .map(|(g, from, to)| store.rollup_summaries(&q.project, g, from, to, &dim)),
    )
    .await?;
    let present: BTreeSet<String> = summaries.into_iter().flatten().map(|s| s.value).collect();
    let accepted = present.into_iter().filter(|v| filter.accepts(v)).collect();
    read_rollups_of_values(store, q, reads, &dim, accepted).await
}

async fn from_rollups(
    store: &dyn Store,
    q: &Query,
    plan: &GoalPlan,
    range: &Range,
    layout: &TimeLayout,
    opts: &EngineOptions,
) -> Result<Period, EngineError> {
    let field = fields_of(q).into_iter().next();
    let reads = plan_rollup_reads(range, layout, opts);
    let mut rows: HashMap<Key, Acc> = HashMap::new();
    let mut totals = Acc::default();
    // A daily row's label: the bucket of its day (a whole day inside one bucket, see the plan).
    let label = |r: &StoredRollup| match layout {
        TimeLayout::None => None,
        _ => layout.label_of(r.bucket),
    };
    if let Some(filter) = RollupFilter::of(q).flatten() {
        // The accepted values' rows are the filtered totals; grouped by the filtered field
        // itself (the only field the plan allows with a filter), they are the rows too.
        for r in accepted_rollups(store, q, &reads, &filter).await? {
            totals.add_rollup(&r);
            let key = match (&field, layout) {
                (Some(_), _) => (vec![r.row.value.clone()], label(&r)),
                (None, TimeLayout::None) => continue,
                (None, _) => (Vec::new(), label(&r)),
            };
            rows.entry(key).or_default().add_rollup_owned(r);
        }
        let exact = totals.visitors.exact() && rows.values().all(|a| a.visitors.exact());
        return Ok(Period {
            rows,
            totals,
            source: "rollup",
            exact,
        });
    }
    let field_dim = field.clone().map(RollupDim::Field);
    let (total_rows, field_rows) =
        futures_util::future::try_join(read_rollups(store, q, &reads, &RollupDim::Total), async {
            match &field_dim {
                // Only a top list needs no more than its top values; a timeline by field needs all.
                Some(dim) if matches!(layout, TimeLayout::None) => field_rollups(store, q, &reads, dim).await,
                Some(dim) => read_rollups(store, q, &reads, dim).await,
                None => Ok(Vec::new()),
            }
        })
        .await?;
    for r in &total_rows {
        totals.add_rollup(r);
        if field.is_none() && !matches!(layout, TimeLayout::None) {
            rows.entry((Vec::new(), label(r))).or_default().add_rollup(r);
        }
    }
    if field.is_some() {
        for r in field_rows {
            let key = (vec![r.row.value.clone()], label(&r));
            rows.entry(key).or_default().add_rollup_owned(r);
        }
    }
    if let (Some(GoalKind::Event(goal)), true) = (&plan.conversion, q.metrics.contains(&Metric::ConversionRate)) {
        let goal_rows = read_rollups(store, q, &reads, &RollupDim::Field(Field::EventName)).await?;
        for r in goal_rows.iter().filter(|r| &r.row.value == goal) {
            totals.converted.merge_sketch(&r.row.visitors);
            if field.is_none() && !matches!(layout, TimeLayout::None) {
                rows.entry((Vec::new(), label(r)))
                    .or_default()
                    .converted
                    .merge_sketch(&r.row.visitors);
            }
        }
    }
    let exact = totals.visitors.exact() && rows.values().all(|a| a.visitors.exact() && a.converted.exact());
    Ok(Period {
        rows,
        totals,
        source: "rollup",
        exact,
    })
}

async fn from_raw(
    store: &dyn Store,
    q: &Query,
    plan: &GoalPlan,
    range: &Range,
    layout: &TimeLayout,
) -> Result<Period, EngineError> {
    let fields = fields_of(q);
    let goal = plan
        .conversion
        .clone()
        .filter(|_| q.metrics.contains(&Metric::ConversionRate));
    let grouped = RawQuery {
        project: q.project,
        from: range.from,
        to: range.to,
        filters: q.filters.clone(),
        group: fields.clone(),
        time: layout.raw(),
        goal,
        goal_filters: plan.filters.clone(),
        by_goal: Vec::new(),
        counters: event_counters(q),
    };
    let whole = RawQuery {
        group: Vec::new(),
        time: None,
        counters: EventCounters::All,
        ..grouped.clone()
    };
    let grouped_needed = !fields.is_empty() || !matches!(layout, TimeLayout::None);
    let (events, sessions) = (wants_events(q), wants_sessions(q));
    // The (up to) four aggregations run at once, each on its own database connection or cursor.
    let (event_totals, event_rows, session_totals, session_rows) = futures_util::future::try_join4(
        async {
            if events {
                store.aggregate_events(&whole).await
            } else {
                Ok(Vec::new())
            }
        },
        async {
            if events && grouped_needed {
                store.aggregate_events(&grouped).await
            } else {
                Ok(Vec::new())
            }
        },
        async {
            if sessions {
                store.aggregate_sessions(&whole).await
            } else {
                Ok(Vec::new())
            }
        },
        async {
            if sessions && grouped_needed {
                store.aggregate_sessions(&grouped).await
            } else {
                Ok(Vec::new())
            }
        },
    )
    .await?;
    let mut rows: HashMap<Key, Acc> = HashMap::new();
    let mut totals = Acc::default();
    for g in &event_totals {
        totals.add_event_group(g);
    }
    for g in &event_rows {
        rows.entry((g.keys.clone(), g.bucket)).or_default().add_event_group(g);
    }
    for g in &session_totals {
        totals.add_session_group(g);
    }
    for g in &session_rows {
        rows.entry((g.keys.clone(), g.bucket)).or_default().add_session_group(g);
    }
    Ok(Period {
        rows,
        totals,
        source: "raw",
        exact: true,
    })
}

async fn period(
    store: &dyn Store,
    q: &Query,
    plan: &GoalPlan,
    range: &Range,
    opts: &EngineOptions,
) -> Result<(Period, TimeLayout), EngineError> {
    let layout = TimeLayout::of(q, range);
    let p = if q.dimensions.contains(&Dimension::Goal) {
        goal_rows::period(store, q, plan, range, &layout, opts).await?
    } else if !opts.force_raw && rollups_can_answer(q, plan, range, &layout) {
        from_rollups(store, q, plan, range, &layout, opts).await?
    } else {
        from_raw(store, q, plan, range, &layout).await?
    };
    Ok((p, layout))
}

fn metrics_of(q: &Query, acc: &Acc) -> Vec<Value> {
    q.metrics.iter().map(|m| acc.metric(*m)).collect()
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(n) => Some(*n as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    }
}

fn comparison(q: &Query, current: &[Value], dimensions: Vec<Value>, acc: &Acc) -> ComparisonValues {
    let metrics = metrics_of(q, acc);
    let change = current
        .iter()
        .zip(&metrics)
        .map(|(now, before)| match (as_number(now), as_number(before)) {
            (Some(now), Some(before)) => percent_change(now, before),
            _ => None,
        })
        .collect();
    ComparisonValues {
        dimensions,
        metrics,
        change,
    }
}

/// The output dimension values of a row, in the query's dimension order.
fn dimension_values(q: &Query, key: &Key, layout: &TimeLayout) -> Vec<Value> {
    let mut fields = key.0.iter();
    let mut out = Vec::new();
    for d in &q.dimensions {
        match d {
            Dimension::Field(_) | Dimension::Goal => out.push(match fields.next() {
                Some(v) if !v.is_empty() => Value::Text(v.clone()),
                _ => Value::Null,
            }),
            _ => out.extend(layout.dimension_values(key.1.unwrap_or(-1))),
        }
    }
    out
}

fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        _ => as_number(a)
            .unwrap_or(0.0)
            .partial_cmp(&as_number(b).unwrap_or(0.0))
            .unwrap_or(Ordering::Equal),
    }
}

/// Answers `q` at `now`.
pub async fn run(store: &dyn Store, q: &Query, opts: &EngineOptions) -> Result<QueryResult, EngineError> {
    let started = Instant::now();
    let project_goals = if q.needs_project_goals() {
        store.goals_of(&q.project).await?
    } else {
        Vec::new()
    };
    let plan = crate::goals::resolve(q, &project_goals)?;
    let (main, layout) = period(store, q, &plan, &q.range, opts).await?;
    let previous = match &q.comparison_range {
        Some(range) => Some(period(store, q, &plan, range, opts).await?),
        None => None,
    };

    // Every key to answer: the rows found, plus every time bucket when there is no field
    // dimension (a timeline has a point for each bucket, zero or not; by goal, the goal rows
    // hold every bucket already).
    let mut keys: Vec<Key> = main.rows.keys().cloned().collect();
    if !q.dimensions.iter().any(Dimension::is_keyed) {
        for label in layout.all_labels() {
            let key = (Vec::new(), Some(label));
            if !main.rows.contains_key(&key) {
                keys.push(key);
            }
        }
    }
    let empty = Acc::default();
    let mut rows: Vec<(Key, Row)> = keys
        .into_iter()
        .map(|key| {
            let acc = main.rows.get(&key).unwrap_or(&empty);
            let metrics = metrics_of(q, acc);
            let comparison = previous.as_ref().and_then(|(p, p_layout)| {
                // Time buckets match by position (day 3 with the earlier period's day 3), the
                // heatmap by cell, fields by value. A custom comparison range shorter than the
                // range has no bucket for the last ones: no comparison there, rather than zeros.
                if !p_layout.has_label(key.1) {
                    return None;
                }
                let acc = p.rows.get(&key).unwrap_or(&empty);
                Some(comparison(q, &metrics, dimension_values(q, &key, p_layout), acc))
            });
            let row = Row {
                dimensions: dimension_values(q, &key, &layout),
                metrics,
                comparison,
            };
            (key, row)
        })
        .collect();

    let order = q.order_by.clone();
    rows.sort_by(|(ka, a), (kb, b)| {
        for (key, dir) in &order {
            let ord = match key {
                OrderKey::Metric(m) => {
                    let i = q.metrics.iter().position(|x| x == m).unwrap_or(0);
                    compare_values(&a.metrics[i], &b.metrics[i])
                }
                OrderKey::Dimension(d) => match &q.dimensions[*d] {
                    Dimension::Field(_) | Dimension::Goal => {
                        let i = q.dimensions[..*d].iter().filter(|x| x.is_keyed()).count();
                        ka.0.get(i).cmp(&kb.0.get(i))
                    }
                    _ => ka.1.cmp(&kb.1),
                },
            };
            let ord = if matches!(dir, Direction::Desc) {
                ord.reverse()
            } else {
                ord
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        // Deterministic ties: by time, then by the field values.
        ka.1.cmp(&kb.1).then_with(|| ka.0.cmp(&kb.0))
    });
    rows.truncate(q.limit);

    let totals_metrics = metrics_of(q, &main.totals);
    let totals = Totals {
        comparison: previous
            .as_ref()
            .map(|(p, _)| comparison(q, &totals_metrics, Vec::new(), &p.totals)),
        metrics: totals_metrics,
    };
    let exact = main.exact && previous.as_ref().is_none_or(|(p, _)| p.exact);
    let results = if q.dimensions.is_empty() {
        // Without dimensions the answer is one row: the totals (docs/query-api.md).
        vec![Row {
            dimensions: Vec::new(),
            metrics: totals.metrics.clone(),
            comparison: totals.comparison.clone(),
        }]
    } else {
        rows.into_iter().map(|(_, r)| r).collect()
    };
    Ok(QueryResult {
        columns: q.columns(),
        results,
        totals,
        meta: Meta {
            date_range: q.range.iso(),
            comparison_date_range: q.comparison_range.as_ref().map(|r| r.iso()),
            timezone: q.timezone.name().to_owned(),
            source: main.source,
            visitors_exact: exact,
            took_ms: started.elapsed().as_secs_f64() * 1000.0,
        },
    })
}

/// The `GET /api/stats` shortcut (seed 002): one UTC day's page views, unique visitors and top
/// paths by page views.
pub async fn daily_stats(
    store: &dyn Store,
    project: &contract::ids::ProjectId,
    day_start: Millis,
    top: usize,
) -> Result<(u64, u64, Vec<(String, u64)>), EngineError> {
    let q = RawQuery::range(*project, day_start, day_start + DAY_MS);
    // The day's rollups when built (daily row), else the raw events.
    let day_rows = store
        .rollups(project, Granularity::Day, day_start, day_start + DAY_MS, None)
        .await?;
    if !day_rows.is_empty() {
        let mut views = 0;
        let mut visitors = 0;
        let mut paths: Vec<(String, u64)> = Vec::new();
        for r in &day_rows {
            match &r.row.dim {
                RollupDim::Total => {
                    views = r.row.counters.pageviews;
                    visitors = r.row.visitors.estimate();
                }
                RollupDim::Field(Field::Page) if r.row.counters.pageviews > 0 => {
                    paths.push((r.row.value.clone(), r.row.counters.pageviews))
                }
                _ => {}
            }
        }
        paths.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        paths.truncate(top);
        return Ok((views, visitors, paths));
    }
    let total = store.aggregate_events(&q).await?;
    let (views, visitors) = total.first().map_or((0, 0), |g| (g.pageviews, g.visitors));
    let by_page = store
        .aggregate_events(&RawQuery {
            group: vec![Field::Page],
            ..q
        })
        .await?;
    let mut paths: Vec<(String, u64)> = by_page
        .into_iter()
        .filter(|g| g.pageviews > 0)
        .map(|g| (g.keys.into_iter().next().unwrap_or_default(), g.pageviews))
        .collect();
    paths.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    paths.truncate(top);
    Ok((views, visitors, paths))
}

/// Rebuilds the rollups of the dirty hours (at most `limit`), then the UTC days they fall in.
/// Returns how many marks were handled. What the collector's rollup worker runs in a loop.
///
/// `hourly_kept_since` is the retention cut-off of raw events and hourly rollups
/// ([`store::analytics::Retention::hourly_before`]). An hour before it is not rebuilt (its events
/// are gone or going, and so is its rollup), and neither is a day that starts before it: its
/// daily rollup was built when all its hours were there, and rebuilding it from the hours left
/// would drop the expired ones. A late event in such a day reaches its hour, not its day.
pub async fn rebuild_dirty(store: &dyn Store, limit: usize, hourly_kept_since: Millis) -> Result<usize, EngineError> {
    let marks = store.dirty_hours(limit).await?;
    let mut days = BTreeSet::new();
    for mark in marks.iter().filter(|m| m.hour >= hourly_kept_since) {
        rebuild_hour(store, &mark.project, mark.hour).await?;
        let day = day_of(mark.hour);
        if day >= hourly_kept_since {
            days.insert((mark.project, day));
        }
    }
    for (project, day) in &days {
        rebuild_day(store, project, *day).await?;
    }
    // Cleared last: a crash before this point only means the same hours are rebuilt again.
    for mark in &marks {
        store.clear_dirty(mark).await?;
    }
    Ok(marks.len())
}

/// Rebuilds one hour's rollup from its events and their visitors' sessions.
pub async fn rebuild_hour(
    store: &dyn Store,
    project: &contract::ids::ProjectId,
    hour: Millis,
) -> Result<(), EngineError> {
    let events = store.events(project, hour, hour + HOUR_MS).await?;
    let mut visitors: Vec<_> = events.iter().map(|e| e.visitor_id).collect();
    visitors.sort_unstable();
    visitors.dedup();
    let sessions = store.sessions_of_visitors(project, &visitors).await?;
    // Sessions that started in the hour all belong to visitors with an event in it (their first).
    let rows = store::analytics::rollup::build(&events, &sessions, hour, hour + HOUR_MS);
    store.replace_rollups(project, Granularity::Hour, hour, &rows).await?;
    Ok(())
}

/// Rebuilds one UTC day's rollup from its hourly rollups.
pub async fn rebuild_day(
    store: &dyn Store,
    project: &contract::ids::ProjectId,
    day: Millis,
) -> Result<(), EngineError> {
    let hours = store
        .rollups(project, Granularity::Hour, day, day + DAY_MS, None)
        .await?;
    let rows = store::analytics::rollup::merge(hours.into_iter().map(|r| r.row));
    store.replace_rollups(project, Granularity::Day, day, &rows).await?;
    Ok(())
}
