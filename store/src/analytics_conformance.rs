//! The conformance cases of the dashboard's store methods ([`Store::aggregate_events`],
//! [`Store::aggregate_sessions`], rollups, dirty marks, [`Store::sessions_of_visitors`],
//! [`Store::delete_expired`]), run by [`conformance_tests!`](crate::conformance_tests) with the
//! others.
//!
//! The raw aggregations are checked against a brute-force computation written here, from the
//! generated events and their sessions as [`fold`] gives them (never from what the store
//! returns), with the reference semantics [`Filter::accepts`], [`TimeBuckets::label_of`],
//! [`event_value`] and [`session_value`]. The data ([`generate`]) is random with a fixed seed:
//! 23 visitors in two projects, ~480 events over three days, sessions crossing midnight, a page
//! exit and a path change in the same millisecond, custom events with props (one key with `=` in
//! it), several sources, UTM tags, browsers and countries, missing values of each, and later
//! events of a visit with other attribution than its first (so an event's own source is not its
//! session's). It is ingested in shuffled batches of random sizes, one batch twice.

use std::collections::{BTreeMap, BTreeSet};

use contract::enrich::{ClientInfo, Device, Utm, VisitorId};
use contract::enriched::{EnrichedEvent, Geo};
use contract::ids::ProjectId;
use contract::wire::{PAGEVIEW, PAGE_EXIT, PATH_CHANGE};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};

use crate::analytics::rollup::{self, hour_of, DAY_MS, HOUR_MS};
use crate::analytics::{
    event_value, session_value, Counters, DirtyHour, EventGroup, Expired, Field, Filter, FilterOp, Granularity,
    RawQuery, Retention, RollupDim, RollupRow, RollupSummary, SessionGroup, StoredRollup, TimeBuckets,
};
use crate::conformance::Backend;
use crate::sessions::{fold, testing::event, Session};
use crate::{Millis, Store};

pub(crate) const T0: Millis = 1_763_683_200_000; // 2025-11-21T00:00:00Z
const MIN: Millis = 60_000;
const SEED: u64 = 0x5eed_2025_1121;

fn pid(n: u8) -> ProjectId {
    ProjectId::from_bytes([n; 12])
}

// --- the data --------------------------------------------------------------------------------

const PAGES: [&str; 6] = ["/", "/pricing", "/blog/a", "/blog/b", "/docs", "/blog/abc"];

/// A visit's attribution: (source, referrer, utm).
fn attribution(rng: &mut StdRng) -> (Option<String>, Option<String>, Utm) {
    let (source, referrer) = match rng.random_range(0..5) {
        0 => (Some("Google"), Some("https://www.google.com/")),
        1 => (Some("Twitter"), Some("https://t.co/xyz")),
        2 => (Some("Newsletter"), None),
        3 => (None, Some("https://news.example.org/item")),
        _ => (None, None),
    };
    let utm = match rng.random_range(0..4) {
        0 => Utm {
            source: Some("news".into()),
            medium: Some("email".into()),
            campaign: Some("launch".into()),
            term: None,
            content: None,
        },
        1 => Utm {
            source: Some("ads".into()),
            medium: Some("cpc".into()),
            campaign: Some("spring".into()),
            term: Some("analytics".into()),
            content: Some("banner".into()),
        },
        _ => Utm::default(),
    };
    (source.map(str::to_owned), referrer.map(str::to_owned), utm)
}

fn props(rng: &mut StdRng) -> BTreeMap<String, String> {
    let plan = || ["pro", "free"];
    let mut p = BTreeMap::new();
    match rng.random_range(0..5) {
        0 => {}
        1 => {
            p.insert("plan".into(), plan().choose(rng).unwrap().to_string());
        }
        2 => {
            p.insert("plan".into(), plan().choose(rng).unwrap().to_string());
            p.insert("seats".into(), rng.random_range(1..4).to_string());
        }
        3 => {
            p.insert("seats".into(), "".into());
        }
        _ => {
            p.insert("a=b".into(), "c".into());
            p.insert("plan".into(), "".into());
            // Every character a key may hold: the stores quote them in JSON paths and field names.
            for key in ODD_PROP_KEYS {
                p.insert(key.into(), format!("{key} value"));
            }
        }
    }
    p
}

/// Prop keys with quotes, backslashes, spaces, brackets and non-ASCII text (the contract allows
/// any key but empty ones, `$…`, and keys with `.` or NUL).
pub const ODD_PROP_KEYS: [&str; 7] = ["say \"hi\"", "back\\slash", "it's", "a b", "[0]", "ünï cödé 🎉", "\\\""];

/// The test data: events of 20 visitors of project 1 and 3 of project 2 over three days.
pub fn generate() -> Vec<EnrichedEvent> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut events = Vec::new();
    let mut n = 0;
    for (project, visitors) in [(pid(1), 20u64), (pid(2), 3)] {
        for v in 1..=visitors {
            // Spread over the whole u64 range: half the ids are negative as i64.
            let visitor = VisitorId(v.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let client = ClientInfo {
                browser: ["Chrome", "Firefox", "Safari", ""]
                    .choose(&mut rng)
                    .unwrap()
                    .to_string(),
                browser_version: "1".into(),
                os: ["Windows", "macOS", "iOS", ""].choose(&mut rng).unwrap().to_string(),
                os_version: "1".into(),
                device: *[Device::Desktop, Device::Mobile, Device::Tablet, Device::Other]
                    .choose(&mut rng)
                    .unwrap(),
            };
            let geo = match rng.random_range(0..5) {
                0 => Geo::default(),
                1 => Geo {
                    country: Some("FR".into()),
                    ..Geo::default()
                },
                2 => Geo {
                    country: Some("US".into()),
                    region: Some("CA".into()),
                    city: Some("San Francisco".into()),
                    ..Geo::default()
                },
                _ => Geo {
                    country: Some("DE".into()),
                    region: Some("BE".into()),
                    city: Some("Berlin".into()),
                    ..Geo::default()
                },
            };
            for _visit in 0..rng.random_range(2..=5) {
                let start = if rng.random_bool(0.3) {
                    // Shortly before midnight: the visit runs into the next day.
                    T0 + rng.random_range(0..3) * DAY_MS + 23 * 60 * MIN + rng.random_range(35..58) * MIN
                } else {
                    T0 + rng.random_range(0..3 * DAY_MS - 3 * 60 * MIN)
                };
                // Some visits start on the hour: exactly on a bucket bound.
                let start = if rng.random_bool(0.15) { hour_of(start) } else { start };
                let host = *["example.com", "shop.example.com"].choose(&mut rng).unwrap();
                let (source, referrer, utm) = attribution(&mut rng);
                let mut t = start;
                let mut path = *PAGES.choose(&mut rng).unwrap();
                let steps = rng.random_range(1..=10);
                for step in 0..steps {
                    let name = if step == 0 {
                        PAGEVIEW
                    } else {
                        t += if rng.random_bool(0.08) {
                            // A pause longer than the session timeout: the visit splits.
                            rng.random_range(31..80) * MIN
                        } else {
                            rng.random_range(5_000..12 * MIN)
                        };
                        match rng.random_range(0..20) {
                            0..=6 => PATH_CHANGE,
                            7..=11 => PAGE_EXIT,
                            12..=14 => PAGEVIEW,
                            15..=16 => "signup",
                            17..=18 => "purchase",
                            _ => "download",
                        }
                    };
                    if name == PATH_CHANGE || (name == PAGEVIEW && step > 0) {
                        path = *PAGES.choose(&mut rng).unwrap();
                    }
                    n += 1;
                    let mut e = event(project, visitor.0, &format!("g{n}"), name, t, path);
                    e.received_at = t + 150;
                    e.hostname = host.into();
                    e.url = format!("https://{host}{path}");
                    e.client = client.clone();
                    e.geo = geo.clone();
                    if step == 0 || rng.random_bool(0.5) {
                        e.source = source.clone();
                        e.referrer = referrer.clone();
                        e.utm = utm.clone();
                    } else {
                        (e.source, e.referrer, e.utm) = attribution(&mut rng);
                    }
                    match name {
                        PAGE_EXIT => {
                            e.duration_ms = rng.random_bool(0.9).then(|| rng.random_range(0..300_000));
                            e.scroll_depth = rng.random_bool(0.7).then(|| rng.random_range(0..=100));
                        }
                        PAGEVIEW | PATH_CHANGE => {}
                        _ => e.props = props(&mut rng),
                    }
                    let exit_then_change = name == PAGE_EXIT && rng.random_bool(0.3);
                    events.push(e.clone());
                    if exit_then_change {
                        // The next page in the same millisecond.
                        path = *PAGES.choose(&mut rng).unwrap();
                        n += 1;
                        let mut change = e;
                        change.id = contract::ids::EventId::parse(&format!("g{n}")).unwrap();
                        change.name = PATH_CHANGE.into();
                        change.path = path.into();
                        change.url = format!("https://{host}{path}");
                        (change.duration_ms, change.scroll_depth) = (None, None);
                        events.push(change);
                    }
                }
            }
        }
    }
    events
}

/// Ingests `events` shuffled, in batches of 1 to 40, and the first batch a second time.
pub(crate) async fn ingest_shuffled(s: &dyn Store, events: &[EnrichedEvent], seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut order = events.to_vec();
    order.shuffle(&mut rng);
    let mut batches = Vec::new();
    let mut rest = &order[..];
    while !rest.is_empty() {
        let size = rng.random_range(1..=40).min(rest.len());
        batches.push(&rest[..size]);
        rest = &rest[size..];
    }
    for batch in &batches {
        s.ingest(batch).await.unwrap();
    }
    let again = s.ingest(batches[0]).await.unwrap();
    assert_eq!(again.stored, 0, "a retried batch stores nothing");
}

/// The sessions of `events` (every project), as one fold per visitor gives them.
pub(crate) fn folded(events: &[EnrichedEvent]) -> Vec<Session> {
    let mut by_visitor: BTreeMap<(ProjectId, VisitorId), Vec<&EnrichedEvent>> = BTreeMap::new();
    for e in events {
        by_visitor.entry((e.project_id, e.visitor_id)).or_default().push(e);
    }
    let mut next = 0;
    let mut all: Vec<Session> = by_visitor
        .values()
        .flat_map(|mine| {
            fold(vec![], mine, &mut || {
                next += 1;
                format!("expected-{next}")
            })
            .sessions
        })
        .collect();
    all.sort_by_key(|s| (s.start, s.visitor_id));
    all
}

/// Sessions with their ids blanked (ids depend on arrival order), sorted.
fn comparable(sessions: &[Session]) -> Vec<Session> {
    let mut out: Vec<Session> = sessions
        .iter()
        .map(|s| Session {
            id: String::new(),
            ..s.clone()
        })
        .collect();
    out.sort_by_key(|s| (s.start, s.visitor_id, s.end));
    out
}

// --- brute force -----------------------------------------------------------------------------

/// A group's values and time bucket label.
type GroupKey = (Vec<String>, Option<i64>);

/// The session an event belongs to: its project's and visitor's with `start <= t <= end`.
fn session_of<'a>(sessions: &'a [Session], e: &EnrichedEvent) -> Option<&'a Session> {
    sessions.iter().find(|s| {
        s.project_id == e.project_id
            && s.visitor_id == e.visitor_id
            && s.start <= e.occurred_at
            && e.occurred_at <= s.end
    })
}

pub(crate) fn expected_events(q: &RawQuery, events: &[EnrichedEvent], sessions: &[Session]) -> Vec<EventGroup> {
    // Per (keys, bucket): the group, its visitors, its visitors with a goal event.
    let mut groups: BTreeMap<GroupKey, (EventGroup, BTreeSet<u64>, BTreeSet<u64>)> = BTreeMap::new();
    for e in events {
        if e.project_id != q.project || e.occurred_at < q.from || e.occurred_at >= q.to {
            continue;
        }
        let has_props = q.group.iter().all(|f| match f {
            Field::Prop(key) => e.props.contains_key(key),
            _ => true,
        });
        if !has_props {
            continue;
        }
        let session = session_of(sessions, e);
        if !q.filters.iter().all(|f| f.accepts(&event_value(&f.field, e, session))) || !q.goal_filters_accept(e) {
            continue;
        }
        let bucket = match &q.time {
            Some(t) => match t.label_of(e.occurred_at) {
                Some(label) => Some(label),
                None => continue,
            },
            None => None,
        };
        let keys: Vec<String> = q.group.iter().map(|f| event_value(f, e, session)).collect();
        // Grouped by goal: once under each goal the event completes, keyed by its index first.
        let keys: Vec<Vec<String>> = if q.by_goal.is_empty() {
            vec![keys]
        } else {
            let completed = q.by_goal.iter().enumerate().filter(|(_, g)| g.completed_by(e));
            completed
                .map(|(i, _)| std::iter::once(i.to_string()).chain(keys.iter().cloned()).collect())
                .collect()
        };
        for keys in keys {
            let (g, visitors, converted) = groups.entry((keys.clone(), bucket)).or_insert_with(|| {
                let g = EventGroup {
                    keys,
                    bucket,
                    ..EventGroup::default()
                };
                (g, BTreeSet::new(), BTreeSet::new())
            });
            match e.name.as_str() {
                PAGEVIEW | PATH_CHANGE => g.pageviews += 1,
                PAGE_EXIT => {
                    g.exits += 1;
                    g.exit_duration_ms += e.duration_ms.unwrap_or(0);
                    if let Some(depth) = e.scroll_depth {
                        g.scroll_count += 1;
                        g.scroll_sum += u64::from(depth);
                    }
                }
                _ => g.custom_events += 1,
            }
            visitors.insert(e.visitor_id.0);
            if q.goal.as_ref().is_some_and(|goal| goal.completed_by(e)) {
                converted.insert(e.visitor_id.0);
            }
        }
    }
    groups
        .into_values()
        .map(|(mut g, visitors, converted)| {
            g.visitors = visitors.len() as u64;
            g.converted = converted.len() as u64;
            g
        })
        .collect()
}

fn expected_sessions(q: &RawQuery, sessions: &[Session]) -> Vec<SessionGroup> {
    let mut groups: BTreeMap<GroupKey, (SessionGroup, BTreeSet<u64>)> = BTreeMap::new();
    for s in sessions {
        if s.project_id != q.project || s.start < q.from || s.start >= q.to {
            continue;
        }
        if !q
            .filters
            .iter()
            .all(|f| f.accepts(&session_value(f.field.for_session(), s)))
        {
            continue;
        }
        let bucket = match &q.time {
            Some(t) => match t.label_of(s.start) {
                Some(label) => Some(label),
                None => continue,
            },
            None => None,
        };
        let keys: Vec<String> = q.group.iter().map(|f| session_value(f.for_session(), s)).collect();
        let (g, visitors) = groups.entry((keys.clone(), bucket)).or_insert_with(|| {
            let g = SessionGroup {
                keys,
                bucket,
                ..SessionGroup::default()
            };
            (g, BTreeSet::new())
        });
        g.visits += 1;
        g.bounces += u64::from(s.is_bounce());
        g.duration_ms += u64::try_from(s.duration_ms()).unwrap();
        g.pageviews += u64::from(s.pageviews);
        visitors.insert(s.visitor_id.0);
    }
    groups
        .into_values()
        .map(|(mut g, visitors)| {
            g.visitors = visitors.len() as u64;
            g
        })
        .collect()
}

// --- the queries -----------------------------------------------------------------------------

fn query(project: ProjectId, from: Millis, to: Millis) -> RawQuery {
    RawQuery::range(project, from, to)
}

fn filter(op: FilterOp, field: Field, values: &[&str]) -> Filter {
    Filter {
        op,
        field,
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

fn day_buckets() -> TimeBuckets {
    TimeBuckets {
        bounds: (0..=3).map(|d| T0 + d * DAY_MS).collect(),
        labels: vec![20_000, 20_001, 20_002],
    }
}

/// Hour of day over the three days: every label repeats three times.
fn heatmap() -> TimeBuckets {
    TimeBuckets {
        bounds: (0..=72).map(|h| T0 + h * HOUR_MS).collect(),
        labels: (0..72).map(|h| h % 24).collect(),
    }
}

/// Cases shared by events and sessions: (name, query). `fields` are the fields to group by one
/// at a time.
fn common_cases(fields: &[Field]) -> Vec<(String, RawQuery)> {
    let all = || query(pid(1), T0 - DAY_MS, T0 + 4 * DAY_MS);
    let with = |f: &dyn Fn(&mut RawQuery)| {
        let mut q = all();
        f(&mut q);
        q
    };
    let mut cases = vec![("everything".to_owned(), all())];
    for field in fields {
        cases.push((format!("group by {field}"), with(&|q| q.group = vec![field.clone()])));
    }
    use FilterOp::*;
    let more: Vec<(&str, RawQuery)> = vec![
        (
            "country x browser",
            with(&|q| q.group = vec![Field::Country, Field::Browser]),
        ),
        ("source x page", with(&|q| q.group = vec![Field::Source, Field::Page])),
        (
            "day buckets, narrower range",
            with(&|q| {
                q.from = T0 + 6 * HOUR_MS;
                q.time = Some(day_buckets());
            }),
        ),
        (
            "day buckets x source",
            with(&|q| {
                q.time = Some(day_buckets());
                q.group = vec![Field::Source];
            }),
        ),
        (
            "hour-of-day heatmap (repeated labels) x device",
            with(&|q| {
                q.time = Some(heatmap());
                q.group = vec![Field::Device];
            }),
        ),
        (
            "one bucket",
            with(&|q| {
                q.time = Some(TimeBuckets {
                    bounds: vec![T0 + HOUR_MS, T0 + 2 * DAY_MS],
                    labels: vec![7],
                });
                q.group = vec![Field::Browser];
            }),
        ),
        (
            "buckets sharing one label",
            with(&|q| {
                q.time = Some(TimeBuckets {
                    bounds: vec![T0, T0 + DAY_MS, T0 + 2 * DAY_MS + 7 * HOUR_MS],
                    labels: vec![-1, -1],
                });
            }),
        ),
        (
            "buckets partly outside the range",
            with(&|q| {
                q.from = T0 + DAY_MS + 90 * MIN;
                q.to = T0 + 2 * DAY_MS + 30 * MIN;
                q.time = Some(heatmap());
            }),
        ),
        (
            "minute range across midnight",
            with(&|q| {
                q.from = T0 + DAY_MS - 37 * MIN - 12_345;
                q.to = T0 + DAY_MS + 21 * MIN + 999;
                q.group = vec![Field::Page];
            }),
        ),
        (
            "is page",
            with(&|q| q.filters = vec![filter(Is, Field::Page, &["/pricing", "/docs"])]),
        ),
        (
            "is not a missing country",
            with(&|q| {
                q.filters = vec![filter(IsNot, Field::Country, &[""])];
                q.group = vec![Field::Country];
            }),
        ),
        (
            "is a missing country",
            with(&|q| q.filters = vec![filter(Is, Field::Country, &[""])]),
        ),
        (
            "is not browsers",
            with(&|q| {
                q.filters = vec![filter(IsNot, Field::Browser, &["Chrome", "Safari"])];
                q.group = vec![Field::Browser];
            }),
        ),
        (
            "page contains",
            with(&|q| {
                q.filters = vec![filter(Contains, Field::Page, &["blog"])];
                q.group = vec![Field::Page];
            }),
        ),
        (
            "referrer contains (session side)",
            with(&|q| {
                q.filters = vec![filter(Contains, Field::Referrer, &["t.co", "news."])];
                q.group = vec![Field::Referrer];
            }),
        ),
        (
            "page matches",
            with(&|q| {
                q.filters = vec![filter(Matches, Field::Page, &["^/blog/[ab]$"])];
                q.group = vec![Field::Page];
            }),
        ),
        (
            "page matches one of two",
            with(&|q| q.filters = vec![filter(Matches, Field::Page, &["^/docs", "pricing$"])]),
        ),
        (
            "referrer matches, case-insensitive",
            with(&|q| q.filters = vec![filter(Matches, Field::Referrer, &["(?i)GOOGLE\\.com"])]),
        ),
        (
            "is source (session side) x page",
            with(&|q| {
                q.filters = vec![filter(Is, Field::Source, &["Google"])];
                q.group = vec![Field::Page];
            }),
        ),
        (
            "is not source (missing ones pass)",
            with(&|q| {
                q.filters = vec![filter(IsNot, Field::Source, &["Google"])];
                q.group = vec![Field::Source];
            }),
        ),
        (
            "is utm campaign x exit page",
            with(&|q| {
                q.filters = vec![filter(Is, Field::UtmCampaign, &["launch"])];
                q.group = vec![Field::ExitPage];
            }),
        ),
        (
            "is entry page x exit page",
            with(&|q| {
                q.filters = vec![filter(Is, Field::EntryPage, &["/"])];
                q.group = vec![Field::ExitPage];
            }),
        ),
        (
            "filters and-combined",
            with(&|q| {
                q.filters = vec![
                    filter(Is, Field::Device, &["desktop", "mobile"]),
                    filter(Contains, Field::Hostname, &["shop"]),
                    filter(IsNot, Field::Source, &[""]),
                ];
                q.group = vec![Field::Country];
            }),
        ),
        (
            "filter and group on one field",
            with(&|q| {
                q.filters = vec![filter(IsNot, Field::Page, &["/"])];
                q.group = vec![Field::Page];
            }),
        ),
        (
            "filters with buckets",
            with(&|q| {
                q.filters = vec![filter(IsNot, Field::UtmSource, &[""])];
                q.time = Some(day_buckets());
                q.group = vec![Field::UtmSource];
            }),
        ),
        ("project 2", {
            let mut q = query(pid(2), T0 - DAY_MS, T0 + 4 * DAY_MS);
            q.group = vec![Field::Page];
            q
        }),
        ("empty range", query(pid(1), T0 + DAY_MS, T0 + DAY_MS)),
        ("unknown project", query(pid(9), T0 - DAY_MS, T0 + 4 * DAY_MS)),
    ];
    cases.extend(more.into_iter().map(|(name, q)| (name.to_owned(), q)));
    cases
}

fn event_cases() -> Vec<(String, RawQuery)> {
    let mut fields: Vec<Field> = Field::FIXED.to_vec();
    fields.extend([
        Field::Prop("plan".into()),
        Field::Prop("seats".into()),
        Field::Prop("a=b".into()),
    ]);
    fields.extend(ODD_PROP_KEYS.map(|k| Field::Prop(k.into())));
    let mut cases = common_cases(&fields);
    let all = || query(pid(1), T0 - DAY_MS, T0 + 4 * DAY_MS);
    let with = |f: &dyn Fn(&mut RawQuery)| {
        let mut q = all();
        f(&mut q);
        q
    };
    use FilterOp::*;
    let more: Vec<(&str, RawQuery)> = vec![
        (
            "prop x event name",
            with(&|q| q.group = vec![Field::Prop("plan".into()), Field::EventName]),
        ),
        (
            "is prop",
            with(&|q| {
                q.filters = vec![filter(Is, Field::Prop("plan".into()), &["pro"])];
                q.group = vec![Field::EventName];
            }),
        ),
        (
            "is not prop (events without it pass as \"\")",
            with(&|q| {
                q.filters = vec![filter(IsNot, Field::Prop("plan".into()), &["pro"])];
                q.group = vec![Field::EventName];
            }),
        ),
        (
            "is an empty prop (set or missing)",
            with(&|q| q.filters = vec![filter(Is, Field::Prop("plan".into()), &[""])]),
        ),
        (
            "is event name x prop",
            with(&|q| {
                q.filters = vec![filter(Is, Field::EventName, &["signup", "purchase"])];
                q.group = vec![Field::Prop("seats".into())];
            }),
        ),
        (
            "prop filter and session-side group",
            with(&|q| {
                q.filters = vec![filter(Matches, Field::Prop("plan".into()), &["^p"])];
                q.group = vec![Field::Source, Field::Prop("plan".into())];
            }),
        ),
        (
            "goal x source",
            with(&|q| {
                q.goal = Some(crate::GoalKind::Event("signup".into()));
                q.group = vec![Field::Source];
            }),
        ),
        (
            "goal",
            with(&|q| q.goal = Some(crate::GoalKind::Event("purchase".into()))),
        ),
        (
            "goal x day buckets x page",
            with(&|q| {
                q.goal = Some(crate::GoalKind::Event("signup".into()));
                q.time = Some(day_buckets());
                q.group = vec![Field::Page];
            }),
        ),
        (
            "goal nobody reached",
            with(&|q| {
                q.goal = Some(crate::GoalKind::Event("nothing".into()));
                q.group = vec![Field::Device];
            }),
        ),
    ];
    cases.extend(more.into_iter().map(|(name, q)| (name.to_owned(), q)));
    for key in ODD_PROP_KEYS {
        let field = Field::Prop(key.into());
        let value = format!("{key} value");
        cases.push((
            format!("{field} is its value"),
            with(&|q| q.filters = vec![filter(Is, field.clone(), &[value.as_str()])]),
        ));
        cases.push((
            format!("{field} contains, by it"),
            with(&|q| {
                q.filters = vec![filter(Contains, field.clone(), &[key])];
                q.group = vec![field.clone(), Field::Country];
            }),
        ));
    }
    cases
}

fn session_cases() -> Vec<(String, RawQuery)> {
    // Event names and props are not fields of sessions: not grouped or filtered by here.
    let fields: Vec<Field> = Field::FIXED.into_iter().filter(Field::is_session_field).collect();
    common_cases(&fields)
}

/// Event metrics of many queries (every field, two fields, time buckets with day bounds and with
/// repeated labels, every filter operator, session-side filters, goals) equal the brute force.
pub async fn raw_event_aggregates_match_brute_force(b: &dyn Backend) {
    let s = b.store();
    let events = generate();
    ingest_shuffled(&*s, &events, 1).await;
    let sessions = folded(&events);
    let cases = event_cases();
    let mut nonempty = 0;
    for (name, q) in &cases {
        let mut got = s.aggregate_events(q).await.unwrap();
        got.sort_by(|a, b| (&a.keys, a.bucket).cmp(&(&b.keys, b.bucket)));
        let want = expected_events(q, &events, &sessions);
        nonempty += usize::from(want.len() > 1);
        assert_eq!(got, want, "aggregate_events, case {name:?}: {q:?}");
    }
    assert!(nonempty >= cases.len() / 2, "the cases must have data: {nonempty}");
}

/// Session metrics of many queries equal the brute force.
pub async fn raw_session_aggregates_match_brute_force(b: &dyn Backend) {
    let s = b.store();
    let events = generate();
    ingest_shuffled(&*s, &events, 2).await;
    let sessions = folded(&events);
    let cases = session_cases();
    let mut nonempty = 0;
    for (name, q) in &cases {
        let mut got = s.aggregate_sessions(q).await.unwrap();
        got.sort_by(|a, b| (&a.keys, a.bucket).cmp(&(&b.keys, b.bucket)));
        let want = expected_sessions(q, &sessions);
        nonempty += usize::from(want.len() > 1);
        assert_eq!(got, want, "aggregate_sessions, case {name:?}: {q:?}");
    }
    assert!(nonempty >= cases.len() / 2, "the cases must have data: {nonempty}");
}

/// Checks on the data itself, so the cases above test what they claim to.
pub async fn the_generated_data_covers_the_cases(_b: &dyn Backend) {
    let events = generate();
    let sessions = folded(&events);
    assert!((400..700).contains(&events.len()), "{} events", events.len());
    let crosses_midnight = sessions.iter().filter(|s| s.start / DAY_MS != s.end / DAY_MS).count();
    assert!(crosses_midnight >= 3, "{crosses_midnight} sessions cross midnight");
    let own_differs = events
        .iter()
        .filter(|e| session_of(&sessions, e).is_some_and(|s| s.source != e.source))
        .count();
    assert!(
        own_differs >= 20,
        "{own_differs} events with a source other than their session's"
    );
    let same_ms = events
        .iter()
        .filter(|e| e.name == PAGE_EXIT)
        .filter(|x| {
            events
                .iter()
                .any(|c| c.name == PATH_CHANGE && c.visitor_id == x.visitor_id && c.occurred_at == x.occurred_at)
        })
        .count();
    assert!(same_ms >= 5, "{same_ms} exits with a path change in the same ms");
    let on_the_hour = events.iter().filter(|e| e.occurred_at % HOUR_MS == 0).count();
    assert!(on_the_hour >= 5, "{on_the_hour} events on the hour");
    let visitors_per_project = |p| {
        events
            .iter()
            .filter(|e| e.project_id == p)
            .map(|e| e.visitor_id)
            .collect::<BTreeSet<_>>()
            .len()
    };
    assert_eq!((visitors_per_project(pid(1)), visitors_per_project(pid(2))), (20, 3));
    assert!(sessions.iter().any(|s| s.is_bounce()) && sessions.iter().any(|s| !s.is_bounce()));
    assert!(events.iter().any(|e| e.scroll_depth.is_none() && e.name == PAGE_EXIT));
    assert!(events.iter().any(|e| e.geo.country.is_none()) && events.iter().any(|e| e.source.is_none()));
}

// --- rollups ---------------------------------------------------------------------------------

fn stored(bucket: Millis, rows: &[RollupRow]) -> Vec<StoredRollup> {
    let mut out: Vec<StoredRollup> = rows
        .iter()
        .map(|row| StoredRollup {
            bucket,
            row: row.clone(),
        })
        .collect();
    sort_rollups(&mut out);
    out
}

fn sort_rollups(rows: &mut [StoredRollup]) {
    rows.sort_by(|a, b| (a.bucket, &a.row.dim, &a.row.value).cmp(&(b.bucket, &b.row.dim, &b.row.value)));
}

async fn read_rollups(
    s: &dyn Store,
    project: ProjectId,
    g: Granularity,
    from: Millis,
    to: Millis,
    dim: Option<&RollupDim>,
) -> Vec<StoredRollup> {
    let mut rows = s.rollups(&project, g, from, to, dim).await.unwrap();
    sort_rollups(&mut rows);
    rows
}

fn assert_same_rollups(got: &[StoredRollup], want: &[StoredRollup], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: row count");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(
            g.row.visitors.estimate(),
            w.row.visitors.estimate(),
            "{what}: sketch of {:?}",
            w.row.dim
        );
        assert_eq!(g, w, "{what}");
    }
}

/// The busiest hour of project 1 and another busy one.
fn busy_hours(events: &[EnrichedEvent]) -> (Millis, Millis) {
    let mut per_hour: BTreeMap<Millis, usize> = BTreeMap::new();
    for e in events.iter().filter(|e| e.project_id == pid(1)) {
        *per_hour.entry(hour_of(e.occurred_at)).or_default() += 1;
    }
    let mut hours: Vec<(usize, Millis)> = per_hour.into_iter().map(|(h, n)| (n, h)).collect();
    hours.sort();
    let (first, second) = (hours[hours.len() - 1].1, hours[hours.len() - 2].1);
    (first.min(second), first.max(second))
}

/// Replacing a bucket's rows leaves exactly the new rows (counters and sketches), and no other
/// bucket, granularity or project changes.
pub async fn replace_rollups_replaces_exactly_one_bucket(b: &dyn Backend) {
    let s = b.store();
    let events = generate();
    let sessions = folded(&events);
    let p1_events: Vec<EnrichedEvent> = events.iter().filter(|e| e.project_id == pid(1)).cloned().collect();
    let p1_sessions: Vec<Session> = sessions.iter().filter(|s| s.project_id == pid(1)).cloned().collect();
    let (h1, h2) = busy_hours(&events);
    let build = |from: Millis, to: Millis| rollup::build(&p1_events, &p1_sessions, from, to);
    let first = build(h1, h1 + HOUR_MS);
    let other_hour = build(h2, h2 + HOUR_MS);
    let day = rollup::day_of(h1);
    let daily = build(day, day + DAY_MS);
    assert!(first.len() > 20 && daily.len() > first.len(), "{} rows", first.len());

    s.replace_rollups(&pid(1), Granularity::Hour, h1, &first).await.unwrap();
    s.replace_rollups(&pid(1), Granularity::Hour, h2, &other_hour)
        .await
        .unwrap();
    s.replace_rollups(&pid(1), Granularity::Day, day, &daily).await.unwrap();
    s.replace_rollups(&pid(2), Granularity::Hour, h1, &first[..3])
        .await
        .unwrap();
    let got = read_rollups(&*s, pid(1), Granularity::Hour, h1, h1 + HOUR_MS, None).await;
    assert_same_rollups(&got, &stored(h1, &first), "first write");

    // Smaller, with changed counters and sketches, and rows the first set did not have (one pair
    // whose dimension and value concatenate to the same text).
    let mut second: Vec<RollupRow> = first.iter().step_by(3).cloned().collect();
    second[0].counters.pageviews += 1_000;
    second[1].visitors.insert(u64::MAX - 5);
    second[1].counters = Counters {
        visits: 77,
        ..second[1].counters
    };
    for (key, value) in [("a", "b=c"), ("a=b", "c"), ("a", "")] {
        let mut row = RollupRow {
            dim: RollupDim::Field(Field::Prop(key.into())),
            value: value.into(),
            counters: Counters {
                custom_events: 1 + key.len() as u64,
                ..Counters::default()
            },
            visitors: Default::default(),
        };
        row.visitors.insert(key.len() as u64);
        second.push(row);
    }
    let mut big = RollupRow {
        dim: RollupDim::Total,
        value: "x".repeat(1500),
        counters: Counters::default(),
        visitors: Default::default(),
    };
    for v in 0..3_000u64 {
        big.visitors.insert(v);
    }
    assert!(!big.visitors.is_exact(), "a dense sketch round-trips too");
    second.push(big);
    assert!(second.len() < first.len());
    s.replace_rollups(&pid(1), Granularity::Hour, h1, &second)
        .await
        .unwrap();
    let got = read_rollups(&*s, pid(1), Granularity::Hour, h1, h1 + HOUR_MS, None).await;
    assert_same_rollups(&got, &stored(h1, &second), "second write");

    // Nothing else moved.
    let got = read_rollups(&*s, pid(1), Granularity::Hour, h2, h2 + HOUR_MS, None).await;
    assert_same_rollups(&got, &stored(h2, &other_hour), "another hour");
    let got = read_rollups(&*s, pid(1), Granularity::Day, day - DAY_MS, day + 2 * DAY_MS, None).await;
    assert_same_rollups(&got, &stored(day, &daily), "the day");
    let got = read_rollups(&*s, pid(2), Granularity::Hour, h1, h1 + HOUR_MS, None).await;
    assert_same_rollups(&got, &stored(h1, &first[..3]), "another project");

    // Ranges are [from, to), and one dimension can be read alone.
    let mut both = stored(h1, &second);
    both.extend(stored(h2, &other_hour));
    sort_rollups(&mut both);
    let got = read_rollups(&*s, pid(1), Granularity::Hour, h1, h2 + 1, None).await;
    assert_same_rollups(&got, &both, "two hours");
    let got = read_rollups(&*s, pid(1), Granularity::Hour, h1 + 1, h2, None).await;
    assert_same_rollups(&got, &[], "between the hours");
    for dim in [
        RollupDim::Field(Field::Page),
        RollupDim::Total,
        RollupDim::Field(Field::Prop("a=b".into())),
    ] {
        let want: Vec<StoredRollup> = both.iter().filter(|r| r.row.dim == dim).cloned().collect();
        let got = read_rollups(&*s, pid(1), Granularity::Hour, h1, h2 + 1, Some(&dim)).await;
        assert!(!want.is_empty());
        assert_same_rollups(&got, &want, &format!("dimension {}", dim.key()));
    }
    let got = read_rollups(&*s, pid(1), Granularity::Day, h1, h1 + HOUR_MS, None).await;
    assert!(
        got.iter().all(|r| r.bucket == day) && got.len() <= daily.len(),
        "granularities are apart"
    );

    // Summaries are the rows without their sketches (a dense sketch's count is its estimate),
    // and rows can be read by value.
    for dim in [
        RollupDim::Field(Field::Page),
        RollupDim::Total,
        RollupDim::Field(Field::Prop("a".into())),
    ] {
        let want: Vec<StoredRollup> = both.iter().filter(|r| r.row.dim == dim).cloned().collect();
        let mut got = s
            .rollup_summaries(&pid(1), Granularity::Hour, h1, h2 + 1, &dim)
            .await
            .unwrap();
        got.sort_by(|a, b| (a.bucket, &a.value).cmp(&(b.bucket, &b.value)));
        let mut expected: Vec<RollupSummary> = want.iter().map(RollupSummary::of).collect();
        expected.sort_by(|a, b| (a.bucket, &a.value).cmp(&(b.bucket, &b.value)));
        assert_eq!(got, expected, "summaries of {}", dim.key());
        let values: Vec<String> = want.iter().step_by(2).map(|r| r.row.value.clone()).collect();
        let wanted: Vec<StoredRollup> = want.iter().filter(|r| values.contains(&r.row.value)).cloned().collect();
        let mut got = s
            .rollups_of_values(&pid(1), Granularity::Hour, h1, h2 + 1, &dim, &values)
            .await
            .unwrap();
        sort_rollups(&mut got);
        assert_same_rollups(&got, &wanted, &format!("values of {}", dim.key()));
        let none = s
            .rollups_of_values(&pid(1), Granularity::Hour, h1 + 1, h2, &dim, &values)
            .await
            .unwrap();
        assert!(none.is_empty(), "values between the hours");
    }
    let dense = s
        .rollup_summaries(&pid(1), Granularity::Hour, h1, h1 + 1, &RollupDim::Total)
        .await
        .unwrap();
    assert!(
        dense.iter().any(|r| !r.visitors_exact && r.visitors > 2_900),
        "a dense sketch's summary: {dense:?}"
    );

    // Replacing with nothing empties the bucket.
    s.replace_rollups(&pid(1), Granularity::Hour, h2, &[]).await.unwrap();
    let got = read_rollups(&*s, pid(1), Granularity::Hour, h2, h2 + HOUR_MS, None).await;
    assert_same_rollups(&got, &[], "emptied");
}

// --- dirty marks -----------------------------------------------------------------------------

/// `touched_hours` of all events of each project with their final sessions.
fn all_touched(events: &[EnrichedEvent], sessions: &[Session]) -> BTreeSet<(ProjectId, Millis)> {
    let projects: BTreeSet<ProjectId> = events.iter().map(|e| e.project_id).collect();
    let mut out = BTreeSet::new();
    for p in projects {
        let mine: Vec<EnrichedEvent> = events.iter().filter(|e| e.project_id == p).cloned().collect();
        let theirs: Vec<Session> = sessions.iter().filter(|s| s.project_id == p).cloned().collect();
        out.extend(rollup::touched_hours(&mine, &theirs, &[]).into_iter().map(|h| (p, h)));
    }
    out
}

fn mark_set(marks: &[DirtyHour]) -> BTreeSet<(ProjectId, Millis)> {
    marks.iter().map(|m| (m.project, m.hour)).collect()
}

/// Ingest marks exactly the touched hours; listing is oldest first; clearing needs the version
/// that was read, so a mark made again meanwhile (also after a clear) survives a stale clear.
pub async fn ingest_marks_touched_hours_and_clearing_checks_the_version(b: &dyn Backend) {
    let s = b.store();
    let events = generate();
    ingest_shuffled(&*s, &events, 3).await;
    let want = all_touched(&events, &folded(&events));
    let event_hours: BTreeSet<(ProjectId, Millis)> =
        events.iter().map(|e| (e.project_id, hour_of(e.occurred_at))).collect();
    assert_eq!(want, event_hours, "sessions start at event times");

    let marks = s.dirty_hours(100_000).await.unwrap();
    assert_eq!(marks.len(), want.len(), "one mark per project and hour");
    assert_eq!(mark_set(&marks), want);
    assert!(marks.windows(2).all(|w| w[0].hour <= w[1].hour), "oldest first");
    let few = s.dirty_hours(5).await.unwrap();
    assert_eq!(few.len(), 5);
    let latest_of_few = few.iter().map(|m| m.hour).max().unwrap();
    assert!(
        marks
            .iter()
            .filter(|m| !few.contains(m))
            .all(|m| m.hour >= latest_of_few),
        "the limit keeps the oldest"
    );
    assert!(s.dirty_hours(0).await.unwrap().is_empty());

    // Clearing with the version read.
    let first = marks[0].clone();
    assert!(s.clear_dirty(&first).await.unwrap());
    assert!(!s.clear_dirty(&first).await.unwrap(), "already cleared");
    let left = s.dirty_hours(100_000).await.unwrap();
    assert_eq!(mark_set(&left), &want - &BTreeSet::from([(first.project, first.hour)]));

    // A mark made again after it was read is not cleared by the old version.
    let second = marks[1].clone();
    let late = event(
        second.project,
        4242,
        "late-1",
        "pageview",
        second.hour + 59 * MIN,
        "/late",
    );
    s.ingest(&[late]).await.unwrap();
    let now = s.dirty_hours(100_000).await.unwrap();
    let again = now
        .iter()
        .find(|m| (m.project, m.hour) == (second.project, second.hour))
        .expect("still marked")
        .clone();
    assert_ne!(again.version, second.version, "marking again changes the version");
    assert!(!s.clear_dirty(&second).await.unwrap(), "stale version");
    assert!(
        mark_set(&s.dirty_hours(100_000).await.unwrap()).contains(&(second.project, second.hour)),
        "a stale clear keeps the mark"
    );
    assert!(s.clear_dirty(&again).await.unwrap());

    // Also when the mark was cleared and made anew: a version read before the clear must not
    // clear the new mark, even where both were marked once (a bare counter restarting at 1 would).
    let fresh = T0 + 10 * DAY_MS;
    s.ingest(&[event(pid(1), 4243, "fresh-1", "pageview", fresh, "/fresh")])
        .await
        .unwrap();
    let find = |marks: Vec<DirtyHour>| marks.into_iter().find(|m| (m.project, m.hour) == (pid(1), fresh));
    let old = find(s.dirty_hours(100_000).await.unwrap()).expect("marked");
    assert!(s.clear_dirty(&old).await.unwrap());
    s.ingest(&[event(pid(1), 4244, "fresh-2", "pageview", fresh + MIN, "/fresh")])
        .await
        .unwrap();
    let new = find(s.dirty_hours(100_000).await.unwrap()).expect("marked anew");
    assert!(!s.clear_dirty(&old).await.unwrap(), "a version from before the clear");
    assert!(
        find(s.dirty_hours(100_000).await.unwrap()).is_some(),
        "the new mark stays"
    );
    assert!(s.clear_dirty(&new).await.unwrap());
}

// --- sessions of visitors --------------------------------------------------------------------

/// Exactly the sessions of the given visitors of the given project, with the ids `sessions` has.
pub async fn sessions_of_visitors_returns_theirs_only(b: &dyn Backend) {
    let s = b.store();
    let events = generate();
    ingest_shuffled(&*s, &events, 4).await;
    let sessions = folded(&events);
    let visitors_of = |p: ProjectId| -> Vec<VisitorId> {
        let set: BTreeSet<VisitorId> = events
            .iter()
            .filter(|e| e.project_id == p)
            .map(|e| e.visitor_id)
            .collect();
        set.into_iter().collect()
    };
    let p1 = visitors_of(pid(1));
    let p2 = visitors_of(pid(2));
    // Project 2's visitors share ids with project 1's.
    assert!(p2.iter().all(|v| p1.contains(v)));
    let asked = vec![p1[0], p1[3], p1[7], VisitorId(12345), p1[3]];
    let got = s.sessions_of_visitors(&pid(1), &asked).await.unwrap();
    let want: Vec<Session> = sessions
        .iter()
        .filter(|x| x.project_id == pid(1) && asked.contains(&x.visitor_id))
        .cloned()
        .collect();
    assert!(want.len() >= 3);
    assert_eq!(comparable(&got), comparable(&want));
    // The same sessions, ids included, as `sessions` lists.
    let listed = s.sessions(&pid(1), T0 - DAY_MS, T0 + 5 * DAY_MS).await.unwrap();
    let ids = |list: &[Session]| -> BTreeSet<String> { list.iter().map(|x| x.id.clone()).collect() };
    let listed_theirs: Vec<Session> = listed.into_iter().filter(|x| asked.contains(&x.visitor_id)).collect();
    assert_eq!(ids(&got), ids(&listed_theirs));

    let got = s.sessions_of_visitors(&pid(2), &p2[..1]).await.unwrap();
    let want: Vec<Session> = sessions
        .iter()
        .filter(|x| x.project_id == pid(2) && x.visitor_id == p2[0])
        .cloned()
        .collect();
    assert_eq!(comparable(&got), comparable(&want));
    assert!(s.sessions_of_visitors(&pid(1), &[]).await.unwrap().is_empty());
    assert!(s.sessions_of_visitors(&pid(9), &p1).await.unwrap().is_empty());
}

// --- retention -------------------------------------------------------------------------------

/// The retention sweep deletes exactly what is older than each cut-off, reports it, leaves the
/// rest intact, and ingestion goes on working on the visitors it touched.
pub async fn delete_expired_removes_exactly_the_older_data(b: &dyn Backend) {
    let s = b.store();
    let events = generate();
    ingest_shuffled(&*s, &events, 5).await;
    let sessions = folded(&events);
    let raw_before = T0 + DAY_MS + 5 * HOUR_MS + 17 * MIN + 3;
    let retention = Retention {
        raw_before,
        hourly_before: T0 + DAY_MS + 2 * HOUR_MS,
        daily_before: T0 + DAY_MS,
    };
    let row = |value: &str| RollupRow {
        dim: RollupDim::Field(Field::Page),
        value: value.into(),
        counters: Counters {
            pageviews: 1,
            ..Counters::default()
        },
        visitors: Default::default(),
    };
    let two = [row("/a"), row("/b")];
    let hourly = [
        T0,
        retention.hourly_before - HOUR_MS,
        retention.hourly_before,
        T0 + 2 * DAY_MS,
    ];
    let daily = [T0 - DAY_MS, T0, T0 + DAY_MS, T0 + 2 * DAY_MS];
    for p in [pid(1), pid(2)] {
        for &h in &hourly {
            s.replace_rollups(&p, Granularity::Hour, h, &two).await.unwrap();
        }
        for &d in &daily {
            s.replace_rollups(&p, Granularity::Day, d, &two[..1]).await.unwrap();
        }
    }
    let marks_before = s.dirty_hours(100_000).await.unwrap();

    let expired = s.delete_expired(&retention).await.unwrap();
    let old_events = events.iter().filter(|e| e.occurred_at < raw_before).count() as u64;
    let old_sessions = sessions.iter().filter(|x| x.start < raw_before).count() as u64;
    assert!(old_events > 50 && old_sessions > 10 && (old_events as usize) < events.len() - 50);
    let old_rollups = 2 * (2 * 2 + 2);
    assert_eq!(
        expired,
        Expired {
            events: old_events,
            sessions: old_sessions,
            rollups: old_rollups,
        }
    );

    for p in [pid(1), pid(2)] {
        let mut want: Vec<EnrichedEvent> = events
            .iter()
            .filter(|e| e.project_id == p && e.occurred_at >= raw_before)
            .cloned()
            .collect();
        want.sort_by(|a, b| (a.occurred_at, a.id.as_str()).cmp(&(b.occurred_at, b.id.as_str())));
        assert_eq!(s.events(&p, T0 - DAY_MS, T0 + 5 * DAY_MS).await.unwrap(), want);
        let want: Vec<Session> = sessions
            .iter()
            .filter(|x| x.project_id == p && x.start >= raw_before)
            .cloned()
            .collect();
        let got = s.sessions(&p, T0 - DAY_MS, T0 + 5 * DAY_MS).await.unwrap();
        assert_eq!(comparable(&got), comparable(&want), "sessions left");
        let got = read_rollups(&*s, p, Granularity::Hour, T0 - DAY_MS, T0 + 5 * DAY_MS, None).await;
        let buckets: Vec<Millis> = got.iter().map(|r| r.bucket).collect();
        assert_eq!(
            buckets,
            [hourly[2], hourly[2], hourly[3], hourly[3]],
            "hourly rollups left"
        );
        let got = read_rollups(&*s, p, Granularity::Day, T0 - 2 * DAY_MS, T0 + 5 * DAY_MS, None).await;
        let buckets: Vec<Millis> = got.iter().map(|r| r.bucket).collect();
        assert_eq!(buckets, [daily[2], daily[3]], "daily rollups left");
    }
    let marks_after = s.dirty_hours(100_000).await.unwrap();
    let want: Vec<DirtyHour> = marks_before.into_iter().filter(|m| m.hour >= raw_before).collect();
    assert!(!want.is_empty());
    assert_eq!(mark_set(&marks_after), mark_set(&want), "dirty marks left");

    assert_eq!(
        s.delete_expired(&retention).await.unwrap(),
        Expired::default(),
        "nothing left to delete"
    );

    // A visitor who lost old sessions goes on being folded correctly.
    let visitor = sessions
        .iter()
        .filter(|x| x.project_id == pid(1) && x.start < raw_before)
        .map(|x| x.visitor_id)
        .find(|v| {
            sessions
                .iter()
                .any(|x| x.project_id == pid(1) && x.visitor_id == *v && x.start >= raw_before)
        })
        .expect("a visitor with sessions on both sides of the cut-off");
    let theirs: Vec<Session> = sessions
        .iter()
        .filter(|x| x.project_id == pid(1) && x.visitor_id == visitor && x.start >= raw_before)
        .cloned()
        .collect();
    let last_end = theirs.iter().map(|x| x.end).max().unwrap();
    let extra = [
        event(
            pid(1),
            visitor.0,
            "after-sweep-1",
            "pageview",
            last_end + 5 * MIN,
            "/again",
        ),
        event(
            pid(1),
            visitor.0,
            "after-sweep-2",
            "pageview",
            last_end + 3 * HOUR_MS,
            "/later",
        ),
    ];
    s.ingest(&extra).await.unwrap();
    let refs: Vec<&EnrichedEvent> = extra.iter().collect();
    let mut n = 0;
    let want = fold(theirs, &refs, &mut || {
        n += 1;
        format!("new-{n}")
    })
    .sessions;
    let got = s.sessions_of_visitors(&pid(1), &[visitor]).await.unwrap();
    assert_eq!(comparable(&got), comparable(&want));
}
