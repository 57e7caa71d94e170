//! What the funnel and journeys pipelines share: they read the sessions in scope on
//! `visitor_sessions` and walk each one's trail as stored in its arrays
//! ([`codec::TRAIL_STEPS`], [`codec::TRAIL_AT`]); no pipeline reads `events`.

use mongodb::bson::{doc, Bson, Document};
use store::analytics::{Filter, PagePattern};
use store::Millis;

use crate::analytics::{filter_expr, match_all, session_path, session_value_expr};
use crate::codec::{self, date, oid, EVENT_PREFIX, PAGE_PREFIX};

/// Which trail steps a funnel step or a journey's start matches, as a [`codec::TRAIL_STEPS`]
/// string: one exact string (a custom event's name, a page pattern without `*`), else an
/// anchored regular expression.
pub(crate) enum StepMatch {
    Exact(String),
    Regex(String),
}

impl StepMatch {
    pub(crate) fn page(pattern: &PagePattern) -> Self {
        if pattern.has_wildcard() {
            // `to_regex` is anchored (`^...$`): the kind's prefix goes after the `^`.
            let regex = pattern.to_regex();
            StepMatch::Regex(format!("^{PAGE_PREFIX}{}", regex.strip_prefix('^').unwrap_or(&regex)))
        } else {
            StepMatch::Exact(format!("{PAGE_PREFIX}{}", pattern.as_str()))
        }
    }

    pub(crate) fn event(name: &str) -> Self {
        StepMatch::Exact(format!("{EVENT_PREFIX}{name}"))
    }

    /// A query condition on a field holding the array of steps: true when one step matches.
    pub(crate) fn query(&self) -> Bson {
        match self {
            StepMatch::Exact(s) => Bson::String(s.clone()),
            StepMatch::Regex(r) => Bson::Document(doc! { "$regex": r }),
        }
    }

    /// The index of the first step of the array expression `steps` from index `from` on that
    /// matches, -1 when none does. An exact match is `$indexOfArray` itself, which compares
    /// without evaluating an expression per step.
    pub(crate) fn index_in(&self, steps: &str, from: Bson) -> Bson {
        let input = match self {
            StepMatch::Exact(s) => doc! { "$indexOfArray": [steps, s, from] },
            StepMatch::Regex(r) => doc! { "$indexOfArray": [
                { "$map": { "input": steps, "as": "x", "in": { "$regexMatch": { "input": "$$x", "regex": r } } } },
                true,
                from,
            ] },
        };
        Bson::Document(input)
    }
}

/// The first stages on `visitor_sessions`: the project's documents with a session in scope whose
/// trail holds a step `first` matches (when given), only the fields the pipeline reads, one
/// document per session in scope (started in `[from, to)`, passing the filters).
pub(crate) fn sessions_in_scope(
    project: &contract::ids::ProjectId,
    (from, to): (Millis, Millis),
    filters: &[Filter],
    first: Option<&StepMatch>,
    fields: &[&str],
) -> Vec<Document> {
    let range = doc! { "$gte": date(from), "$lt": date(to) };
    let mut session = doc! { "start": range.clone() };
    if let Some(first) = first {
        session.insert(codec::TRAIL_STEPS, first.query());
    }
    let mut projection = doc! { "sessions.start": 1 };
    for field in fields {
        projection.insert(format!("sessions.{field}"), 1);
    }
    for path in filters.iter().filter_map(|f| session_path(&f.field)) {
        projection.insert(format!("sessions.{path}"), 1);
    }
    let prefix = |d: &Document| -> Document { d.iter().map(|(k, v)| (format!("sessions.{k}"), v.clone())).collect() };
    let mut stages = vec![
        doc! { "$match": { "projectId": oid(project.bytes()), "sessions": { "$elemMatch": session.clone() } } },
        doc! { "$project": projection },
        doc! { "$unwind": "$sessions" },
        doc! { "$match": prefix(&session) },
    ];
    stages.extend(match_all(
        filters
            .iter()
            .map(|f| filter_expr(f, session_value_expr(&f.field)))
            .collect(),
    ));
    stages
}
