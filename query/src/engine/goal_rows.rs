//! The `goal` dimension: a row per goal of the project (those the goal filters keep), with
//! `visitors` (visitors who completed it), `events` (its completions: the goal's custom events,
//! or the page views of a matching path) and `conversion_rate` (its visitors over all visitors
//! of the row's group under the query's filters). Always from raw aggregations, which the
//! database groups by goal ([`RawQuery::by_goal`]): rollups hold no per-goal visitors.

use std::collections::HashMap;

use store::analytics::{EventCounters, EventGroup, RawQuery};
use store::Store;

use super::{
    event_counters, fields_of, from_rollups, rollups_can_answer, Acc, EngineError, EngineOptions, Key, Period,
    TimeLayout, Visitors,
};
use crate::goals::GoalPlan;
use crate::range::Range;
use crate::request::{Dimension, Direction, Metric, OrderKey, Query};

/// A goal row's numbers from its group: its completion events (page views for a page goal,
/// custom events for an event goal) are what `events` counts.
fn goal_acc(g: &EventGroup, all_visitors: Option<u64>) -> Acc {
    let mut acc = Acc::default();
    acc.c.pageviews = g.pageviews;
    acc.c.custom_events = g.pageviews + g.custom_events;
    acc.visitors = Visitors::Count(g.visitors);
    acc.all_visitors = all_visitors;
    acc
}

pub(super) async fn period(
    store: &dyn Store,
    q: &Query,
    plan: &GoalPlan,
    range: &Range,
    layout: &TimeLayout,
    opts: &EngineOptions,
) -> Result<Period, EngineError> {
    // No goal to show (a site without goals, or filters that keep none): nothing to count, and
    // the dashboard asks this of every site on every load.
    if plan.rows.is_empty() {
        return Ok(Period {
            rows: HashMap::new(),
            totals: Acc::default(),
            source: "raw",
            exact: true,
        });
    }
    let fields = fields_of(q);
    let goals: Vec<_> = plan.rows.iter().map(|(_, kind)| kind.clone()).collect();
    let by_goal = RawQuery {
        project: q.project,
        from: range.from,
        to: range.to,
        filters: q.filters.clone(),
        group: fields.clone(),
        time: layout.raw(),
        goal: None,
        goal_filters: Vec::new(),
        by_goal: goals.clone(),
        counters: event_counters(q),
    };
    // The totals: the completion events of any of the rows' goals, each counted once.
    let completions = RawQuery {
        group: Vec::new(),
        time: None,
        by_goal: Vec::new(),
        goal_filters: vec![goals],
        ..by_goal.clone()
    };
    // Only visitors, the conversion rates' denominators.
    let all_grouped = RawQuery {
        by_goal: Vec::new(),
        counters: EventCounters::Visitors,
        ..by_goal.clone()
    };
    // Every counter: the same query as the other panels' totals, counted once for them all.
    let all_whole = RawQuery {
        group: Vec::new(),
        time: None,
        counters: EventCounters::All,
        ..all_grouped.clone()
    };
    let rates = q.metrics.contains(&Metric::ConversionRate);
    let grouped = !fields.is_empty() || !matches!(layout, TimeLayout::None);
    let (rows, totals, all_rows, (all_total, all_total_exact)) = futures_util::future::try_join4(
        async { Ok(store.aggregate_events(&by_goal).await?) },
        async { Ok(store.aggregate_events(&completions).await?) },
        async {
            if rates && grouped {
                Ok(store.aggregate_events(&all_grouped).await?)
            } else {
                Ok(Vec::new())
            }
        },
        async {
            if rates {
                all_visitors(store, q, range, &all_whole, opts).await
            } else {
                Ok((0, true))
            }
        },
    )
    .await?;
    let all_of: HashMap<(&[String], Option<i64>), u64> = all_rows
        .iter()
        .map(|g| ((g.keys.as_slice(), g.bucket), g.visitors))
        .collect();
    let denominator = |keys: &[String], bucket: Option<i64>| {
        rates.then(|| {
            if grouped {
                all_of.get(&(keys, bucket)).copied().unwrap_or(0)
            } else {
                all_total
            }
        })
    };
    // Where the goal's name goes among a row key's values: the goal's place among the keyed
    // dimensions.
    let at = q
        .dimensions
        .iter()
        .filter(|d| d.is_keyed())
        .position(|d| *d == Dimension::Goal)
        .unwrap_or(0);
    let key_of = |name: &str, values: &[String], bucket: Option<i64>| -> Key {
        let mut keys = values.to_vec();
        keys.insert(at.min(keys.len()), name.to_owned());
        (keys, bucket)
    };
    let mut out: HashMap<Key, Acc> = HashMap::new();
    // Without field dimensions every goal has a row (in every time bucket), completed or not.
    if fields.is_empty() {
        let labels: Vec<Option<i64>> = match layout {
            TimeLayout::None => vec![None],
            _ => layout.all_labels().into_iter().map(Some).collect(),
        };
        for (name, _) in &plan.rows {
            for &label in &labels {
                let acc = Acc {
                    all_visitors: denominator(&[], label),
                    ..Acc::default()
                };
                out.insert(key_of(name, &[], label), acc);
            }
        }
    }
    for g in &rows {
        let Some((name, _)) = g
            .keys
            .first()
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| plan.rows.get(i))
        else {
            continue;
        };
        let values = &g.keys[1..];
        out.insert(
            key_of(name, values, g.bucket),
            goal_acc(g, denominator(values, g.bucket)),
        );
    }
    let totals = match totals.first() {
        Some(g) => goal_acc(g, rates.then_some(all_total)),
        None => Acc {
            all_visitors: rates.then_some(all_total),
            ..Acc::default()
        },
    };
    Ok(Period {
        rows: out,
        totals,
        source: "raw",
        exact: all_total_exact,
    })
}

/// The visitors of the whole range under the query's filters (the conversion rate's
/// denominator without grouping): from the rollups when they can answer it, as the top stats
/// are, else the raw aggregation `raw`. A full raw scan of a month costs seconds at millions of
/// events, and the dashboard's goals panel asks for it on every load.
async fn all_visitors(
    store: &dyn Store,
    q: &Query,
    range: &Range,
    raw: &RawQuery,
    opts: &EngineOptions,
) -> Result<(u64, bool), EngineError> {
    let visitors = Query {
        metrics: vec![Metric::Visitors],
        dimensions: Vec::new(),
        order_by: vec![(OrderKey::Metric(Metric::Visitors), Direction::Desc)],
        goal: None,
        goal_filters: Vec::new(),
        compare: None,
        match_day_of_week: false,
        comparison_range: None,
        ..q.clone()
    };
    let no_goals = GoalPlan::default();
    let layout = TimeLayout::of(&visitors, range);
    if !opts.force_raw && rollups_can_answer(&visitors, &no_goals, range, &layout) {
        let p = from_rollups(store, &visitors, &no_goals, range, &layout, opts).await?;
        return Ok((p.totals.visitors.value(), p.exact && p.totals.visitors.exact()));
    }
    let groups = store.aggregate_events(raw).await?;
    Ok((groups.iter().map(|g| g.visitors).sum(), true))
}
