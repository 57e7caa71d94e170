//! Batch ingest throughput of the SQLite store: `cargo bench -p store-sqlite --bench ingest`.
//!
//! 200,000 events from 5,000 visitors over one day (visitor ids change daily), in batches of 100
//! in arrival order: each visitor makes one to four visits of a few pages (pageview, path
//! changes, page exits, the odd custom event), events arrive a few seconds after they occur and
//! one in fifty arrives minutes late, so batches mix ~100 visitors and some folds reach back into
//! older sessions. Event ids are minted like the tracker's (time first, `EventId::minted`).
//! Prints events/s for a first ingest and for a full retry (all duplicates).
//!
//! Each of `INGEST_RUNS` (3) rounds starts from an empty file; the median first-ingest rate is
//! printed last (the machines here are noisy). `INGEST_EVENTS`, `INGEST_VISITORS` and
//! `INGEST_BATCH` override the sizes.

use std::collections::BTreeMap;
use std::time::Instant;

use contract::enrich::{ClientInfo, Device, Utm};
use contract::enriched::{EnrichedEvent, Geo};
use contract::ids::{EventId, ProjectId};
use store::sessions::testing::event;
use store::Store;
use store_sqlite::SqliteStore;

const T0: i64 = 1_763_683_200_000;
const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;

/// splitmix64: deterministic, so every run ingests the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// CPU seconds this process has used (user + system, all threads), from `/proc/self/stat`: with
/// other work on the machine, events per CPU-second says more than events per wall-second.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks: f64 = fields
        .get(11..13)
        .map_or(0.0, |f| f.iter().filter_map(|t| t.parse::<f64>().ok()).sum());
    ticks / 100.0 // USER_HZ is 100 on Linux.
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const PAGES: [&str; 12] = [
    "/",
    "/pricing",
    "/docs",
    "/docs/install",
    "/docs/api",
    "/blog",
    "/blog/launch",
    "/blog/sqlite",
    "/about",
    "/signup",
    "/login",
    "/changelog",
];
const REFERRERS: [(Option<&str>, Option<&str>); 5] = [
    (None, None),
    (Some("https://www.google.com/"), Some("Google")),
    (Some("https://news.ycombinator.com/"), Some("Hacker News")),
    (Some("https://t.co/abc"), Some("Twitter")),
    (None, None),
];
const CLIENTS: [(&str, &str, &str, &str, Device, u32); 4] = [
    ("Chrome", "131", "Windows", "10", Device::Desktop, 1920),
    ("Safari", "17", "iOS", "17", Device::Mobile, 390),
    ("Firefox", "133", "Linux", "", Device::Desktop, 1440),
    ("Chrome", "131", "Android", "14", Device::Mobile, 412),
];
const PLACES: [(&str, &str, &str, &str); 4] = [
    ("DE", "BE", "Berlin", "Europe/Berlin"),
    ("US", "CA", "San Francisco", "America/Los_Angeles"),
    ("GB", "ENG", "London", "Europe/London"),
    ("FR", "IDF", "Paris", "Europe/Paris"),
];

/// One visitor's events over the day.
fn visitor_events(rng: &mut Rng, project: ProjectId, visitor: u64, count: usize, out: &mut Vec<(i64, EnrichedEvent)>) {
    let client = rng.pick(&CLIENTS);
    let place = rng.pick(&PLACES);
    let visits = 1 + rng.below(4) as usize;
    let mut left = count;
    let mut at = T0 + rng.below(20 * 60) as i64 * MIN;
    for v in 0..visits {
        let n = if v + 1 == visits {
            left
        } else {
            (count / visits).min(left)
        };
        left -= n;
        let (referrer, source) = *rng.pick(&REFERRERS);
        let mut page = *rng.pick(&PAGES);
        for i in 0..n {
            let name = match (i, rng.below(10)) {
                (0, _) => "pageview",
                (_, 0..=4) => "path_change",
                (_, 5..=7) => "page_exit",
                _ => "signup",
            };
            if name == "path_change" {
                page = *rng.pick(&PAGES);
            }
            // Ids as the tracker mints them: the client's clock, then random characters.
            let (a, b) = (rng.next().to_le_bytes(), rng.next().to_le_bytes());
            let random = std::array::from_fn(|i| if i < 8 { a[i] } else { b[i - 8] });
            let id = EventId::minted(at, random);
            let mut e = event(project, visitor, id.as_str(), name, at, page);
            e.id = id;
            e.url = format!("https://example.com{page}");
            if i == 0 {
                e.referrer = referrer.map(str::to_owned);
                e.source = source.map(str::to_owned);
                if rng.below(5) == 0 {
                    e.url
                        .push_str("?utm_source=newsletter&utm_medium=email&utm_campaign=launch");
                    e.utm = Utm {
                        source: Some("newsletter".into()),
                        medium: Some("email".into()),
                        campaign: Some("launch".into()),
                        ..Utm::default()
                    };
                }
            }
            if name == "page_exit" {
                e.duration_ms = Some(rng.below(120_000));
                e.scroll_depth = Some(rng.below(101) as u8);
            }
            if name == "signup" {
                e.props = BTreeMap::from([
                    ("plan".to_owned(), "pro".to_owned()),
                    ("seats".to_owned(), rng.below(20).to_string()),
                ]);
            }
            let (browser, browser_version, os, os_version, device, width) = *client;
            e.client = ClientInfo {
                browser: browser.into(),
                browser_version: browser_version.into(),
                os: os.into(),
                os_version: os_version.into(),
                device,
            };
            e.screen_width = Some(width);
            let (country, region, city, tz) = *place;
            e.geo = Geo {
                country: Some(country.into()),
                region: Some(region.into()),
                city: Some(city.into()),
                timezone: Some(tz.into()),
                colo: Some("FRA".into()),
                asn: Some(3320),
            };
            // Arrival: a few seconds after the event, one in fifty minutes late (a flushed queue).
            let delay = if rng.below(50) == 0 {
                rng.below(20) as i64 * MIN
            } else {
                rng.below(5_000) as i64
            };
            e.received_at = at + delay;
            out.push((e.received_at, e));
            at += 5 * SEC + rng.below(4 * 60) as i64 * SEC;
        }
        // The next visit starts after more than the 30-minute session timeout.
        at += 35 * MIN + rng.below(3 * 60) as i64 * MIN;
    }
}

fn workload(events: usize, visitors: usize) -> Vec<EnrichedEvent> {
    let mut rng = Rng(42);
    let projects = [
        ProjectId::from_bytes([1; 12]),
        ProjectId::from_bytes([2; 12]),
        ProjectId::from_bytes([3; 12]),
    ];
    let mut all = Vec::with_capacity(events);
    for v in 0..visitors {
        // Uneven visitors: between half and one and a half times the average number of events.
        let avg = events / visitors;
        let count = if v + 1 == visitors {
            events - all.len()
        } else {
            avg / 2 + rng.below(avg as u64 + 1) as usize
        };
        let count = count.min(events - all.len());
        // Most traffic goes to the first project.
        let project = projects[[0, 0, 0, 1, 2][rng.below(5) as usize]];
        let visitor = rng.next();
        visitor_events(&mut rng, project, visitor, count, &mut all);
    }
    all.sort_by_key(|(arrival, _)| *arrival);
    all.into_iter().map(|(_, e)| e).collect()
}

fn main() {
    let (n_events, n_visitors, batch, runs) = (
        env("INGEST_EVENTS", 200_000),
        env("INGEST_VISITORS", 5_000),
        env("INGEST_BATCH", 100),
        env("INGEST_RUNS", 3).max(1),
    );
    let events = workload(n_events, n_visitors);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut first_ingest = Vec::with_capacity(runs);
    for round in 1..=runs {
        // A fresh file each round: every round measures the same work.
        let dir = tempfile::tempdir().expect("temp dir");
        rt.block_on(async {
            let store = SqliteStore::open_in(dir.path()).expect("open");
            let run = |label: &'static str| {
                let store = store.clone();
                let events = &events;
                async move {
                    let started = Instant::now();
                    let cpu_before = cpu_seconds();
                    let (mut stored, mut duplicates) = (0, 0);
                    for chunk in events.chunks(batch) {
                        let r = store.ingest(chunk).await.expect("ingest");
                        stored += r.stored;
                        duplicates += r.duplicates;
                    }
                    let secs = started.elapsed().as_secs_f64();
                    let cpu = cpu_seconds() - cpu_before;
                    let rate = events.len() as f64 / secs;
                    println!(
                        "round {round} {label}: {} events in batches of {batch}: {secs:.2} s, {rate:.0} events/s \
                         ({stored} stored, {duplicates} duplicates); {cpu:.2} CPU-s on all threads, {:.0} events per CPU-second",
                        events.len(),
                        events.len() as f64 / cpu.max(0.01)
                    );
                    rate
                }
            };
            first_ingest.push(run("ingest").await);
            run("retry ").await;
            let sessions = store
                .sessions(&ProjectId::from_bytes([1; 12]), T0 - 60 * MIN, T0 + 48 * 60 * MIN)
                .await
                .expect("sessions");
            let mib = |suffix: &str| {
                let path = store.path().with_extension(format!("sqlite3{suffix}"));
                std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / (1 << 20) as f64)
            };
            let cache = store.session_cache_stats();
            println!(
                "        {n_visitors} visitors; {} sessions in the main project; database {:.1} MiB, log {:.1} MiB; \
                 session cache: {} hits, {} misses, {} visitors in {:.1} MiB",
                sessions.len(),
                mib(""),
                mib("-wal"),
                cache.hits,
                cache.misses,
                cache.visitors,
                cache.bytes as f64 / (1 << 20) as f64
            );
        });
    }
    first_ingest.sort_by(f64::total_cmp);
    println!(
        "ingest, batches of {batch}: median {:.0} events/s over {runs} rounds (min {:.0}, max {:.0})",
        first_ingest[runs / 2],
        first_ingest[0],
        first_ingest[runs - 1]
    );
}
