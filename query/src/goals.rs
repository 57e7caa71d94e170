//! Goals in queries: the `goal` of `conversion_rate` (an event name, a page pattern or a stored
//! goal's id), the `goal` filter (`["is" | "is_not", "goal", [goal names]]`) and the `goal`
//! dimension. Parsing needs nothing but the request; the stored goals they name are resolved
//! against the project's goals when the query runs ([`resolve`], a [`GoalPlan`]).

use serde_json::Value;
use store::analytics::{FilterOp, PagePattern};
use store::{Goal, GoalId, GoalKind};

use crate::request::{err, str_of, Dimension, Metric, Query, QueryError, MAX_GOAL_CHARS};

/// The `goal` of a request: what `conversion_rate` counts.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum GoalRef {
    /// An event name or a page pattern, given in the request.
    Kind(GoalKind),
    /// A stored goal of the project, by id.
    Id(GoalId),
}

/// `["is" | "is_not", "goal", [names]]`, filter `at` of the request.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GoalFilter {
    /// Its index in the request's `filters`, to name it in errors.
    pub at: usize,
    /// [`FilterOp::Is`] or [`FilterOp::IsNot`].
    pub op: FilterOp,
    /// Names of goals of the project ([`GoalKind::name`]).
    pub names: Vec<String>,
}

/// The metrics a query by the `goal` dimension may ask for: what a goal's completions give.
pub const GOAL_DIMENSION_METRICS: [Metric; 3] = [Metric::Visitors, Metric::Events, Metric::ConversionRate];

/// Parses `goal`: an event name (a string), `{"event": name}`, `{"page": pattern}` or
/// `{"id": goal id}`.
pub(crate) fn parse_goal(value: Option<&Value>) -> Result<Option<GoalRef>, QueryError> {
    let Some(value) = value else { return Ok(None) };
    let shape = "an event name, {\"event\": name}, {\"page\": \"/pattern/*\"} or {\"id\": goal id}";
    let event = |field: &str, name: &Value| {
        let name = str_of(name, field, "an event name")?;
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_GOAL_CHARS {
            return err(
                field,
                format!("must be an event name of 1 to {MAX_GOAL_CHARS} characters"),
            );
        }
        Ok(Some(GoalRef::Kind(GoalKind::Event(name.to_owned()))))
    };
    if value.is_string() {
        return event("goal", value);
    }
    let Some(object) = value.as_object() else {
        return err("goal", format!("must be {shape}"));
    };
    let mut entries = object.iter();
    let (Some((key, inner)), None) = (entries.next(), entries.next()) else {
        return err("goal", format!("must be {shape}, with exactly one key"));
    };
    match key.as_str() {
        "event" => event("goal.event", inner),
        "page" => {
            let pattern = str_of(inner, "goal.page", "a page pattern such as \"/docs/*\"")?;
            let pattern = PagePattern::parse(pattern).map_err(|e| QueryError::new("goal.page", e.to_string()))?;
            Ok(Some(GoalRef::Kind(GoalKind::Page(pattern))))
        }
        "id" => {
            let id = str_of(inner, "goal.id", "a goal id (24 hex characters)")?;
            match GoalId::parse(id) {
                Some(id) => Ok(Some(GoalRef::Id(id))),
                None => err("goal.id", format!("{id:?} is not a goal id (24 hex characters)")),
            }
        }
        other => err("goal", format!("unknown key {other:?}; must be {shape}")),
    }
}

/// A goal filter's operator and names (`filters[at]`, already checked to be on `goal`).
pub(crate) fn parse_goal_filter(at: usize, op: FilterOp, values: Vec<String>) -> Result<GoalFilter, QueryError> {
    if !matches!(op, FilterOp::Is | FilterOp::IsNot) {
        return err(
            format!("filters[{at}][0]"),
            "goals are filtered with is or is_not (a list of goal names)",
        );
    }
    Ok(GoalFilter { at, op, names: values })
}

/// The checks of a query's goal parts that need only the request.
pub(crate) fn check(q: &Query) -> Result<(), QueryError> {
    let by_goal = q.dimensions.iter().position(|d| *d == Dimension::Goal);
    if let Some(f) = q.goal_filters.first() {
        if let Some(m) = q.metrics.iter().find(|m| m.is_session_metric()) {
            return err(
                format!("filters[{}][1]", f.at),
                format!(
                    "a goal filter keeps the events completing goals, and {m} counts sessions; ask for events, \
                     visitors, pageviews or conversion_rate, or make another query for the session metrics"
                ),
            );
        }
    }
    let Some(d) = by_goal else {
        return match (q.metrics.contains(&Metric::ConversionRate), &q.goal) {
            (true, None) => err(
                "goal",
                "is required with conversion_rate: the event name, page or goal id that counts as a conversion \
                 (or group by the goal dimension)",
            ),
            (false, Some(_)) => err(
                "goal",
                "is used only by conversion_rate; add it to metrics or drop goal",
            ),
            _ => Ok(()),
        };
    };
    if let Some((i, m)) = q
        .metrics
        .iter()
        .enumerate()
        .find(|(_, m)| !GOAL_DIMENSION_METRICS.contains(m))
    {
        return err(
            format!("metrics[{i}]"),
            format!("{m} is not a metric of goals; by the goal dimension ask for visitors, events or conversion_rate"),
        );
    }
    if q.goal.is_some() {
        return err(
            "goal",
            format!("dimensions[{d}] groups by goal, and each row's conversion_rate is its own goal's; drop goal"),
        );
    }
    Ok(())
}

/// A query's goals resolved against the project's: what the engine runs.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct GoalPlan {
    /// What `conversion_rate` counts (without the goal dimension).
    pub conversion: Option<GoalKind>,
    /// The goal filters, each as the goals whose completion events it keeps.
    pub filters: Vec<Vec<GoalKind>>,
    /// With the goal dimension, its rows: the project's goals (oldest first) that pass the goal
    /// filters, by name.
    pub rows: Vec<(String, GoalKind)>,
}

impl Query {
    /// Whether running the query needs the project's stored goals: a goal by id, a goal filter
    /// or the goal dimension.
    pub fn needs_project_goals(&self) -> bool {
        matches!(self.goal, Some(GoalRef::Id(_)))
            || !self.goal_filters.is_empty()
            || self.dimensions.contains(&Dimension::Goal)
    }
}

/// Resolves a query's goals against `goals`, the project's (oldest first; may be empty when
/// [`Query::needs_project_goals`] is false). A goal id or name the project does not have is
/// a [`QueryError`] naming it.
pub fn resolve(q: &Query, goals: &[Goal]) -> Result<GoalPlan, QueryError> {
    let conversion = match &q.goal {
        None => None,
        Some(GoalRef::Kind(kind)) => Some(kind.clone()),
        Some(GoalRef::Id(id)) => match goals.iter().find(|g| g.id == *id) {
            Some(goal) => Some(goal.kind.clone()),
            None => return err("goal.id", format!("this project has no goal {id}")),
        },
    };
    let named: Vec<(String, &GoalKind)> = goals.iter().map(|g| (g.kind.name(), &g.kind)).collect();
    let mut filters = Vec::with_capacity(q.goal_filters.len());
    for f in &q.goal_filters {
        for (j, name) in f.names.iter().enumerate() {
            if !named.iter().any(|(n, _)| n == name) {
                let known: Vec<&str> = named.iter().map(|(n, _)| n.as_str()).collect();
                let known = if known.is_empty() {
                    "it has none yet".to_owned()
                } else {
                    format!("its goals are {}", known.join(", "))
                };
                return err(
                    format!("filters[{}][2][{j}]", f.at),
                    format!("this project has no goal named {name:?}; {known}"),
                );
            }
        }
        let keep = named
            .iter()
            .filter(|(n, _)| f.names.contains(n) == (f.op == FilterOp::Is))
            .map(|(_, kind)| (*kind).clone())
            .collect();
        filters.push(keep);
    }
    let rows = if q.dimensions.contains(&Dimension::Goal) {
        named
            .iter()
            .filter(|(_, kind)| filters.iter().all(|keep: &Vec<GoalKind>| keep.contains(kind)))
            .map(|(name, kind)| (name.clone(), (*kind).clone()))
            .collect()
    } else {
        Vec::new()
    };
    Ok(GoalPlan {
        conversion,
        filters,
        rows,
    })
}
