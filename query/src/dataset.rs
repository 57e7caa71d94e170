//! Synthetic, realistic traffic for the ground-truth tests and the dashboard benchmark: visitors
//! with skewed countries, browsers and sources, visits with a daily rhythm (some crossing
//! midnight), Zipf-distributed pages, page exits with engaged time and scroll depth, and custom
//! events with props. A share of the visits follow the sign-up flow (`/` -> `/pricing` ->
//! `/signup` -> custom event `signup`, [`SIGNUP_FLOW`]) with drop-offs at each step, some out of
//! order, some with a step repeated and some paused past the session timeout (so the flow goes
//! on in a second session): funnels and journeys have something to find. Seeded, so a seed always
//! gives the same events.

use std::collections::BTreeMap;

use contract::enrich::{ClientInfo, Device, Utm, VisitorId};
use contract::enriched::{EnrichedEvent, Geo};
use contract::ids::{EventId, ProjectId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use store::Millis;

/// What to generate.
#[derive(Clone, Debug)]
pub struct Shape {
    pub project: ProjectId,
    pub seed: u64,
    /// First instant (UTC) of the period.
    pub start: Millis,
    pub days: u32,
    pub visitors: u32,
    /// Visits per visitor on average (the event count follows: ~8 events per visit).
    pub visits_per_visitor: f64,
    /// Distinct pages (popularity follows Zipf's law).
    pub pages: u32,
}

/// `(value, weight)` tables: a realistic skew without a real dataset.
const COUNTRIES: &[(&str, &str, &str, u32)] = &[
    ("US", "California", "San Francisco", 20),
    ("US", "New York", "New York", 15),
    ("DE", "Berlin", "Berlin", 8),
    ("DE", "Bavaria", "Munich", 4),
    ("GB", "England", "London", 8),
    ("IN", "Maharashtra", "Mumbai", 8),
    ("FR", "Ile-de-France", "Paris", 6),
    ("BR", "Sao Paulo", "Sao Paulo", 5),
    ("JP", "Tokyo", "Tokyo", 5),
    ("NP", "Bagmati", "Kathmandu", 1),
    ("", "", "", 3),
];
const BROWSERS: &[(&str, &str, Device, u32)] = &[
    ("Chrome", "Windows", Device::Desktop, 35),
    ("Chrome", "Android", Device::Mobile, 20),
    ("Safari", "iOS", Device::Mobile, 15),
    ("Safari", "macOS", Device::Desktop, 8),
    ("Firefox", "Windows", Device::Desktop, 6),
    ("Edge", "Windows", Device::Desktop, 7),
    ("Samsung Internet", "Android", Device::Mobile, 4),
    ("Safari", "iOS", Device::Tablet, 3),
    ("Unknown", "Unknown", Device::Other, 2),
];
/// Source, referrer, utm (source, medium, campaign).
type SourceRow = (
    &'static str,
    &'static str,
    Option<(&'static str, &'static str, &'static str)>,
    u32,
);
const SOURCES: &[SourceRow] = &[
    ("", "", None, 30),
    ("Google", "https://www.google.com/", None, 35),
    ("Bing", "https://www.bing.com/", None, 4),
    ("Twitter", "https://t.co/abc", None, 6),
    ("Hacker News", "https://news.ycombinator.com/", None, 5),
    ("newsletter", "", Some(("newsletter", "email", "spring-sale")), 8),
    ("Google", "https://www.google.com/", Some(("google", "cpc", "brand")), 7),
    ("github.com", "https://github.com/acme/widget", None, 5),
];

fn pick<'a, T>(rng: &mut StdRng, table: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
    let total: u32 = table.iter().map(&weight).sum();
    let mut x = rng.random_range(0..total);
    for row in table {
        let w = weight(row);
        if x < w {
            return row;
        }
        x -= w;
    }
    &table[table.len() - 1]
}

/// Zipf-like page rank: page 0 most popular.
fn zipf(rng: &mut StdRng, n: u32) -> u32 {
    // Inverse transform of a continuous 1/x law over [1, n+1): rank = (n+1)^u - 1.
    let u: f64 = rng.random();
    let rank = ((f64::from(n) + 1.0).powf(u) - 1.0) as u32;
    rank.min(n - 1)
}

fn page_path(rank: u32) -> String {
    match rank {
        0 => "/".to_owned(),
        1 => "/pricing".to_owned(),
        2 => "/blog".to_owned(),
        3 => "/docs".to_owned(),
        4 => "/signup".to_owned(),
        r if r % 3 == 0 => format!("/blog/post-{r}"),
        r if r % 3 == 1 => format!("/docs/page-{r}"),
        r => format!("/p/{r}"),
    }
}

/// The pages of the sign-up flow, in order; the flow ends with a custom event `signup` on the
/// last one.
pub const SIGNUP_FLOW: [&str; 3] = ["/", "/pricing", "/signup"];
/// Share of visits that follow the sign-up flow (the others wander by popularity).
const FLOW_SHARE: f64 = 0.3;
/// Chance that a flow visit goes on from one page of the flow to the next.
const FLOW_GOES_ON: f64 = 0.6;
/// Chance that a flow visit that reached `/signup` sends the `signup` event.
const FLOW_SIGNS_UP: f64 = 0.5;

/// The pages a sign-up flow visit views first, and before which of them (if any) it pauses
/// past the session timeout.
fn flow_script(rng: &mut StdRng) -> (Vec<String>, Option<usize>) {
    let mut pages = vec![SIGNUP_FLOW[0].to_owned()];
    while pages.len() < SIGNUP_FLOW.len() && rng.random::<f64>() < FLOW_GOES_ON {
        pages.push(SIGNUP_FLOW[pages.len()].to_owned());
    }
    match rng.random_range(0..10) {
        // Out of order: pricing seen before the home page.
        0 if pages.len() >= 2 => pages.swap(0, 1),
        // A step repeated (a reload, or back and forth).
        1 => {
            let at = rng.random_range(0..pages.len());
            pages.insert(at, pages[at].clone());
        }
        _ => {}
    }
    let pause = (pages.len() >= 2 && rng.random::<f64>() < 0.1).then(|| rng.random_range(1..pages.len()));
    (pages, pause)
}

/// Hour-of-day weights (UTC): busier in the afternoon and evening.
const HOUR_WEIGHTS: [u32; 24] = [3, 2, 2, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 9, 10, 10, 9, 8, 8, 8, 7, 6, 5, 4];

struct Visitor {
    id: VisitorId,
    client: ClientInfo,
    geo: Geo,
    screen: u32,
}

/// Generates the events, calling `sink` with batches of at most `batch` events in time order per
/// visit (visits interleave). Returns how many events were generated.
pub fn generate(shape: &Shape, batch: usize, mut sink: impl FnMut(Vec<EnrichedEvent>)) -> u64 {
    let mut rng = StdRng::seed_from_u64(shape.seed);
    let mut out: Vec<EnrichedEvent> = Vec::with_capacity(batch);
    let mut count = 0u64;
    let mut seq = 0u64;
    for v in 0..shape.visitors {
        let (country, region, city, _) = *pick(&mut rng, COUNTRIES, |r| r.3);
        let (browser, os, device, _) = *pick(&mut rng, BROWSERS, |r| r.3);
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let visitor = Visitor {
            id: VisitorId(rng.random::<u64>() ^ u64::from(v)),
            client: ClientInfo {
                browser: browser.to_owned(),
                browser_version: "120".to_owned(),
                os: os.to_owned(),
                os_version: String::new(),
                device,
            },
            geo: Geo {
                country: opt(country),
                region: opt(region),
                city: opt(city),
                ..Geo::default()
            },
            screen: if device == Device::Desktop { 1440 } else { 390 },
        };
        // Geometric-ish number of visits with the requested mean (at least one).
        let mut visits = 1;
        let p_more = 1.0 - 1.0 / shape.visits_per_visitor.max(1.0);
        while rng.random::<f64>() < p_more && visits < 1000 {
            visits += 1;
        }
        for _ in 0..visits {
            let day = rng.random_range(0..shape.days.max(1));
            let hour = (0..24).collect::<Vec<u32>>();
            let hour = *pick(&mut rng, &hour, |h| HOUR_WEIGHTS[*h as usize]);
            let start = shape.start
                + i64::from(day) * 86_400_000
                + i64::from(hour) * 3_600_000
                + rng.random_range(0..3_600_000i64);
            visit(shape, &mut rng, &visitor, start, &mut seq, &mut |e| {
                out.push(e);
                count += 1;
                if out.len() >= batch {
                    sink(std::mem::replace(&mut out, Vec::with_capacity(batch)));
                }
            });
        }
    }
    if !out.is_empty() {
        sink(out);
    }
    count
}

/// One visit: a landing page view, then page exits and path changes, custom events.
fn visit(
    shape: &Shape,
    rng: &mut StdRng,
    v: &Visitor,
    start: Millis,
    seq: &mut u64,
    emit: &mut dyn FnMut(EnrichedEvent),
) {
    let (source, referrer, utm, _) = *pick(rng, SOURCES, |r| r.3);
    let utm = utm
        .map(|(s, m, c)| Utm {
            source: Some(s.to_owned()),
            medium: Some(m.to_owned()),
            campaign: Some(c.to_owned()),
            ..Utm::default()
        })
        .unwrap_or_default();
    let mut t = start;
    let (script, pause) = if rng.random::<f64>() < FLOW_SHARE {
        flow_script(rng)
    } else {
        (Vec::new(), None)
    };
    let next_page = |rng: &mut StdRng, i: usize| match script.get(i) {
        Some(p) => p.clone(),
        None => page_path(zipf(rng, shape.pages)),
    };
    let mut page = next_page(rng, 0);
    // Mean ~3.5 page views; a third of visits bounce. A flow visit views its script first.
    let mut views = 1;
    while rng.random::<f64>() < 0.68 && views < 40 {
        views += 1;
    }
    let views = views.max(script.len());
    let mut make = |name: &str, at: Millis, path: &str, first: bool| {
        *seq += 1;
        EnrichedEvent {
            id: event_id(shape.seed, *seq, at),
            project_id: shape.project,
            name: name.to_owned(),
            occurred_at: at,
            received_at: at,
            hostname: if path.starts_with("/docs") {
                "docs.example.com"
            } else {
                "example.com"
            }
            .to_owned(),
            path: path.to_owned(),
            url: format!("https://example.com{path}"),
            referrer: (first && !referrer.is_empty()).then(|| referrer.to_owned()),
            source: (first && !source.is_empty()).then(|| source.to_owned()),
            utm: if first { utm.clone() } else { Utm::default() },
            props: BTreeMap::new(),
            duration_ms: None,
            scroll_depth: None,
            screen_width: Some(v.screen),
            visitor_id: v.id,
            client: v.client.clone(),
            geo: v.geo.clone(),
        }
    };
    emit(make("pageview", t, &page, true));
    for i in 0..views {
        // Time on the page: 5 s to ~5 min.
        let stay = rng.random_range(5_000..300_000i64);
        if rng.random::<f64>() < 0.08 {
            let mut e = make("signup_click", t + stay / 2, &page, false);
            e.props.insert(
                "plan".to_owned(),
                ["free", "pro", "team"][rng.random_range(0..3)].to_owned(),
            );
            emit(e);
        }
        let signs_up = if script.is_empty() { 0.3 } else { FLOW_SIGNS_UP };
        if page == "/signup" && rng.random::<f64>() < signs_up {
            let mut e = make("signup", t + stay / 2 + 1, &page, false);
            e.props.insert(
                "method".to_owned(),
                ["email", "github"][rng.random_range(0..2)].to_owned(),
            );
            emit(e);
        }
        t += stay;
        let mut exit = make("page_exit", t, &page, false);
        exit.duration_ms = Some(u64::try_from(stay * 9 / 10).unwrap_or(0));
        exit.scroll_depth = (rng.random::<f64>() < 0.9).then(|| rng.random_range(10..=100u8));
        emit(exit);
        if i + 1 < views {
            if pause == Some(i + 1) {
                // Away longer than the session timeout: the rest is another session.
                t += store::sessions::SESSION_TIMEOUT_MS + rng.random_range(60_000..1_800_000i64);
            }
            page = next_page(rng, i + 1);
            emit(make("path_change", t, &page, false));
        }
    }
}

/// An id minted like the tracker's (time first), with the seed and sequence number in place of
/// the random part: unique within a dataset and the same on every run.
fn event_id(seed: u64, seq: u64, at: Millis) -> EventId {
    let unique = (seed << 40) | (seq & ((1 << 40) - 1));
    let random = std::array::from_fn(|i| (unique >> (6 * (8 - i))) as u8);
    EventId::minted(at, random)
}
