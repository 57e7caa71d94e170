//! The request: its JSON parsed and validated into a [`Query`]. Every refusal is a [`QueryError`]
//! naming the offending element (`metrics[2]`, `filters[0][1]`, `date_range`, ...), so a client
//! can point at it.

use chrono_tz::Tz;
use contract::ids::ProjectId;
use serde_json::{Map, Value};
use store::analytics::raw::compile_regex;
use store::analytics::{Field, Filter, FilterOp};
use store::Millis;

use crate::goals::{parse_goal, parse_goal_filter, GoalFilter, GoalRef};
pub use crate::range::{Compare, Range, MAX_RANGE_DAYS};

/// Most metrics in one query (every metric once).
pub const MAX_METRICS: usize = 11;
/// Most dimensions in one query: each one multiplies the rows, and three answer every dashboard panel.
pub const MAX_DIMENSIONS: usize = 3;
/// Most filters in one query (AND-combined).
pub const MAX_FILTERS: usize = 20;
// A saved segment's filters are a query's: the store's limit on them must be this one.
const _: () = assert!(MAX_FILTERS == store::MAX_SEGMENT_FILTERS);
/// Most values in one filter (OR-combined).
pub const MAX_FILTER_VALUES: usize = 100;
/// Most bytes of `matches` patterns in one query, all filters together. Every pattern is tried
/// on every candidate value, so this bounds the matching work per row (one pattern may hold
/// up to [`store::analytics::raw::MAX_REGEX_BYTES`]).
pub const MAX_QUERY_PATTERN_BYTES: usize = 4_096;
/// Longest filter value or pattern, in bytes (the longest URL the contract accepts).
pub const MAX_FILTER_VALUE_BYTES: usize = contract::limits::MAX_URL_BYTES;
/// Longest range that may be grouped by `time:minute`: a day is 1440 buckets, already more than a
/// chart can show; longer ranges belong to `time:hour`.
pub const MAX_MINUTE_RANGE_MS: Millis = 24 * 3_600_000;
/// Rows returned when the request does not say.
pub const DEFAULT_LIMIT: usize = 100;
/// Most rows one query may return.
pub const MAX_LIMIT: usize = 10_000;
/// Longest goal (an event name), in characters: the contract's limit on event names.
pub const MAX_GOAL_CHARS: usize = contract::limits::MAX_EVENT_NAME_CHARS;
/// The top-level fields of a request.
pub const REQUEST_FIELDS: [&str; 11] = [
    "project_id",
    "metrics",
    "dimensions",
    "filters",
    "date_range",
    "timezone",
    "order_by",
    "limit",
    "compare",
    "match_day_of_week",
    "goal",
];

/// What a query measures. See `docs/query-api.md` for the exact definition of each.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Metric {
    Visitors,
    Visits,
    Pageviews,
    ViewsPerVisit,
    BounceRate,
    VisitDuration,
    TimeOnPage,
    ScrollDepth,
    Events,
    ConversionRate,
    LiveVisitors,
}

impl Metric {
    /// Every metric, in the order the API documents them.
    pub const ALL: [Metric; 11] = [
        Metric::Visitors,
        Metric::Visits,
        Metric::Pageviews,
        Metric::ViewsPerVisit,
        Metric::BounceRate,
        Metric::VisitDuration,
        Metric::TimeOnPage,
        Metric::ScrollDepth,
        Metric::Events,
        Metric::ConversionRate,
        Metric::LiveVisitors,
    ];

    /// The API name.
    pub fn name(&self) -> &'static str {
        match self {
            Metric::Visitors => "visitors",
            Metric::Visits => "visits",
            Metric::Pageviews => "pageviews",
            Metric::ViewsPerVisit => "views_per_visit",
            Metric::BounceRate => "bounce_rate",
            Metric::VisitDuration => "visit_duration",
            Metric::TimeOnPage => "time_on_page",
            Metric::ScrollDepth => "scroll_depth",
            Metric::Events => "events",
            Metric::ConversionRate => "conversion_rate",
            Metric::LiveVisitors => "live_visitors",
        }
    }

    pub fn parse(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Counted over sessions that started in the range (visits, bounce_rate, visit_duration,
    /// views_per_visit), which have no event name or props.
    pub fn is_session_metric(&self) -> bool {
        matches!(
            self,
            Metric::Visits | Metric::BounceRate | Metric::VisitDuration | Metric::ViewsPerVisit
        )
    }

    /// Whether the value is an integer count (visitors, visits, pageviews, events, live_visitors);
    /// the others are floats rounded to 2 decimals.
    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            Metric::Visitors | Metric::Visits | Metric::Pageviews | Metric::Events | Metric::LiveVisitors
        )
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The size of a time bucket.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum TimeUnit {
    /// Only over ranges of at most [`MAX_MINUTE_RANGE_MS`] (the realtime view's last 30 minutes).
    Minute,
    Hour,
    Day,
    /// Monday to Sunday.
    Week,
    Month,
}

impl TimeUnit {
    pub fn name(&self) -> &'static str {
        match self {
            TimeUnit::Minute => "minute",
            TimeUnit::Hour => "hour",
            TimeUnit::Day => "day",
            TimeUnit::Week => "week",
            TimeUnit::Month => "month",
        }
    }
}

/// What rows are grouped by.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Dimension {
    Field(Field),
    /// Local time buckets ([`crate::time::buckets`]).
    Time(TimeUnit),
    /// Weekday x local hour ([`crate::time::heatmap_hours`]): two output columns, `weekday`
    /// (1 = Monday .. 7 = Sunday) and `hour` (0..23).
    Heatmap,
    /// The project's goals, a row each ([`crate::goals`]).
    Goal,
}

/// Plausible-style aliases of the fields, `prefix:name` -> our name.
const EVENT_ALIASES: [(&str, Field); 3] = [
    ("event:page", Field::Page),
    ("event:hostname", Field::Hostname),
    ("event:name", Field::EventName),
];
const VISIT_ALIASES: [(&str, Field); 15] = [
    ("visit:entry_page", Field::EntryPage),
    ("visit:exit_page", Field::ExitPage),
    ("visit:source", Field::Source),
    ("visit:referrer", Field::Referrer),
    ("visit:utm_source", Field::UtmSource),
    ("visit:utm_medium", Field::UtmMedium),
    ("visit:utm_campaign", Field::UtmCampaign),
    ("visit:utm_term", Field::UtmTerm),
    ("visit:utm_content", Field::UtmContent),
    ("visit:browser", Field::Browser),
    ("visit:os", Field::Os),
    ("visit:device", Field::Device),
    ("visit:country", Field::Country),
    ("visit:region", Field::Region),
    ("visit:city", Field::City),
];

impl Dimension {
    /// Parses a dimension name: a field name (`page`, `utm_source`, `event_name`, `props.<key>`,
    /// ...), a Plausible alias (`event:page`, `visit:source`, `event:name`, `event:props:<key>`,
    /// `name`), `time` (= `time:day`), `time:hour|day|week|month`, or `heatmap`.
    pub fn parse(name: &str) -> Option<Dimension> {
        let time = match name {
            "time" | "time:day" => Some(TimeUnit::Day),
            "time:minute" => Some(TimeUnit::Minute),
            "time:hour" => Some(TimeUnit::Hour),
            "time:week" => Some(TimeUnit::Week),
            "time:month" => Some(TimeUnit::Month),
            _ => None,
        };
        if let Some(unit) = time {
            return Some(Dimension::Time(unit));
        }
        if name == "heatmap" {
            return Some(Dimension::Heatmap);
        }
        if name == "goal" {
            return Some(Dimension::Goal);
        }
        if name == "name" {
            return Some(Dimension::Field(Field::EventName));
        }
        if let Some(key) = name.strip_prefix("event:props:") {
            return Field::parse(&format!("props.{key}")).map(Dimension::Field);
        }
        let alias = EVENT_ALIASES
            .iter()
            .chain(VISIT_ALIASES.iter())
            .find(|(alias, _)| *alias == name);
        if let Some((_, field)) = alias {
            return Some(Dimension::Field(field.clone()));
        }
        Field::parse(name).map(Dimension::Field)
    }

    /// The canonical name: `page`, `props.plan`, `time:day`, `heatmap`.
    pub fn name(&self) -> String {
        match self {
            Dimension::Field(field) => field.name(),
            Dimension::Time(unit) => format!("time:{}", unit.name()),
            Dimension::Heatmap => "heatmap".to_owned(),
            Dimension::Goal => "goal".to_owned(),
        }
    }

    /// The output columns: the name, or `weekday` and `hour` for the heatmap.
    pub fn columns(&self) -> Vec<String> {
        match self {
            Dimension::Heatmap => vec!["weekday".to_owned(), "hour".to_owned()],
            other => vec![other.name()],
        }
    }

    pub fn field(&self) -> Option<&Field> {
        match self {
            Dimension::Field(field) => Some(field),
            _ => None,
        }
    }

    /// A time bucket or the heatmap.
    pub fn is_time(&self) -> bool {
        matches!(self, Dimension::Time(_) | Dimension::Heatmap)
    }

    /// A field or the goal: a dimension whose values are text, one per row key.
    pub fn is_keyed(&self) -> bool {
        matches!(self, Dimension::Field(_) | Dimension::Goal)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Direction {
    Asc,
    Desc,
}

impl Direction {
    pub fn name(&self) -> &'static str {
        match self {
            Direction::Asc => "asc",
            Direction::Desc => "desc",
        }
    }
}

/// What a row is ordered by.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum OrderKey {
    Metric(Metric),
    /// An index into [`Query::dimensions`].
    Dimension(usize),
}

/// A parsed and validated request.
#[derive(Clone, PartialEq, Debug)]
pub struct Query {
    pub project: ProjectId,
    /// 1..=[`MAX_METRICS`], no duplicates, in the requested order (the order of the output).
    pub metrics: Vec<Metric>,
    /// 0..=[`MAX_DIMENSIONS`], no duplicates, at most one time dimension or heatmap.
    pub dimensions: Vec<Dimension>,
    /// AND-combined. Never on a time dimension or the heatmap.
    pub filters: Vec<Filter>,
    /// The resolved range; for `live_visitors`, the last [`crate::range::LIVE_WINDOW_MS`] before `now`.
    pub range: Range,
    pub timezone: Tz,
    /// Never empty: the default is the time dimension ascending if any, else the first metric descending.
    pub order_by: Vec<(OrderKey, Direction)>,
    /// 1..=[`MAX_LIMIT`].
    pub limit: usize,
    pub compare: Option<Compare>,
    /// Named comparisons move back by whole weeks (see [`Range::comparison`]); only with
    /// `previous_period` or `year_over_year`.
    pub match_day_of_week: bool,
    /// Set exactly when `compare` is.
    pub comparison_range: Option<Range>,
    /// What `conversion_rate` counts; set exactly when `conversion_rate` is asked without the
    /// goal dimension.
    pub goal: Option<GoalRef>,
    /// `["is" | "is_not", "goal", [names]]` filters, AND-combined with `filters`. Never with a
    /// session metric.
    pub goal_filters: Vec<GoalFilter>,
}

impl Query {
    /// The time or heatmap dimension and its index, if any.
    pub fn time_dimension(&self) -> Option<(usize, &Dimension)> {
        self.dimensions.iter().enumerate().find(|(_, d)| d.is_time())
    }

    /// The output columns: every dimension's columns, then the metric names.
    pub fn columns(&self) -> Vec<String> {
        let dims = self.dimensions.iter().flat_map(|d| d.columns());
        dims.chain(self.metrics.iter().map(|m| m.name().to_owned())).collect()
    }

    pub fn has_session_metric(&self) -> bool {
        self.metrics.iter().any(Metric::is_session_metric)
    }
}

/// A refused request: which element and why. Answered as 400 `{"error": "<field>: <message>", "field": <field>}`.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{field}: {message}")]
pub struct QueryError {
    pub field: String,
    pub message: String,
}

impl QueryError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The body of the 400 answer: `{"error": "<field>: <message>", "field": "<field>"}`.
    pub fn to_json(&self) -> Value {
        serde_json::json!({ "error": self.to_string(), "field": self.field })
    }
}

pub(crate) fn err<T>(field: impl Into<String>, message: impl Into<String>) -> Result<T, QueryError> {
    Err(QueryError::new(field, message))
}

/// Levenshtein distance, for "did you mean" hints on short names.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// `" (did you mean \"x\"?)"` when a candidate is close to `input`, else nothing.
pub(crate) fn hint<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    if input.len() > 64 {
        return String::new();
    }
    let best = candidates.into_iter().map(|c| (distance(input, c), c)).min();
    match best {
        Some((d, c)) if d <= 2 && d < input.len() => format!(" (did you mean {c:?}?)"),
        _ => String::new(),
    }
}

fn metric_names() -> impl Iterator<Item = &'static str> {
    Metric::ALL.iter().map(|m| m.name())
}

fn dimension_names() -> Vec<String> {
    let fields = Field::FIXED.iter().map(|f| f.name());
    let time = [
        "time",
        "time:hour",
        "time:day",
        "time:week",
        "time:month",
        "heatmap",
        "goal",
    ]
    .map(str::to_owned);
    fields.chain(time).collect()
}

fn unknown_dimension(name: &str) -> String {
    let names = dimension_names();
    format!(
        "unknown dimension {name:?}{}; expected a field ({}, props.<key>), a time bucket (time:hour, time:day, \
         time:week, time:month), heatmap or goal",
        hint(name, names.iter().map(String::as_str)),
        Field::FIXED.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
    )
}

pub(crate) fn str_of<'a>(value: &'a Value, field: &str, what: &str) -> Result<&'a str, QueryError> {
    value
        .as_str()
        .ok_or_else(|| QueryError::new(field, format!("must be {what}")))
}

pub(crate) fn array_of<'a>(value: &'a Value, field: &str, what: &str) -> Result<&'a Vec<Value>, QueryError> {
    value
        .as_array()
        .ok_or_else(|| QueryError::new(field, format!("must be {what}")))
}

/// A present, non-null top-level field.
pub(crate) fn get<'a>(body: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    body.get(key).filter(|v| !v.is_null())
}

fn check_keys(body: &Map<String, Value>) -> Result<(), QueryError> {
    let mut unknown: Vec<&String> = body.keys().filter(|k| !REQUEST_FIELDS.contains(&k.as_str())).collect();
    // Sorted, so the answer does not depend on whether serde_json keeps insertion order.
    unknown.sort();
    let Some(first) = unknown.first() else { return Ok(()) };
    let others = if unknown.len() > 1 {
        let rest: Vec<String> = unknown[1..].iter().map(|k| format!("{k:?}")).collect();
        format!(" (also unknown: {})", rest.join(", "))
    } else {
        String::new()
    };
    err(
        first.as_str(),
        format!(
            "unknown request field{}{others}; the fields are {}",
            hint(first, REQUEST_FIELDS),
            REQUEST_FIELDS.join(", ")
        ),
    )
}

fn parse_metrics(value: Option<&Value>) -> Result<Vec<Metric>, QueryError> {
    let Some(value) = value else {
        return err(
            "metrics",
            "is required: a list of metric names such as [\"visitors\", \"pageviews\"]",
        );
    };
    let list = array_of(value, "metrics", "a list of metric names")?;
    if list.is_empty() || list.len() > MAX_METRICS {
        return err("metrics", format!("must hold 1 to {MAX_METRICS} metrics"));
    }
    let mut metrics = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let field = format!("metrics[{i}]");
        let name = str_of(item, &field, "a metric name")?;
        let Some(metric) = Metric::parse(name) else {
            return err(
                field,
                format!(
                    "unknown metric {name:?}{}; expected one of {}",
                    hint(name, metric_names()),
                    metric_names().collect::<Vec<_>>().join(", ")
                ),
            );
        };
        if metrics.contains(&metric) {
            return err(field, format!("{name} is asked twice"));
        }
        metrics.push(metric);
    }
    Ok(metrics)
}

fn parse_dimensions(value: Option<&Value>) -> Result<Vec<Dimension>, QueryError> {
    let Some(value) = value else { return Ok(Vec::new()) };
    let list = array_of(value, "dimensions", "a list of dimension names")?;
    if list.len() > MAX_DIMENSIONS {
        return err("dimensions", format!("at most {MAX_DIMENSIONS} dimensions"));
    }
    let mut dimensions: Vec<Dimension> = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let field = format!("dimensions[{i}]");
        let name = str_of(item, &field, "a dimension name")?;
        let dimension = Dimension::parse(name).ok_or_else(|| QueryError::new(&field, unknown_dimension(name)))?;
        if dimensions.contains(&dimension) {
            return err(field, format!("{} is asked twice", dimension.name()));
        }
        if dimension.is_time() {
            if let Some(other) = dimensions.iter().find(|d| d.is_time()) {
                return err(
                    field,
                    format!(
                        "only one time dimension or heatmap per query, and {} is already asked",
                        other.name()
                    ),
                );
            }
        }
        dimensions.push(dimension);
    }
    Ok(dimensions)
}

/// One element of `filters`: on a field, or on the goal.
enum FilterItem {
    Field(Filter),
    Goal(GoalFilter),
}

fn parse_filter(i: usize, value: &Value) -> Result<FilterItem, QueryError> {
    let at = format!("filters[{i}]");
    let parts = array_of(
        value,
        &at,
        "[operator, dimension, [values]], e.g. [\"is\", \"page\", [\"/pricing\"]]",
    )?;
    if parts.len() != 3 {
        return err(
            at,
            "must be [operator, dimension, [values]], e.g. [\"is\", \"page\", [\"/pricing\"]]",
        );
    }
    let op_at = format!("{at}[0]");
    let op = match str_of(&parts[0], &op_at, "an operator: is, is_not, contains or matches")? {
        "is" => FilterOp::Is,
        "is_not" => FilterOp::IsNot,
        "contains" => FilterOp::Contains,
        "matches" => FilterOp::Matches,
        other => {
            let ops = ["is", "is_not", "contains", "matches"];
            return err(
                op_at,
                format!(
                    "unknown operator {other:?}{}; expected is, is_not, contains or matches",
                    hint(other, ops)
                ),
            );
        }
    };
    let dim_at = format!("{at}[1]");
    let name = str_of(&parts[1], &dim_at, "a dimension name")?;
    let field = match Dimension::parse(name) {
        Some(Dimension::Field(field)) => Some(field),
        Some(Dimension::Goal) => None,
        Some(_) => return err(dim_at, format!("{name} cannot be filtered; narrow date_range instead")),
        None => return err(dim_at, unknown_dimension(name)),
    };
    let values_at = format!("{at}[2]");
    let list = array_of(&parts[2], &values_at, "a list of strings")?;
    if list.is_empty() || list.len() > MAX_FILTER_VALUES {
        return err(values_at, format!("must hold 1 to {MAX_FILTER_VALUES} values"));
    }
    let mut values = Vec::with_capacity(list.len());
    for (j, item) in list.iter().enumerate() {
        let value_at = format!("{values_at}[{j}]");
        let value = str_of(item, &value_at, "a string")?;
        if value.len() > MAX_FILTER_VALUE_BYTES {
            return err(value_at, format!("longer than {MAX_FILTER_VALUE_BYTES} bytes"));
        }
        if op == FilterOp::Matches {
            if let Err(e) = compile_regex(value) {
                return err(value_at, format!("not a valid regular expression: {e}"));
            }
        }
        values.push(value.to_owned());
    }
    match field {
        Some(field) => Ok(FilterItem::Field(Filter { op, field, values })),
        None => parse_goal_filter(i, op, values).map(FilterItem::Goal),
    }
}

/// `filters` of field filters only (the goal is not a field of sessions, which the other
/// endpoints filter).
// For the request parsers of funnels, journeys and sessions (issue 13), on other branches.
#[allow(dead_code)]
pub(crate) fn parse_filters(value: Option<&Value>) -> Result<Vec<Filter>, QueryError> {
    let (filters, _, goals) = parse_filter_items(value)?;
    match goals.first() {
        Some(g) => err(format!("filters[{}][1]", g.at), "goals cannot be filtered here"),
        None => Ok(filters),
    }
}

/// Checks a list of filters by the query API's own rules, as `filters` of a query: for filters
/// kept to be sent in queries later (the dashboard's saved segments). Goal filters are allowed,
/// as in a query; errors name the element (`filters[0][1]`). Compiles the `matches` patterns,
/// so it may take milliseconds.
pub fn check_filters(value: &Value) -> Result<(), QueryError> {
    parse_filter_items(Some(value)).map(|_| ())
}

/// A request's `filters`: the field filters with their indexes in the list, and the goal filters.
type FilterItems = (Vec<Filter>, Vec<usize>, Vec<GoalFilter>);

fn parse_filter_items(value: Option<&Value>) -> Result<FilterItems, QueryError> {
    let Some(value) = value else {
        return Ok(Default::default());
    };
    let list = array_of(value, "filters", "a list of [operator, dimension, [values]]")?;
    if list.len() > MAX_FILTERS {
        return err("filters", format!("at most {MAX_FILTERS} filters"));
    }
    let (mut filters, mut positions, mut goals) = (Vec::new(), Vec::new(), Vec::new());
    for (i, f) in list.iter().enumerate() {
        match parse_filter(i, f)? {
            FilterItem::Field(f) => {
                filters.push(f);
                positions.push(i);
            }
            FilterItem::Goal(g) => goals.push(g),
        }
    }
    let pattern_bytes: usize = filters
        .iter()
        .filter(|f| f.op == FilterOp::Matches)
        .flat_map(|f| &f.values)
        .map(String::len)
        .sum();
    if pattern_bytes > MAX_QUERY_PATTERN_BYTES {
        return err(
            "filters",
            format!("the matches patterns hold {pattern_bytes} bytes in all; at most {MAX_QUERY_PATTERN_BYTES}"),
        );
    }
    Ok((filters, positions, goals))
}

pub(crate) fn parse_timezone(value: Option<&Value>) -> Result<Tz, QueryError> {
    let Some(value) = value else { return Ok(Tz::UTC) };
    let name = str_of(value, "timezone", "an IANA time zone name such as \"Europe/Paris\"")?;
    name.parse::<Tz>().map_err(|_| {
        QueryError::new(
            "timezone",
            format!("unknown time zone {name:?}; expected an IANA name such as \"Europe/Paris\""),
        )
    })
}

fn parse_order_by(
    value: Option<&Value>,
    metrics: &[Metric],
    dimensions: &[Dimension],
) -> Result<Vec<(OrderKey, Direction)>, QueryError> {
    let Some(value) = value else {
        let default = match dimensions.iter().position(Dimension::is_time) {
            Some(i) => (OrderKey::Dimension(i), Direction::Asc),
            None => (OrderKey::Metric(metrics[0]), Direction::Desc),
        };
        return Ok(vec![default]);
    };
    let shape = "a list of [metric or dimension, \"asc\" or \"desc\"], e.g. [[\"visitors\", \"desc\"]]";
    let list = array_of(value, "order_by", shape)?;
    if list.is_empty() {
        return err(
            "order_by",
            format!("must be {shape} (leave it out for the default order)"),
        );
    }
    let mut order: Vec<(OrderKey, Direction)> = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let at = format!("order_by[{i}]");
        let pair = array_of(item, &at, "[metric or dimension, \"asc\" or \"desc\"]")?;
        if pair.len() != 2 {
            return err(at, "must be [metric or dimension, \"asc\" or \"desc\"]");
        }
        let key_at = format!("{at}[0]");
        let name = str_of(&pair[0], &key_at, "a metric or dimension name")?;
        let metric = Metric::parse(name)
            .filter(|m| metrics.contains(m))
            .map(OrderKey::Metric);
        let dimension = || {
            let d = Dimension::parse(name)?;
            dimensions.iter().position(|x| *x == d).map(OrderKey::Dimension)
        };
        let Some(key) = metric.or_else(dimension) else {
            return err(
                key_at,
                format!("{name:?} is not one of the requested metrics or dimensions"),
            );
        };
        if order.iter().any(|(k, _)| *k == key) {
            return err(key_at, format!("{name} is ordered by twice"));
        }
        let dir_at = format!("{at}[1]");
        let direction = match str_of(&pair[1], &dir_at, "\"asc\" or \"desc\"")? {
            "asc" => Direction::Asc,
            "desc" => Direction::Desc,
            other => return err(dir_at, format!("{other:?} is not \"asc\" or \"desc\"")),
        };
        order.push((key, direction));
    }
    Ok(order)
}

fn parse_limit(value: Option<&Value>) -> Result<usize, QueryError> {
    let Some(value) = value else { return Ok(DEFAULT_LIMIT) };
    match value.as_u64() {
        Some(n) if (1..=MAX_LIMIT as u64).contains(&n) => Ok(n as usize),
        _ => err("limit", format!("must be an integer from 1 to {MAX_LIMIT}")),
    }
}

fn parse_compare(value: Option<&Value>, tz: Tz) -> Result<Option<Compare>, QueryError> {
    const FORMS: &str = "\"previous_period\", \"year_over_year\" or a custom range [\"YYYY-MM-DD\", \"YYYY-MM-DD\"]";
    let Some(value) = value else { return Ok(None) };
    if let Value::Array(pair) = value {
        return crate::range::resolve_custom(pair, tz)
            .map(Some)
            .map_err(|m| QueryError::new("compare", m));
    }
    let name = str_of(value, "compare", FORMS)?;
    match Compare::parse(name) {
        Some(c) => Ok(Some(c)),
        None => err(
            "compare",
            format!(
                "unknown comparison {name:?}{}; expected {FORMS}",
                hint(name, ["previous_period", "year_over_year"])
            ),
        ),
    }
}

fn parse_match_day_of_week(value: Option<&Value>, compare: Option<Compare>) -> Result<bool, QueryError> {
    let Some(value) = value else { return Ok(false) };
    let Some(on) = value.as_bool() else {
        return err("match_day_of_week", "must be true or false");
    };
    match compare {
        Some(Compare::Custom { .. }) if on => err("match_day_of_week", crate::range::MATCH_DAY_OF_WEEK_NAMED_ONLY),
        None if on => err("match_day_of_week", "needs compare"),
        _ => Ok(on),
    }
}

fn index_of(metrics: &[Metric], metric: Metric) -> Option<usize> {
    metrics.iter().position(|m| *m == metric)
}

/// Session metrics group and filter by session fields only. `positions` are the filters' indexes
/// in the request.
fn check_session_fields(
    metrics: &[Metric],
    dimensions: &[Dimension],
    filters: &[Filter],
    positions: &[usize],
) -> Result<(), QueryError> {
    let session: Vec<&str> = metrics
        .iter()
        .filter(|m| m.is_session_metric())
        .map(|m| m.name())
        .collect();
    if session.is_empty() {
        return Ok(());
    }
    let why = |name: &str| {
        format!(
            "{} count{} sessions, which have no event name or props, so they cannot be grouped or filtered by \
             {name}; ask for events, visitors or conversion_rate (with a goal) instead, or make another query \
             for the session metrics",
            session.join(", "),
            if session.len() == 1 { "s" } else { "" },
        )
    };
    for (i, d) in dimensions.iter().enumerate() {
        if let Some(field) = d.field().filter(|f| !f.is_session_field()) {
            return err(format!("dimensions[{i}]"), why(&field.name()));
        }
    }
    for (&i, f) in positions.iter().zip(filters) {
        if !f.field.is_session_field() {
            return err(format!("filters[{i}][1]"), why(&f.field.name()));
        }
    }
    Ok(())
}

/// Parses and validates a request body at `now` (which resolves relative date ranges and the
/// live window).
/// `project_id`, required: the request's project (whether the caller may read it is the
/// route's business).
pub(crate) fn parse_project_id(body: &Map<String, Value>) -> Result<ProjectId, QueryError> {
    match get(body, "project_id") {
        None => err("project_id", "is required"),
        Some(v) => {
            let s = str_of(v, "project_id", "a project id (24 hex characters)")?;
            ProjectId::parse(s).map_err(|e| QueryError::new("project_id", e.to_string()))
        }
    }
}

/// `date_range`, required, resolved in `timezone`.
pub(crate) fn parse_date_range(body: &Map<String, Value>, now: Millis, timezone: Tz) -> Result<Range, QueryError> {
    match get(body, "date_range") {
        Some(v) => crate::range::resolve(v, now, timezone).map_err(|m| QueryError::new("date_range", m)),
        None => err(
            "date_range",
            "is required: e.g. \"7d\" or [\"2026-01-01\", \"2026-01-31\"]",
        ),
    }
}

pub fn parse_query(body: &Value, now: Millis) -> Result<Query, QueryError> {
    let Some(body) = body.as_object() else {
        return err("body", "must be a JSON object");
    };
    check_keys(body)?;

    let project = parse_project_id(body)?;
    let metrics = parse_metrics(get(body, "metrics"))?;
    let dimensions = parse_dimensions(get(body, "dimensions"))?;
    let (filters, filter_positions, goal_filters) = parse_filter_items(get(body, "filters"))?;
    let timezone = parse_timezone(get(body, "timezone"))?;
    let live = index_of(&metrics, Metric::LiveVisitors);
    let range = match get(body, "date_range") {
        None if live.is_some() => Range::live(now, timezone),
        _ => parse_date_range(body, now, timezone)?,
    };
    let compare = parse_compare(get(body, "compare"), timezone)?;
    let match_day_of_week = parse_match_day_of_week(get(body, "match_day_of_week"), compare)?;
    let goal = parse_goal(get(body, "goal"))?;
    let order_by = parse_order_by(get(body, "order_by"), &metrics, &dimensions)?;
    let limit = parse_limit(get(body, "limit"))?;
    // A timeline, a heatmap or the goals (at most `store::MAX_GOALS_PER_PROJECT` a time bucket)
    // without a field dimension are whole unless a limit is asked for: the default row limit
    // would cut a year of days, or the heatmap at Friday 03:00.
    let whole = dimensions.iter().all(|d| d.field().is_none()) && !dimensions.is_empty();
    let limit = if whole && get(body, "limit").is_none() {
        usize::MAX
    } else {
        limit
    };

    if let Some(i) = live {
        let alone = "live visitors are the distinct visitors of the last 5 minutes; ask for them alone";
        if metrics.len() > 1 {
            return err(format!("metrics[{i}]"), format!("{alone}, without other metrics"));
        }
        if !dimensions.is_empty() {
            return err("dimensions", format!("{alone}, without dimensions"));
        }
        if compare.is_some() {
            return err("compare", format!("{alone}, without compare"));
        }
    }
    check_session_fields(&metrics, &dimensions, &filters, &filter_positions)?;
    if let Some(i) = dimensions.iter().position(|d| *d == Dimension::Time(TimeUnit::Minute)) {
        if range.to - range.from > MAX_MINUTE_RANGE_MS {
            return err(
                format!("dimensions[{i}]"),
                "time:minute needs a date_range of at most 24 hours (use time:hour for longer ranges)",
            );
        }
    }

    // The live window ignores date_range (validated above when present).
    let range = if live.is_some() {
        Range::live(now, timezone)
    } else {
        range
    };
    let comparison_range = compare.map(|c| range.comparison(c, match_day_of_week, timezone));
    let q = Query {
        project,
        metrics,
        dimensions,
        filters,
        range,
        timezone,
        order_by,
        limit,
        compare,
        match_day_of_week,
        comparison_range,
        goal,
        goal_filters,
    };
    crate::goals::check(&q)?;
    Ok(q)
}
