//! Aggregations over the stored events and sessions, pushed down to the database (SQL in
//! SQLite, an aggregation pipeline in MongoDB). The query engine uses them when the rollups
//! cannot answer: filters, several dimensions, time zones with non-hour offsets, minute ranges.

use serde::{Deserialize, Serialize};

use super::Field;
use crate::{GoalKind, Millis};
use contract::ids::ProjectId;

/// Longest regular expression a `matches` filter may hold, bytes.
pub const MAX_REGEX_BYTES: usize = 1_000;
/// Compiled size limit of a `matches` regular expression (the `regex` crate's own `size_limit`),
/// so a pathological pattern is refused instead of eating memory.
pub const MAX_REGEX_COMPILED_BYTES: usize = 256 * 1024;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum FilterOp {
    /// The value equals one of the filter's values.
    Is,
    /// The value equals none of the filter's values.
    IsNot,
    /// The value contains one of the filter's values (case-sensitive substring).
    Contains,
    /// The value matches one of the filter's regular expressions (unanchored, Rust `regex` syntax).
    Matches,
}

/// One condition; a query's filters are AND-combined, a filter's values OR-combined.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Filter {
    pub op: FilterOp,
    pub field: Field,
    /// At least one value. For [`FilterOp::Matches`], patterns that compile (checked by the caller).
    pub values: Vec<String>,
}

impl Filter {
    /// Whether `value` passes this filter: the reference semantics both backends implement.
    pub fn accepts(&self, value: &str) -> bool {
        match self.op {
            FilterOp::Is => self.values.iter().any(|v| v == value),
            FilterOp::IsNot => !self.values.iter().any(|v| v == value),
            FilterOp::Contains => self.values.iter().any(|v| value.contains(v.as_str())),
            FilterOp::Matches => self
                .values
                .iter()
                .any(|p| compile_regex(p).is_ok_and(|re| re.is_match(value))),
        }
    }
}

/// Compiled patterns kept for reuse ([`compile_regex`]); past it the cache starts over.
pub const REGEX_CACHE_ENTRIES: usize = 256;

/// Compiles a `matches` pattern under the size limits, once per distinct pattern: the query
/// parser, the rollup path and SQLite's `metrics_regexp` all ask for the same patterns, and a
/// large one takes milliseconds to compile. (A `Regex` is a handle: clones share the program.)
pub fn compile_regex(pattern: &str) -> Result<regex::Regex, String> {
    static CACHE: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, regex::Regex>>> =
        std::sync::LazyLock::new(Default::default);
    if pattern.len() > MAX_REGEX_BYTES {
        return Err(format!("is longer than {MAX_REGEX_BYTES} bytes"));
    }
    let cache = || CACHE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(re) = cache().get(pattern) {
        return Ok(re.clone());
    }
    // Compiled outside the lock: another pattern's compilation does not wait for this one.
    let re = regex::RegexBuilder::new(pattern)
        .size_limit(MAX_REGEX_COMPILED_BYTES)
        .dfa_size_limit(MAX_REGEX_COMPILED_BYTES)
        .build()
        .map_err(|e| e.to_string())?;
    let mut cache = cache();
    if cache.len() >= REGEX_CACHE_ENTRIES {
        cache.clear();
    }
    cache.insert(pattern.to_owned(), re.clone());
    Ok(re)
}

/// Time buckets of a raw aggregation: `bounds` holds `labels.len() + 1` increasing instants; a
/// record at `t` with `bounds[i] <= t < bounds[i + 1]` is grouped under `labels[i]`. Labels may
/// repeat (the weekday x hour heatmap maps every Monday 9:00 to one label).
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct TimeBuckets {
    pub bounds: Vec<Millis>,
    pub labels: Vec<i64>,
}

impl TimeBuckets {
    /// The label of the bucket holding `t`, if any.
    pub fn label_of(&self, t: Millis) -> Option<i64> {
        let i = self.bounds.partition_point(|&b| b <= t);
        (i > 0 && i < self.bounds.len()).then(|| self.labels[i - 1])
    }
}

/// One raw aggregation. Events: those with `from <= occurred_at < to`; sessions: those with
/// `from <= start < to`. Both then pass `filters` and, with `time`, fall in a bucket.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct RawQuery {
    pub project: ProjectId,
    pub from: Millis,
    pub to: Millis,
    pub filters: Vec<Filter>,
    /// Group by these fields' values, in this order ([`EventGroup::keys`]).
    pub group: Vec<Field>,
    pub time: Option<TimeBuckets>,
    /// The goal whose visitors [`EventGroup::converted`] counts: those with an event that
    /// completes it ([`GoalKind::completed_by`]).
    pub goal: Option<GoalKind>,
    /// The query API's `["is", "goal", …]` filters: each list keeps the events that complete one
    /// of its goals (lists AND-combined, a list's goals OR-combined; an empty list keeps none).
    /// Events only: sessions are not filtered by goal (the engine refuses to ask).
    pub goal_filters: Vec<Vec<GoalKind>>,
    /// Group by goal too: an event is counted once in each group of a goal of this list it
    /// completes, and not at all when it completes none. [`EventGroup::keys`] then starts with
    /// the goal's index in this list (decimal text), followed by the values of `group`. Events
    /// only: sessions ignore it.
    pub by_goal: Vec<GoalKind>,
    /// Which event counters the caller reads: a store may give more, and give 0 for the others.
    #[serde(default)]
    pub counters: EventCounters,
}

/// The event counters a raw aggregation must give beside the groups' visitors (and converted
/// visitors). A panel of visitors alone lets the digests skip reading each event's kind, exit
/// duration and scroll depth: most of the memory a filtered scan reads, and memory bandwidth is
/// what bounds the scans a click runs at once on a small machine. Ordered: each gives more than
/// the one before.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Default, Serialize, Deserialize)]
pub enum EventCounters {
    /// None of [`EventGroup`]'s counters.
    Visitors,
    /// `pageviews` and `custom_events`.
    Kinds,
    /// Every counter.
    #[default]
    All,
}

impl RawQuery {
    /// Everything of `project` in `[from, to)`, in one group: no filters, groups, buckets or goals
    /// (set those fields on the result).
    pub fn range(project: ProjectId, from: Millis, to: Millis) -> RawQuery {
        RawQuery {
            project,
            from,
            to,
            filters: Vec::new(),
            group: Vec::new(),
            time: None,
            goal: None,
            goal_filters: Vec::new(),
            by_goal: Vec::new(),
            counters: EventCounters::All,
        }
    }

    /// Whether an event passes the goal filters ([`RawQuery::goal_filters`]).
    pub fn goal_filters_accept(&self, e: &contract::enriched::EnrichedEvent) -> bool {
        self.goal_filters
            .iter()
            .all(|any_of| any_of.iter().any(|g| g.completed_by(e)))
    }
}

/// Event metrics of one group.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct EventGroup {
    /// Values of [`RawQuery::group`], in order (after the goal's index with
    /// [`RawQuery::by_goal`]).
    pub keys: Vec<String>,
    /// The time bucket's label, with [`RawQuery::time`].
    pub bucket: Option<i64>,
    /// `pageview` and `path_change` events.
    pub pageviews: u64,
    /// Events other than `pageview`, `path_change` and `page_exit`.
    pub custom_events: u64,
    /// `page_exit` events and the sum of their engaged time.
    pub exits: u64,
    pub exit_duration_ms: u64,
    /// `page_exit` events that report a scroll depth, and the sum of those depths (percent).
    pub scroll_count: u64,
    pub scroll_sum: u64,
    /// Distinct visitors with any event in the group.
    pub visitors: u64,
    /// Distinct visitors with an event completing [`RawQuery::goal`] in the group.
    pub converted: u64,
}

/// Session metrics of one group.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct SessionGroup {
    pub keys: Vec<String>,
    pub bucket: Option<i64>,
    pub visits: u64,
    /// Sessions that are bounces ([`crate::Session::is_bounce`]).
    pub bounces: u64,
    /// Sum of `end - start`, ms.
    pub duration_ms: u64,
    /// Sum of the sessions' page views.
    pub pageviews: u64,
    /// Distinct visitors of the sessions.
    pub visitors: u64,
}
