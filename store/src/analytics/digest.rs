//! Digests: an hour's events and sessions as columns of small integers, held in memory, so that
//! a filtered dashboard (a click on a row makes every panel group by one field and filter by
//! another, which no rollup holds) reads a few bytes per event instead of a stored row.
//!
//! A [`HourDigest`] holds, for one UTC hour of one project, every event that occurred in it and
//! every session that started in it, with the value of every fixed [`Field`] as a code into the
//! project's [`Dictionaries`] (one per field). The values are those of [`super::event_value`] and
//! [`super::session_value`], computed by the store when it builds the digest; this module only
//! counts, with the definitions of [`super::raw`]: the answers of [`aggregate_events`] and
//! [`aggregate_sessions`] equal the store's raw aggregations ([`RawQuery`]) for every query
//! [`supports`] accepts. Filters are evaluated once per distinct value (its dictionary entry),
//! not once per event.
//!
//! What a digest does not hold is answered by the store's raw path: props.
//!
//! Measured on the dashboard benchmark (10.7M events, 30 days): see the README's filtered
//! dashboard figures.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

mod codec;
pub use codec::{CorruptDigest, Interned, DIGEST_FORMAT};

use super::raw::{EventCounters, EventGroup, RawQuery, SessionGroup};
use super::rollup::HOUR_MS;
use super::{Field, Filter};
use crate::goals::GoalKind;
use crate::Millis;

/// How many fields a digest holds: [`Field::FIXED`], in that order.
pub const FIELDS: usize = Field::FIXED.len();

/// Most fields a query may group by and still be answered from digests (the query API's own
/// limit is 3).
pub const MAX_GROUP_FIELDS: usize = 3;

/// Where `field` is in [`Field::FIXED`] (and in a digest's columns); `None` for props.
pub fn field_index(field: &Field) -> Option<usize> {
    Field::FIXED.iter().position(|f| f == field)
}

/// Whether [`aggregate_events`] and [`aggregate_sessions`] answer `q`: no props, at most
/// [`MAX_GROUP_FIELDS`] groups. Goals are answered: an event completes one by its name and page
/// columns ([`GoalKind::completed_by`]), and sessions ignore goals as the raw aggregations do.
pub fn supports(q: &RawQuery) -> bool {
    q.group.len() <= MAX_GROUP_FIELDS
        && q.group.iter().all(|f| field_index(f).is_some())
        && q.filters.iter().all(|f| field_index(&f.field).is_some())
}

/// The distinct values of one field, each with its code (its position).
#[derive(Default, Debug)]
pub struct Dictionary {
    // SipHash, keyed per process: the values come from visitors, who could otherwise choose
    // values that collide (the integer keys of the counting tables below cannot be chosen).
    codes: HashMap<Box<str>, u32>,
    values: Vec<Box<str>>,
}

impl Dictionary {
    /// The code of `value`, added if new.
    pub fn code(&mut self, value: &str) -> u32 {
        if let Some(&c) = self.codes.get(value) {
            return c;
        }
        let c = u32::try_from(self.values.len()).expect("fewer than 2^32 values");
        self.values.push(value.into());
        self.codes.insert(value.into(), c);
        c
    }

    pub fn value(&self, code: u32) -> &str {
        &self.values[code as usize]
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    fn bytes(&self) -> usize {
        self.values.iter().map(|v| 2 * v.len() + 48).sum()
    }
}

/// The visitors of a project's digests, each with a code (its position): digests hold codes,
/// so a distinct count can mark one bit per visitor of the project ([`Distinct`]) instead of
/// sorting the visitors it met, and a row's visitor takes 4 bytes instead of 8.
#[derive(Default, Debug)]
pub struct Visitors {
    // The multiplicative hash: visitor ids are HMACs keyed by a secret salt of the day
    // (`contract::enrich::visitor`), which no visitor can choose to collide.
    codes: IntMap<i64, u32>,
    ids: Vec<i64>,
}

impl Visitors {
    /// The code of visitor `id`, added if new.
    pub fn code(&mut self, id: i64) -> u32 {
        // u32::MAX stays free: it marks "no visitor yet" (`NO_VISITOR`).
        let next = u32::try_from(self.ids.len())
            .ok()
            .filter(|&c| c != NO_VISITOR)
            .expect("fewer than 2^32 - 1 visitors");
        let code = *self.codes.entry(id).or_insert(next);
        if code == next {
            self.ids.push(id);
        }
        code
    }

    /// The codes of `ids`, a column of rows sorted by visitor: a visitor's rows follow each
    /// other, so each is looked up once.
    pub fn codes(&mut self, ids: impl ExactSizeIterator<Item = i64>) -> Vec<u32> {
        let mut out = Vec::with_capacity(ids.len());
        let mut last: Option<(i64, u32)> = None;
        for id in ids {
            let code = match last {
                Some((l, code)) if l == id => code,
                _ => self.code(id),
            };
            last = Some((id, code));
            out.push(code);
        }
        out
    }

    pub fn id(&self, code: u32) -> i64 {
        self.ids[code as usize]
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn bytes(&self) -> usize {
        // A table slot (key, value and a control byte, at most 7/8 full) and the id.
        self.ids.len() * (13 * 8 / 7 + 8)
    }
}

/// A project's dictionaries: one per field of [`Field::FIXED`], and its visitors.
#[derive(Default, Debug)]
pub struct Dictionaries {
    fields: [Dictionary; FIELDS],
    visitors: Visitors,
}

impl Dictionaries {
    pub fn field(&self, i: usize) -> &Dictionary {
        &self.fields[i]
    }

    pub fn field_mut(&mut self, i: usize) -> &mut Dictionary {
        &mut self.fields[i]
    }

    pub fn visitors(&self) -> &Visitors {
        &self.visitors
    }

    pub fn visitors_mut(&mut self) -> &mut Visitors {
        &mut self.visitors
    }

    /// Approximate heap bytes.
    pub fn bytes(&self) -> usize {
        self.fields.iter().map(Dictionary::bytes).sum::<usize>() + self.visitors.bytes()
    }
}

/// Codes of one column, each as wide as the largest needs.
#[derive(Debug)]
enum Codes {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
}

impl Codes {
    fn narrowest(codes: Vec<u32>) -> Codes {
        let max = codes.iter().copied().max().unwrap_or(0);
        if max <= u32::from(u8::MAX) {
            Codes::U8(codes.into_iter().map(|c| c as u8).collect())
        } else if max <= u32::from(u16::MAX) {
            Codes::U16(codes.into_iter().map(|c| c as u16).collect())
        } else {
            Codes::U32(codes)
        }
    }

    #[inline]
    fn get(&self, i: usize) -> u32 {
        match self {
            Codes::U8(v) => u32::from(v[i]),
            Codes::U16(v) => u32::from(v[i]),
            Codes::U32(v) => v[i],
        }
    }

    /// The rows (of `among`, or of all) whose code `accepted` marks.
    fn select(&self, accepted: &[bool], among: Option<Rows>) -> Rows {
        // A word of 64 rows at a time, without branches inside it (a filter keeps rows in no
        // pattern a branch predictor could learn); words with no row left are skipped.
        fn pick<T: Copy + Into<u32>>(v: &[T], accepted: &[bool], among: Option<Rows>) -> Rows {
            let mut out = among.unwrap_or_else(|| Rows::all(v.len()));
            for (word, chunk) in out.0.iter_mut().zip(v.chunks(64)) {
                if *word == 0 {
                    continue;
                }
                let mut bits = 0u64;
                for (i, &code) in chunk.iter().enumerate() {
                    bits |= u64::from(accepted[code.into() as usize]) << i;
                }
                *word &= bits;
            }
            out
        }
        match self {
            Codes::U8(v) => pick(v, accepted, among),
            Codes::U16(v) => pick(v, accepted, among),
            Codes::U32(v) => pick(v, accepted, among),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Codes::U8(v) => v.len(),
            Codes::U16(v) => 2 * v.len(),
            Codes::U32(v) => 4 * v.len(),
        }
    }
}

/// A set of an hour's rows, a bit each (row `r` is bit `r % 64` of word `r / 64`): what a filter
/// keeps. Bits rather than a list of row numbers: a filter keeping 40% of 8 million events
/// wrote 13 MB of row numbers per query (the selection was 30% of a click's counting time); its
/// bits are 1 MB.
#[derive(Clone, PartialEq, Debug)]
struct Rows(Vec<u64>);

impl Rows {
    /// Rows `0..n`.
    fn all(n: usize) -> Rows {
        let mut words = vec![u64::MAX; n.div_ceil(64)];
        if !n.is_multiple_of(64) {
            if let Some(last) = words.last_mut() {
                *last = (1u64 << (n % 64)) - 1;
            }
        }
        Rows(words)
    }

    /// Calls `f` with each row, ascending.
    #[inline(always)]
    fn each(&self, f: impl FnMut(usize)) {
        self.each_ahead(|_| (), f);
    }

    /// [`Rows::each`], calling `ahead(row)` first for the first row of each word
    /// [`PREFETCH_WORDS`] words ahead of the one being read (whether selected or not).
    #[inline(always)]
    fn each_ahead(&self, mut ahead: impl FnMut(usize), mut f: impl FnMut(usize)) {
        for (w, &word) in self.0.iter().enumerate() {
            if word == 0 {
                continue;
            }
            ahead((w + PREFETCH_WORDS) * 64);
            let mut bits = word;
            while bits != 0 {
                f(w * 64 + bits.trailing_zeros() as usize);
                bits &= bits - 1;
            }
        }
    }

    /// Keeps the rows for which `keep` holds.
    fn retain(&mut self, keep: impl Fn(usize) -> bool) {
        for (w, word) in self.0.iter_mut().enumerate() {
            let mut bits = *word;
            while bits != 0 {
                let bit = bits & bits.wrapping_neg();
                if !keep(w * 64 + bit.trailing_zeros() as usize) {
                    *word &= !bit;
                }
                bits &= bits - 1;
            }
        }
    }

    /// Adds the rows of `other` (of the same hour).
    fn union(&mut self, other: &Rows) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }

    /// Keeps the rows also in `other` (of the same hour).
    fn intersect(&mut self, other: &Rows) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a &= b;
        }
    }
}

/// How far ahead of the rows being counted their visitors are fetched, in words of 64 rows.
const PREFETCH_WORDS: usize = 4;

/// Asks the processor to fetch `column[from..from + 64]` into its caches: a filtered scan reads
/// the visitors of the rows it keeps, spread over the whole column, and the hardware's own
/// prefetcher, which stops at each 4 KiB page, left it waiting on most of those reads (the
/// scan's hottest instruction). The nine queries of a click on Germany (14% of the visitors), sent
/// at once: 99-132 ms against 123-143 ms without, 120-160 ms of processor against 160-180.
#[inline(always)]
fn prefetch<T>(column: &[T], from: usize) {
    #[cfg(target_arch = "x86_64")]
    if from < column.len() {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let end = (from + 64).min(column.len());
        let per_line = (64 / std::mem::size_of::<T>().max(1)).max(1);
        let mut at = from;
        while at < end {
            // SAFETY: a prefetch only hints at an address (inside the column here) and never
            // faults or reads into the program.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(column.as_ptr().add(at).cast()) };
            at += per_line;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (column, from);
}

/// Most row sets an hour keeps ([`HourDigest::kept_rows`]): a click's filter for events and for
/// sessions, and a site's goals. At a bit per row, 8 of them cost a byte per row, about a
/// fortieth of what the digest holds.
pub const KEPT_ROW_SETS: usize = 8;

/// What kind of event a row is, as the raw aggregations count it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum EventKind {
    /// `pageview` or `path_change`.
    PageView = 0,
    /// `page_exit`.
    Exit = 1,
    /// Any other name.
    Custom = 2,
}

impl EventKind {
    pub fn of(name: &str) -> EventKind {
        match name {
            contract::wire::PAGEVIEW | contract::wire::PATH_CHANGE => EventKind::PageView,
            contract::wire::PAGE_EXIT => EventKind::Exit,
            _ => EventKind::Custom,
        }
    }
}

/// No scroll depth reported (depths are 0 to 100).
const NO_SCROLL: u8 = u8::MAX;

/// One event as the store reads it, its field values already coded (in [`Field::FIXED`] order).
pub struct EventFacts {
    pub at: Millis,
    pub visitor: i64,
    pub kind: EventKind,
    /// A page exit's engaged time (at most 24 hours, the contract's limit), else 0.
    pub duration_ms: u32,
    pub scroll_depth: Option<u8>,
    pub codes: [u32; FIELDS],
}

/// One session as the store reads it, its field values (as [`super::session_value`] gives them)
/// already coded.
pub struct SessionFacts {
    pub start: Millis,
    pub visitor: i64,
    pub pageviews: u32,
    pub custom_events: u32,
    pub duration_ms: i64,
    pub codes: [u32; FIELDS],
}

/// Collects an hour's rows, then packs them into a [`HourDigest`].
pub struct HourBuilder {
    hour: Millis,
    events: Vec<EventFacts>,
    sessions: Vec<SessionFacts>,
}

impl HourBuilder {
    /// A builder for the UTC hour starting at `hour`.
    pub fn new(hour: Millis) -> HourBuilder {
        HourBuilder {
            hour,
            events: Vec::new(),
            sessions: Vec::new(),
        }
    }

    /// Adds an event; `e.at` must be inside the hour.
    pub fn event(&mut self, e: EventFacts) {
        debug_assert!((self.hour..self.hour + HOUR_MS).contains(&e.at));
        self.events.push(e);
    }

    /// Adds a session; `s.start` must be inside the hour.
    pub fn session(&mut self, s: SessionFacts) {
        debug_assert!((self.hour..self.hour + HOUR_MS).contains(&s.start));
        self.sessions.push(s);
    }

    /// The digest, its visitors coded in `dicts`.
    pub fn finish(mut self, dicts: &mut Dictionaries) -> HourDigest {
        // By visitor, then time: a visitor's rows follow each other, which the distinct-visitor
        // counts use (see `Scan::hour`). Order is otherwise free: every metric is a sum.
        self.events.sort_unstable_by_key(|e| (e.visitor, e.at));
        self.sessions.sort_unstable_by_key(|s| (s.visitor, s.start));
        let visitors = dicts.visitors_mut();
        let event_visitors = visitors.codes(self.events.iter().map(|e| e.visitor));
        let session_visitors = visitors.codes(self.sessions.iter().map(|s| s.visitor));
        let hour = self.hour;
        let offset = |t: Millis| u32::try_from(t - hour).expect("inside the hour");
        let columns = |codes: &dyn Fn(usize) -> Vec<u32>| -> Vec<Codes> {
            (0..FIELDS).map(|i| Codes::narrowest(codes(i))).collect()
        };
        let ev = &self.events;
        let ss = &self.sessions;
        HourDigest {
            hour,
            events: EventColumns {
                at: ev.iter().map(|e| offset(e.at)).collect(),
                visitor: event_visitors,
                kind: ev.iter().map(|e| e.kind as u8).collect(),
                duration_ms: ev.iter().map(|e| e.duration_ms).collect(),
                scroll: ev.iter().map(|e| e.scroll_depth.unwrap_or(NO_SCROLL)).collect(),
                fields: columns(&|i| ev.iter().map(|e| e.codes[i]).collect()),
            },
            sessions: SessionColumns {
                start: ss.iter().map(|s| offset(s.start)).collect(),
                visitor: session_visitors,
                pageviews: ss.iter().map(|s| s.pageviews).collect(),
                custom_events: ss.iter().map(|s| s.custom_events).collect(),
                duration_ms: ss.iter().map(|s| s.duration_ms).collect(),
                fields: columns(&|i| ss.iter().map(|s| s.codes[i]).collect()),
            },
            kept: Mutex::default(),
        }
    }
}

#[derive(Debug)]
struct EventColumns {
    /// Ms after the hour's start.
    at: Vec<u32>,
    /// Codes in [`Visitors`]; the rows sorted by the visitors' ids.
    visitor: Vec<u32>,
    kind: Vec<u8>,
    duration_ms: Vec<u32>,
    /// [`NO_SCROLL`] when none was reported.
    scroll: Vec<u8>,
    fields: Vec<Codes>,
}

#[derive(Debug)]
struct SessionColumns {
    /// Ms after the hour's start.
    start: Vec<u32>,
    /// Codes in [`Visitors`]; the rows sorted by the visitors' ids.
    visitor: Vec<u32>,
    pageviews: Vec<u32>,
    custom_events: Vec<u32>,
    duration_ms: Vec<i64>,
    fields: Vec<Codes>,
}

/// One UTC hour of one project's events and sessions, as columns.
#[derive(Debug)]
pub struct HourDigest {
    hour: Millis,
    events: EventColumns,
    sessions: SessionColumns,
    /// Row sets found before, by what found them (most recently used first, at most
    /// [`KEPT_ROW_SETS`]): the ten queries of a click on a row all filter by it, and the goals
    /// panel asks for the same goals on every load. A digest never changes, so neither do they.
    kept: Mutex<Vec<(String, Arc<Rows>)>>,
}

impl HourDigest {
    pub fn hour(&self) -> Millis {
        self.hour
    }

    pub fn events(&self) -> usize {
        self.events.at.len()
    }

    pub fn sessions(&self) -> usize {
        self.sessions.start.len()
    }

    /// Heap bytes it holds, counting its kept row sets at their most.
    pub fn bytes(&self) -> usize {
        let e = &self.events;
        let s = &self.sessions;
        e.at.len() * (4 + 4 + 1 + 4 + 1)
            + e.fields.iter().map(Codes::bytes).sum::<usize>()
            + s.start.len() * (4 + 4 + 4 + 4 + 8)
            + s.fields.iter().map(Codes::bytes).sum::<usize>()
            + KEPT_ROW_SETS * (e.at.len().max(s.start.len()).div_ceil(64) * 8 + 64)
            + 256
    }

    /// The row set `key` names, found by `find` unless kept from before.
    fn kept_rows(&self, key: &str, find: impl FnOnce() -> Rows) -> Arc<Rows> {
        {
            let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(i) = kept.iter().position(|(k, _)| k == key) {
                let hit = kept.remove(i);
                let rows = hit.1.clone();
                kept.insert(0, hit);
                return rows;
            }
        }
        // Found outside the lock: two queries finding the same set at once both find it.
        let rows = Arc::new(find());
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if !kept.iter().any(|(k, _)| k == key) {
            kept.insert(0, (key.to_owned(), rows.clone()));
            kept.truncate(KEPT_ROW_SETS);
        }
        rows
    }

    /// The rows of `side` that `filters` keep (kept under `key`), `None` without filters.
    fn filtered(&self, side: Side, key: &str, verdicts: &[(usize, Vec<bool>)]) -> Option<Rows> {
        if verdicts.is_empty() {
            return None;
        }
        let rows = self.kept_rows(key, || {
            let fields = match side {
                Side::Events => &self.events.fields,
                Side::Sessions => &self.sessions.fields,
            };
            let mut rows = None;
            for (column, accepted) in verdicts {
                rows = Some(fields[*column].select(accepted, rows));
            }
            rows.expect("a filter")
        });
        Some((*rows).clone())
    }
}

/// Which rows of a digest.
#[derive(Clone, Copy, Debug)]
enum Side {
    Events,
    Sessions,
}

/// A multiplicative hash for the counting tables' integer keys (SipHash, the default, costs
/// several times more per key and resists nothing these keys could do).
#[derive(Default, Clone, Copy)]
struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    #[inline]
    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;

/// The query's filters as per-code verdicts: `(column, accepted[code])`.
fn verdicts(dicts: &Dictionaries, filters: &[Filter]) -> Vec<(usize, Vec<bool>)> {
    filters
        .iter()
        .map(|f| {
            let i = field_index(&f.field).expect("supported query");
            let dict = dicts.field(i);
            (i, (0..dict.len()).map(|c| f.accepts(dict.value(c as u32))).collect())
        })
        .collect()
}

/// A group: its goal's index (with [`RawQuery::by_goal`], else 0), the codes of the grouped
/// fields and the time bucket's label.
type GroupKey = (u32, [u32; MAX_GROUP_FIELDS], Option<i64>);

/// A goal as verdicts per code: which events complete it ([`GoalKind::completed_by`]).
struct GoalTest {
    /// What names its rows in an hour's [`HourDigest::kept_rows`].
    key: String,
    accepted: GoalCodes,
}

enum GoalCodes {
    /// Accepted codes of the event name column.
    Event(Vec<bool>),
    /// Accepted codes of the page column, for page views.
    Page(Vec<bool>),
}

impl GoalTest {
    fn of(dicts: &Dictionaries, goal: &GoalKind) -> GoalTest {
        let accepted = |field: &Field, test: &dyn Fn(&str) -> bool| -> Vec<bool> {
            let dict = dicts.field(field_index(field).expect("a fixed field"));
            (0..dict.len()).map(|c| test(dict.value(c as u32))).collect()
        };
        let accepted = match goal {
            GoalKind::Event(name) => GoalCodes::Event(accepted(&Field::EventName, &|v| v == name)),
            GoalKind::Page(pattern) => GoalCodes::Page(accepted(&Field::Page, &|v| pattern.matches(v))),
        };
        GoalTest {
            key: format!("goal {goal:?}"),
            accepted,
        }
    }

    /// The rows of the hour that complete the goal (found once per hour and goal).
    fn rows(&self, h: &HourDigest) -> Arc<Rows> {
        h.kept_rows(&self.key, || {
            let e = &h.events;
            match &self.accepted {
                GoalCodes::Event(names) => e.fields[EVENT_NAME].select(names, None),
                GoalCodes::Page(pages) => {
                    let mut rows = e.fields[PAGE].select(pages, None);
                    rows.retain(|row| e.kind[row] == EventKind::PageView as u8);
                    rows
                }
            }
        })
    }

    /// The rows of `among` (or of all) that complete any of `goals`.
    fn rows_of_any(goals: &[GoalTest], h: &HourDigest, among: Option<Rows>) -> Rows {
        let any = match goals {
            [one] => one.rows(h),
            many => {
                let mut rows = Rows(vec![0; h.events().div_ceil(64)]);
                for g in many {
                    rows.union(&g.rows(h));
                }
                Arc::new(rows)
            }
        };
        match among {
            Some(mut among) => {
                among.intersect(&any);
                among
            }
            None => Arc::unwrap_or_clone(any),
        }
    }
}

/// Where the event name and the page are among the columns.
const EVENT_NAME: usize = Field::FIXED.len() - 1;
const PAGE: usize = 0;
const _: () =
    assert!(matches!(Field::FIXED[EVENT_NAME], Field::EventName) && matches!(Field::FIXED[PAGE], Field::Page));

/// Where a query stands on one hour: its rows' time buckets and whether each row is in range.
enum HourPlan {
    /// No row of the hour can count.
    Skip,
    /// Every row in range counts, all under this label; `check` when the range cuts the hour.
    Uniform { label: Option<i64>, check: bool },
    /// Each row's label is looked up.
    PerRow,
}

fn plan_hour(q: &RawQuery, hour: Millis) -> HourPlan {
    let (lo, hi) = (hour.max(q.from), (hour + HOUR_MS).min(q.to));
    if lo >= hi {
        return HourPlan::Skip;
    }
    let check = lo > hour || hi < hour + HOUR_MS;
    match &q.time {
        None => HourPlan::Uniform { label: None, check },
        Some(t) => {
            // One bucket holds [lo, hi) when no bound lies strictly inside it.
            let first = t.bounds.partition_point(|&b| b <= lo);
            let last = t.bounds.partition_point(|&b| b < hi);
            if first != last {
                HourPlan::PerRow
            } else if first == 0 || first == t.bounds.len() {
                HourPlan::Skip
            } else {
                HourPlan::Uniform {
                    label: Some(t.labels[first - 1]),
                    check,
                }
            }
        }
    }
}

/// The rows of one kind (events or sessions) that a query counts, with their group.
struct Scan<'a> {
    q: &'a RawQuery,
    group: Vec<usize>,
    groups: IntMap<GroupKey, u32>,
    keys: Vec<GroupKey>,
    /// Per group, its rows' visitors.
    visitors: Vec<Distinct>,
    /// The project's visitors: every visitor code is below it.
    universe: usize,
    /// Per goal index and time label, the group of each code of the one grouped field
    /// ([`NO_GROUP`]: none yet).
    direct: HashMap<(u32, Option<i64>), Vec<u32>>,
    /// The goal index the rows of the current pass are grouped under ([`RawQuery::by_goal`]).
    goal: u32,
    /// Whether the keys start with the goal's index (events grouped by goal; sessions ignore
    /// goals).
    by_goal: bool,
}

/// A code not seen yet in [`Scan::direct`].
const NO_GROUP: u32 = u32::MAX;

/// No visitor: never a code of [`Visitors`].
const NO_VISITOR: u32 = u32::MAX;

/// One group's visitors (codes of [`Visitors`]), counted distinct at the end.
///
/// A group starts as a list, sorted and deduplicated at the end, which small groups need: rows
/// come sorted by visitor, so a visitor's rows in a group mostly follow each other, and the list
/// skips a row of the visitor it added last. Once the list would take more bytes than a bit per
/// visitor of the project, it becomes those bits: a large group (a top page, a country of
/// millions of events) then costs one bit set per row, with no sort and no test of the last
/// visitor (a branch no predictor learns), and never more memory than its list would have taken.
/// Before, every group sorted its 64-bit visitor ids, a fifth of a filtered dashboard's time at
/// 8.45M events.
enum Distinct {
    /// The visitors as added, and the last one ([`NO_VISITOR`]: none yet).
    Listed(Vec<u32>, u32),
    Marked(Vec<u64>),
}

impl Distinct {
    fn new() -> Distinct {
        Distinct::Listed(Vec::new(), NO_VISITOR)
    }

    #[inline(always)]
    fn add(&mut self, visitor: u32, universe: usize) {
        match self {
            Distinct::Marked(bits) => bits[visitor as usize / 64] |= 1 << (visitor % 64),
            Distinct::Listed(list, last) => {
                if *last != visitor {
                    *last = visitor;
                    list.push(visitor);
                    // 4 bytes a listed visitor against universe / 8 bytes of bits.
                    if list.len() >= universe / 32 && list.len() >= 64 {
                        self.mark(universe);
                    }
                }
            }
        }
    }

    /// The list as bits.
    #[cold]
    fn mark(&mut self, universe: usize) {
        if let Distinct::Listed(list, _) = self {
            let mut bits = vec![0u64; universe.div_ceil(64)];
            for &v in list.iter() {
                bits[v as usize / 64] |= 1 << (v % 64);
            }
            *self = Distinct::Marked(bits);
        }
    }

    fn count(&mut self) -> u64 {
        match self {
            Distinct::Marked(bits) => bits.iter().map(|w| u64::from(w.count_ones())).sum(),
            Distinct::Listed(list, _) => {
                list.sort_unstable();
                list.dedup();
                list.len() as u64
            }
        }
    }
}

impl<'a> Scan<'a> {
    fn new(q: &'a RawQuery, dicts: &Dictionaries) -> Scan<'a> {
        Scan {
            q,
            group: q
                .group
                .iter()
                .map(|f| field_index(f).expect("supported query"))
                .collect(),
            groups: IntMap::default(),
            keys: Vec::new(),
            visitors: Vec::new(),
            universe: dicts.visitors().len(),
            direct: HashMap::new(),
            goal: 0,
            by_goal: false,
        }
    }

    /// Calls `count(group, row)` for every row of the hour the query counts (of those `select`
    /// gives, if any: it runs only for an hour the range reaches). `at` is the rows' time column
    /// (ms after `hour`), `fields` their code columns.
    fn hour(
        &mut self,
        hour: Millis,
        (at, fields, visitor): (&[u32], &[Codes], &[u32]),
        select: impl FnOnce() -> Option<Rows>,
        mut count: impl FnMut(u32, usize),
    ) {
        let plan = plan_hour(self.q, hour);
        if matches!(plan, HourPlan::Skip) {
            return;
        }
        let (from, to) = (self.q.from, self.q.to);
        // One grouped field and one label for the whole hour (the common case): groups found by
        // the code's index in a table rather than by hashing.
        let mut direct = match (&plan, self.group.len()) {
            (HourPlan::Uniform { label, .. }, 0 | 1) => {
                Some(self.direct.remove(&(self.goal, *label)).unwrap_or_default())
            }
            _ => None,
        };
        let selected = select().unwrap_or_else(|| Rows::all(at.len()));
        // The common case (the hour wholly in range and in one bucket, at most one grouped
        // field) reads neither the time column nor more than one code per row.
        if let (HourPlan::Uniform { label, check: false }, true) = (&plan, self.group.len() <= 1) {
            let label = *label;
            let mut table = self.direct.remove(&(self.goal, label)).unwrap_or_default();
            match self.group.first().map(|&column| &fields[column]) {
                None => self.uniform_rows(&selected, &mut table, label, |_| 0, visitor, &mut count),
                Some(Codes::U8(v)) => {
                    self.uniform_rows(&selected, &mut table, label, |r| u32::from(v[r]), visitor, &mut count)
                }
                Some(Codes::U16(v)) => {
                    self.uniform_rows(&selected, &mut table, label, |r| u32::from(v[r]), visitor, &mut count)
                }
                Some(Codes::U32(v)) => self.uniform_rows(&selected, &mut table, label, |r| v[r], visitor, &mut count),
            }
            self.direct.insert((self.goal, label), table);
            return;
        }
        selected.each(|row| {
            let t = hour + Millis::from(at[row]);
            let label = match &plan {
                HourPlan::Skip => unreachable!(),
                HourPlan::Uniform { label, check } => {
                    if *check && (t < from || t >= to) {
                        return;
                    }
                    *label
                }
                HourPlan::PerRow => {
                    if t < from || t >= to {
                        return;
                    }
                    match self.q.time.as_ref().and_then(|b| b.label_of(t)) {
                        Some(l) => Some(l),
                        None => return,
                    }
                }
            };
            let mut codes = [0u32; MAX_GROUP_FIELDS];
            for (slot, &column) in self.group.iter().enumerate() {
                codes[slot] = fields[column].get(row);
            }
            let g = match direct.as_mut() {
                Some(table) => {
                    let i = codes[0] as usize;
                    if i >= table.len() {
                        table.resize(i + 1, NO_GROUP);
                    }
                    if table[i] == NO_GROUP {
                        table[i] = self.group_of((self.goal, codes, label));
                    }
                    table[i]
                }
                None => self.group_of((self.goal, codes, label)),
            };
            self.visitors[g as usize].add(visitor[row], self.universe);
            count(g, row);
        });
        if let (Some(table), HourPlan::Uniform { label, .. }) = (direct, &plan) {
            self.direct.insert((self.goal, *label), table);
        }
    }

    /// [`Scan::hour`]'s common case: every row of `rows` counts, under `label`, in the group of
    /// its code (`code_of`), found in `table`.
    fn uniform_rows(
        &mut self,
        rows: &Rows,
        table: &mut Vec<u32>,
        label: Option<i64>,
        code_of: impl Fn(usize) -> u32,
        visitor: &[u32],
        count: &mut impl FnMut(u32, usize),
    ) {
        rows.each_ahead(
            |ahead| prefetch(visitor, ahead),
            |row| {
                let code = code_of(row);
                let i = code as usize;
                if i >= table.len() {
                    table.resize(i + 1, NO_GROUP);
                }
                let mut g = table[i];
                if g == NO_GROUP {
                    let mut codes = [0u32; MAX_GROUP_FIELDS];
                    codes[0] = code;
                    g = self.group_of((self.goal, codes, label));
                    table[i] = g;
                }
                self.visitors[g as usize].add(visitor[row], self.universe);
                count(g, row);
            },
        );
    }

    /// The group of `key`, made if new.
    fn group_of(&mut self, key: GroupKey) -> u32 {
        let next = self.keys.len() as u32;
        let g = *self.groups.entry(key).or_insert(next);
        if g == next {
            self.keys.push(key);
            self.visitors.push(Distinct::new());
        }
        g
    }

    /// Distinct visitors per group.
    fn visitor_counts(&mut self) -> Vec<u64> {
        self.visitors.iter_mut().map(Distinct::count).collect()
    }

    /// Gives each of `groups` (one per group, in group order) its field values, bucket and
    /// distinct visitors, through `set`.
    fn finish<G>(
        &mut self,
        dicts: &Dictionaries,
        groups: &mut [G],
        set: impl Fn(&mut G, Vec<String>, Option<i64>, u64),
    ) {
        for (g, visitors) in self.visitor_counts().into_iter().enumerate() {
            set(&mut groups[g], self.key_values(dicts, g), self.keys[g].2, visitors);
        }
    }

    /// The group's keys as the raw aggregation names them: its goal's index with
    /// [`RawQuery::by_goal`], then its field values.
    fn key_values(&self, dicts: &Dictionaries, g: usize) -> Vec<String> {
        let (goal, codes, _) = &self.keys[g];
        let goal = self.by_goal.then(|| goal.to_string());
        goal.into_iter()
            .chain(
                self.group
                    .iter()
                    .enumerate()
                    .map(|(slot, &column)| dicts.field(column).value(codes[slot]).to_owned()),
            )
            .collect()
    }
}

/// [`RawQuery`]'s event aggregation over `hours` (those the range touches, in any order), for a
/// query [`supports`] accepts. Groups come sorted by keys, then bucket.
pub fn aggregate_events(dicts: &Dictionaries, hours: &[&HourDigest], q: &RawQuery) -> Vec<EventGroup> {
    debug_assert!(supports(q));
    let mut groups = event_groups(dicts, hours, q, None, q.counters);
    if let Some(goal) = &q.goal {
        // A group's converted visitors are the visitors of the same group among the events that
        // complete the goal: a second scan, keeping only those.
        let converted = event_groups(dicts, hours, q, Some(goal), EventCounters::Visitors);
        let of: HashMap<(&[String], Option<i64>), u64> = converted
            .iter()
            .map(|g| ((g.keys.as_slice(), g.bucket), g.visitors))
            .collect();
        for g in &mut groups {
            g.converted = of.get(&(g.keys.as_slice(), g.bucket)).copied().unwrap_or(0);
        }
    }
    groups
}

/// The event groups of `q` (all but `converted`, and of the counters only `counters`), of the
/// events completing `completing` only if given: one scan of the hours, or one per goal with
/// [`RawQuery::by_goal`] (an event counts under each goal it completes).
fn event_groups(
    dicts: &Dictionaries,
    hours: &[&HourDigest],
    q: &RawQuery,
    completing: Option<&GoalKind>,
    counters: EventCounters,
) -> Vec<EventGroup> {
    let verdicts = verdicts(dicts, &q.filters);
    let goal_filters: Vec<Vec<GoalTest>> = q
        .goal_filters
        .iter()
        .map(|any_of| any_of.iter().map(|g| GoalTest::of(dicts, g)).collect())
        .collect();
    let completing = completing.map(|g| GoalTest::of(dicts, g));
    let passes: Vec<Option<GoalTest>> = if q.by_goal.is_empty() {
        vec![None]
    } else {
        q.by_goal.iter().map(|g| Some(GoalTest::of(dicts, g))).collect()
    };
    let filter_key = format!("events {:?}", q.filters);
    let mut scan = Scan::new(q, dicts);
    scan.by_goal = !q.by_goal.is_empty();
    let mut groups: Vec<EventGroup> = Vec::new();
    for (i, pass) in passes.iter().enumerate() {
        scan.goal = i as u32;
        for h in hours {
            let e = &h.events;
            // The rows the filters keep, then of those the ones completing the goals asked.
            let select = || {
                let mut among = h.filtered(Side::Events, &filter_key, &verdicts);
                for test in pass.iter().chain(&completing) {
                    among = Some(GoalTest::rows_of_any(std::slice::from_ref(test), h, among));
                }
                for any_of in &goal_filters {
                    among = Some(GoalTest::rows_of_any(any_of, h, among));
                }
                among
            };
            let columns = (&e.at[..], &e.fields[..], &e.visitor[..]);
            // Only the columns the counters asked need: a panel of visitors reads none of them.
            match counters {
                EventCounters::Visitors => scan.hour(h.hour, columns, select, |g, _| {
                    group(&mut groups, g);
                }),
                EventCounters::Kinds => scan.hour(h.hour, columns, select, |g, row| {
                    let acc = group(&mut groups, g);
                    let kind = e.kind[row];
                    acc.pageviews += u64::from(kind == EventKind::PageView as u8);
                    acc.custom_events += u64::from(kind == EventKind::Custom as u8);
                }),
                EventCounters::All => scan.hour(h.hour, columns, select, |g, row| {
                    let acc = group(&mut groups, g);
                    // Without branches: the kinds of a group's rows follow no pattern a
                    // predictor could learn.
                    let kind = e.kind[row];
                    let exit = u64::from(kind == EventKind::Exit as u8);
                    acc.pageviews += u64::from(kind == EventKind::PageView as u8);
                    acc.custom_events += u64::from(kind == EventKind::Custom as u8);
                    acc.exits += exit;
                    acc.exit_duration_ms += exit * u64::from(e.duration_ms[row]);
                    let scrolled = exit * u64::from(e.scroll[row] != NO_SCROLL);
                    acc.scroll_count += scrolled;
                    acc.scroll_sum += scrolled * u64::from(e.scroll[row]);
                }),
            }
        }
    }
    scan.finish(dicts, &mut groups, |g, keys, bucket, visitors| {
        (g.keys, g.bucket, g.visitors) = (keys, bucket, visitors);
    });
    groups.sort_by(|a, b| (&a.keys, a.bucket).cmp(&(&b.keys, b.bucket)));
    groups
}

/// The accumulator of group `g`, made if it is the next new one (groups are numbered as met).
#[inline(always)]
fn group<G: Default>(groups: &mut Vec<G>, g: u32) -> &mut G {
    if g as usize == groups.len() {
        groups.push(G::default());
    }
    &mut groups[g as usize]
}

/// [`RawQuery`]'s session aggregation over `hours`, for a query [`supports`] accepts. Groups come
/// sorted by keys, then bucket.
pub fn aggregate_sessions(dicts: &Dictionaries, hours: &[&HourDigest], q: &RawQuery) -> Vec<SessionGroup> {
    debug_assert!(supports(q));
    let verdicts = verdicts(dicts, &q.filters);
    let filter_key = format!("sessions {:?}", q.filters);
    let mut scan = Scan::new(q, dicts);
    let mut groups: Vec<SessionGroup> = Vec::new();
    for h in hours {
        let s = &h.sessions;
        let select = || h.filtered(Side::Sessions, &filter_key, &verdicts);
        scan.hour(h.hour, (&s.start, &s.fields, &s.visitor), select, |g, row| {
            let acc = group(&mut groups, g);
            acc.visits += 1;
            acc.bounces += u64::from(s.pageviews[row] <= 1 && s.custom_events[row] == 0);
            // As SQL's SUM(end_at - start_at) over the group: a session's end is never before its start.
            acc.duration_ms += u64::try_from(s.duration_ms[row]).unwrap_or(0);
            acc.pageviews += u64::from(s.pageviews[row]);
        });
    }
    scan.finish(dicts, &mut groups, |g, keys, bucket, visitors| {
        (g.keys, g.bucket, g.visitors) = (keys, bucket, visitors);
    });
    groups.sort_by(|a, b| (&a.keys, a.bucket).cmp(&(&b.keys, b.bucket)));
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::{FilterOp, TimeBuckets};
    use contract::ids::ProjectId;

    const H: Millis = 1_793_613_600_000; // a UTC hour

    fn query(from: Millis, to: Millis) -> RawQuery {
        RawQuery::range(ProjectId::from_bytes([1; 12]), from, to)
    }

    #[test]
    fn an_hour_is_planned_by_how_the_range_and_the_buckets_cut_it() {
        let plan = |q: &RawQuery| match plan_hour(q, H) {
            HourPlan::Skip => "skip".to_owned(),
            HourPlan::Uniform { label, check } => format!("uniform {label:?} {check}"),
            HourPlan::PerRow => "per row".to_owned(),
        };
        assert_eq!(plan(&query(H - HOUR_MS, H + HOUR_MS)), "uniform None false");
        assert_eq!(plan(&query(H + 1, H + HOUR_MS)), "uniform None true");
        assert_eq!(plan(&query(H + HOUR_MS, H + 2 * HOUR_MS)), "skip");
        let buckets = |bounds: Vec<Millis>, labels: Vec<i64>| RawQuery {
            time: Some(TimeBuckets { bounds, labels }),
            ..query(H - HOUR_MS, H + 2 * HOUR_MS)
        };
        assert_eq!(plan(&buckets(vec![H, H + HOUR_MS], vec![7])), "uniform Some(7) false");
        assert_eq!(plan(&buckets(vec![H, H + 60_000, H + HOUR_MS], vec![1, 2])), "per row");
        assert_eq!(plan(&buckets(vec![H + HOUR_MS, H + 2 * HOUR_MS], vec![3])), "skip");
    }

    #[test]
    fn codes_take_the_narrowest_width_and_select_accepted_rows() {
        let narrow = Codes::narrowest(vec![0, 3, 255]);
        assert!(matches!(narrow, Codes::U8(_)));
        assert!(matches!(Codes::narrowest(vec![256]), Codes::U16(_)));
        assert!(matches!(Codes::narrowest(vec![70_000]), Codes::U32(_)));
        let accepted = |codes: &[u32]| -> Vec<bool> { (0..256).map(|c| codes.contains(&c)).collect() };
        assert_eq!(listed(&narrow.select(&accepted(&[3, 255]), None)), vec![1, 2]);
        let first_two = Rows(vec![0b11]);
        assert_eq!(listed(&narrow.select(&accepted(&[0, 255]), Some(first_two))), vec![0]);
        assert!(listed(&narrow.select(&accepted(&[]), None)).is_empty());
    }

    fn listed(rows: &Rows) -> Vec<usize> {
        let mut out = Vec::new();
        rows.each(|r| out.push(r));
        out
    }

    /// Row sets across word boundaries: every row of 0..n, then filters, unions and removals
    /// against the same operations on a plain list.
    #[test]
    fn row_sets_hold_exactly_their_rows() {
        for n in [0, 1, 63, 64, 65, 130, 1000] {
            assert_eq!(listed(&Rows::all(n)), (0..n).collect::<Vec<_>>(), "all of {n}");
            let codes = Codes::narrowest((0..n as u32).map(|r| r % 7).collect());
            let odd: Vec<bool> = (0..7).map(|c| c % 2 == 1).collect();
            let mut rows = codes.select(&odd, None);
            let expected: Vec<usize> = (0..n).filter(|r| r % 7 % 2 == 1).collect();
            assert_eq!(listed(&rows), expected, "select of {n}");
            rows.retain(|r| r % 3 != 0);
            let expected: Vec<usize> = expected.into_iter().filter(|r| r % 3 != 0).collect();
            assert_eq!(listed(&rows), expected, "retain of {n}");
            let fives: Vec<bool> = (0..7).map(|c| c == 5).collect();
            let mut zeros = codes.select(&(0..7).map(|c| c == 0).collect::<Vec<_>>(), None);
            zeros.union(&codes.select(&fives, Some(Rows::all(n))));
            let expected: Vec<usize> = (0..n).filter(|r| r % 7 == 0 || r % 7 == 5).collect();
            assert_eq!(listed(&zeros), expected, "union of {n}");
        }
    }

    #[test]
    fn a_distinct_count_is_exact_as_a_list_and_as_bits() {
        let universe = 10_000;
        let mut seen = Distinct::new();
        let mut truth = std::collections::BTreeSet::new();
        let mut x: u64 = 7;
        for i in 0..3_000 {
            // Repeats and every code up to the last one of the universe.
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let v = if i % 500 == 0 {
                universe as u32 - 1
            } else {
                (x >> 33) as u32 % 2_000
            };
            seen.add(v, universe);
            truth.insert(v);
            if i == 100 {
                assert!(matches!(seen, Distinct::Listed(..)), "a list below universe / 32");
                let mut copy = match &seen {
                    Distinct::Listed(l, last) => Distinct::Listed(l.clone(), *last),
                    Distinct::Marked(_) => unreachable!(),
                };
                assert_eq!(copy.count(), truth.len() as u64);
            }
        }
        assert!(matches!(seen, Distinct::Marked(_)), "bits past universe / 32");
        assert_eq!(seen.count(), truth.len() as u64);
    }

    /// Three visitors, one hour: counts, distinct visitors, filters and groups against the
    /// numbers worked out by hand.
    #[test]
    fn an_hour_counts_as_the_raw_aggregations_define() {
        let mut dicts = Dictionaries::default();
        let page = field_index(&Field::Page).unwrap();
        let country = field_index(&Field::Country).unwrap();
        let mut b = HourBuilder::new(H);
        let rows = [
            (1, EventKind::PageView, "/a", "DE", 0, None),
            (1, EventKind::Exit, "/a", "DE", 5_000, Some(40)),
            (1, EventKind::PageView, "/b", "DE", 0, None),
            (2, EventKind::PageView, "/a", "FR", 0, None),
            (2, EventKind::Custom, "/a", "FR", 0, None),
            (3, EventKind::Exit, "/b", "DE", 1_000, None),
        ];
        for (i, (visitor, kind, path, land, duration_ms, scroll_depth)) in rows.into_iter().enumerate() {
            let mut codes: [u32; FIELDS] = std::array::from_fn(|f| dicts.field_mut(f).code(""));
            codes[page] = dicts.field_mut(page).code(path);
            codes[country] = dicts.field_mut(country).code(land);
            b.event(EventFacts {
                at: H + i as Millis * 60_000,
                visitor,
                kind,
                duration_ms,
                scroll_depth,
                codes,
            });
        }
        let hour = b.finish(&mut dicts);
        let q = RawQuery {
            filters: vec![Filter {
                op: FilterOp::Is,
                field: Field::Country,
                values: vec!["DE".into()],
            }],
            group: vec![Field::Page],
            ..query(H, H + HOUR_MS)
        };
        let got = aggregate_events(&dicts, &[&hour], &q);
        let row = |keys: &str, pageviews, exits, exit_duration_ms, scroll_count, scroll_sum, visitors| EventGroup {
            keys: vec![keys.to_owned()],
            pageviews,
            exits,
            exit_duration_ms,
            scroll_count,
            scroll_sum,
            visitors,
            ..EventGroup::default()
        };
        assert_eq!(
            got,
            vec![row("/a", 1, 1, 5_000, 1, 40, 1), row("/b", 1, 1, 1_000, 0, 0, 2)]
        );
        // Row sets kept for later queries give the same answers, and no more than their bound
        // are kept.
        let by_country = |land: &str| RawQuery {
            filters: vec![Filter {
                op: FilterOp::Is,
                field: Field::Country,
                values: vec![land.into()],
            }],
            ..q.clone()
        };
        let lands: Vec<String> = (0..2 * KEPT_ROW_SETS)
            .map(|i| format!("L{i}"))
            .chain(["DE".into()])
            .collect();
        let first: Vec<_> = lands
            .iter()
            .map(|l| aggregate_events(&dicts, &[&hour], &by_country(l)))
            .collect();
        let again: Vec<_> = lands
            .iter()
            .map(|l| aggregate_events(&dicts, &[&hour], &by_country(l)))
            .collect();
        assert_eq!(first, again);
        assert_eq!(first.last(), Some(&got));
        assert_eq!(hour.kept.lock().unwrap().len(), KEPT_ROW_SETS);
        // Fewer counters: the same groups and visitors, the counters not asked at 0.
        for (counters, keep) in [(EventCounters::Kinds, true), (EventCounters::Visitors, false)] {
            let fewer = aggregate_events(&dicts, &[&hour], &RawQuery { counters, ..q.clone() });
            let expected: Vec<EventGroup> = got
                .iter()
                .map(|g| EventGroup {
                    keys: g.keys.clone(),
                    visitors: g.visitors,
                    pageviews: if keep { g.pageviews } else { 0 },
                    custom_events: if keep { g.custom_events } else { 0 },
                    ..EventGroup::default()
                })
                .collect();
            assert_eq!(fewer, expected, "{counters:?}");
        }
        let all = aggregate_events(&dicts, &[&hour], &query(H, H + HOUR_MS));
        assert_eq!((all[0].pageviews, all[0].custom_events, all[0].visitors), (3, 1, 3));
        // Half the hour: the rows from minute 3 on.
        let late = aggregate_events(&dicts, &[&hour], &query(H + 3 * 60_000, H + HOUR_MS));
        assert_eq!(
            (
                late[0].pageviews,
                late[0].custom_events,
                late[0].exits,
                late[0].visitors
            ),
            (1, 1, 1, 2)
        );
    }
}
