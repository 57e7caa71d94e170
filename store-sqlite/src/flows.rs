//! Funnels and journeys inside SQLite: two aggregate functions over the sessions' stored trails
//! ([`store::trail`]), so a funnel or a journey is one pass over the sessions of its range and
//! never finds an event's session again.
//!
//! * `metrics_funnel(query, visitor_id, start_at, trail)`: the steps reached by each session
//!   (the greedy scan of `store::analytics::funnel`), each visitor's best session and the times
//!   between steps; the answer is [`FunnelCounts`] as JSON.
//! * `metrics_journeys(query, visitor_id, start_at, trail)`: each session's steps (reloads of the
//!   same page dropped) from its start, tallied into nodes, links, paths and depths; the answer
//!   is [`Journeys`] as JSON.
//!
//! `query` is the [`FunnelQuery`] or [`JourneyQuery`] as JSON, the same text on every row: it is
//! parsed on the first row. Scope (project, range, filters) is the statement's `WHERE`; these
//! functions see only the sessions in scope. Visitor ids are salted hashes, uniformly spread, so
//! the visitor sets hash them with [`VisitorHasher`], an identity.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use contract::ids::ProjectId;
use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension};
use store::analytics::funnel::{FunnelCounts, FunnelQuery, FunnelStep};
use store::analytics::journeys::{
    depth_counts, JourneyQuery, Journeys, LinkCount, NodeCount, PathCount, Step, StepKind, MAX_JOURNEY_DEPTH,
};
use store::analytics::Filter;
use store::sessions::{EVENT_RANK, PAGE_RANK};
use store::{Millis, Result};

use store::trail::{self, StepRef};

/// When the sessions between a range's `seq` bounds ([`crate::schema`]'s `session_spans`) are
/// fewer than one in this many, the range is read from the `sessions_start` index instead of in
/// `seq` order: fetching a row through the index costs about 8 times reading it in order (3.6 s
/// and 0.45 s for 1.6 million sessions), so past this ratio the ordered read, which also reads
/// the other projects' sessions in between, would cost more.
pub(crate) const SPARSE_SCAN_RATIO: i64 = 8;

/// `FROM` and `WHERE` of the trails (as `t`) of the sessions of `project` started in
/// `[from, to)` that pass `filters` (session fields, on `sessions` as `s`, joined only for
/// them). `params` must hold the project, `from` and `to` as `?1` to `?3`; the filters' values
/// are appended.
pub(crate) fn sessions_in_scope(
    conn: &Connection,
    project: &ProjectId,
    from: Millis,
    to: Millis,
    filters: &[Filter],
    params: &mut Vec<Value>,
) -> Result<String> {
    let mut filtered = String::new();
    for c in crate::analytics::session_filters(filters, params) {
        filtered.push_str(" AND ");
        filtered.push_str(&c);
    }
    let bounds: Option<(i64, i64)> = conn
        .prepare_cached(
            "SELECT min(lo), max(hi) FROM session_spans \
             WHERE project_id = ?1 AND day BETWEEN ?2 / 86400000 AND ?3 / 86400000 HAVING count(*) > 0",
        )
        .and_then(|mut s| {
            s.query_row(params![project.bytes(), from, to], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(crate::backend)?;
    if let Some((lo, hi)) = bounds {
        // Whether the range's sessions are at least 1 in SPARSE_SCAN_RATIO of those between the
        // bounds: counted from the index, stopping at that many.
        let enough = (hi - lo + 1) / SPARSE_SCAN_RATIO;
        let found: i64 = conn
            .prepare_cached(
                "SELECT count(*) FROM (SELECT 1 FROM sessions INDEXED BY sessions_start \
                 WHERE project_id = ?1 AND start_at >= ?2 AND start_at < ?3 LIMIT ?4)",
            )
            .and_then(|mut s| s.query_row(params![project.bytes(), from, to, enough], |r| r.get(0)))
            .map_err(crate::backend)?;
        if found >= enough {
            // In `seq` order. NOT INDEXED: the planner would take sessions_start for the range.
            return Ok(if filtered.is_empty() {
                format!(
                    "FROM session_trails t WHERE t.seq BETWEEN {lo} AND {hi} \
                     AND t.project_id = ?1 AND t.start_at >= ?2 AND t.start_at < ?3"
                )
            } else {
                format!(
                    "FROM sessions s NOT INDEXED CROSS JOIN session_trails t ON t.seq = s.seq \
                     WHERE s.seq BETWEEN {lo} AND {hi} \
                     AND s.project_id = ?1 AND s.start_at >= ?2 AND s.start_at < ?3{filtered}"
                )
            });
        }
    }
    Ok(format!(
        "FROM sessions s INDEXED BY sessions_start CROSS JOIN session_trails t ON t.seq = s.seq \
         WHERE s.project_id = ?1 AND s.start_at >= ?2 AND s.start_at < ?3{filtered}"
    ))
}

pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    // Not deterministic: an aggregate's answer depends on the rows, and the flag means nothing
    // for aggregates anyway; UTF-8 for the query's text.
    let flags = FunctionFlags::SQLITE_UTF8;
    conn.create_aggregate_function("metrics_funnel", 4, flags, TallyAggregate::<FunnelTally>::default())?;
    conn.create_aggregate_function("metrics_journeys", 4, flags, TallyAggregate::<JourneyTally>::default())?;
    Ok(())
}

/// A hasher for visitor ids: they are already uniformly spread (salted hashes).
#[derive(Default)]
struct VisitorHasher(u64);

impl Hasher for VisitorHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_i64(&mut self, n: i64) {
        self.0 = n as u64;
    }
}

type ByVisitor<V> = HashMap<i64, V, BuildHasherDefault<VisitorHasher>>;

fn user_error(e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(Box::new(e))
}

/// The row's `(visitor, steps)`; the query's text is argument 0.
fn row_steps<'a>(ctx: &'a Context<'_>) -> rusqlite::Result<(i64, trail::Steps<'a>)> {
    let visitor: i64 = ctx.get(1)?;
    let start: i64 = ctx.get(2)?;
    let bytes = ctx.get_raw(3).as_blob()?;
    Ok((visitor, trail::steps(start, bytes)))
}

fn parse_query<Q: serde::de::DeserializeOwned>(ctx: &Context<'_>) -> rusqlite::Result<Q> {
    serde_json::from_str(ctx.get_raw(0).as_str()?).map_err(user_error)
}

/// What each of the two functions keeps while the rows go by.
trait Tally: Sized + Send + 'static {
    type Query: serde::de::DeserializeOwned;
    type Answer: serde::Serialize;
    fn new(q: Self::Query) -> Self;
    fn add(&mut self, visitor: i64, trail: trail::Steps<'_>) -> Result<(), trail::BadTrail>;
    fn finish(self) -> Result<Self::Answer, CounterFailed>;
}

/// The SQLite side of a [`Tally`]: the query is parsed on the first row, each row is added,
/// and the answer is JSON (`null` when no row came).
struct TallyAggregate<T>(std::marker::PhantomData<fn() -> T>);

impl<T> Default for TallyAggregate<T> {
    fn default() -> Self {
        TallyAggregate(std::marker::PhantomData)
    }
}

impl<T: Tally> Aggregate<Option<AssertUnwindSafe<T>>, String> for TallyAggregate<T> {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Option<AssertUnwindSafe<T>>> {
        Ok(None)
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut Option<AssertUnwindSafe<T>>) -> rusqlite::Result<()> {
        if acc.is_none() {
            *acc = Some(AssertUnwindSafe(T::new(parse_query(ctx)?)));
        }
        let (visitor, steps) = row_steps(ctx)?;
        let tally = acc.as_mut().expect("set above");
        tally.0.add(visitor, steps).map_err(user_error)
    }

    fn finalize(&self, _: &mut Context<'_>, acc: Option<Option<AssertUnwindSafe<T>>>) -> rusqlite::Result<String> {
        let answer = acc.flatten().map(|t| t.0.finish()).transpose().map_err(user_error)?;
        serde_json::to_string(&answer).map_err(user_error)
    }
}

// --- counting on a second thread -----------------------------------------------------------------

/// Items handed to the counting thread at a time, and how many such batches may wait for it.
const OFFLOAD_BATCH: usize = 8192;
const OFFLOAD_BATCHES_WAITING: usize = 4;

#[derive(Debug, thiserror::Error)]
#[error("the counting thread of a funnel or journeys query failed")]
pub(crate) struct CounterFailed;

enum Message<T, S> {
    Start(S),
    Batch(Vec<T>),
}

/// Counting split from reading: the statement's thread reads the rows and shapes each session
/// into an item; `count` folds the items into a state on a thread of its own, started when a
/// first batch is full (a small query never starts it). The counting is look-ups in tables too
/// large for the cache; beside the reading, on the second core, it took a depth-4 journey over
/// 10.7M events from 1.7 s to 1.0-1.3 s (profiled after: the reading thread 70% of the samples,
/// the counting one 30%). Without a thread to be had, everything is counted at the end on this
/// one.
pub(crate) struct Offload<T: Send + 'static, S: Send + 'static> {
    batch: Vec<T>,
    batch_size: usize,
    count: fn(&mut S, &T),
    /// The state, until the thread takes it.
    state: Option<S>,
    /// (Unwind-safe: a panic drops the whole aggregate.)
    thread: Option<AssertUnwindSafe<CountingThread<T, S>>>,
}

type CountingThread<T, S> = (SyncSender<Message<T, S>>, JoinHandle<Option<S>>);

impl<T: Send + 'static, S: Send + 'static> Offload<T, S> {
    fn new(state: S, count: fn(&mut S, &T)) -> Self {
        Offload {
            batch: Vec::new(),
            batch_size: OFFLOAD_BATCH,
            count,
            state: Some(state),
            thread: None,
        }
    }

    fn push(&mut self, item: T) {
        self.batch.push(item);
        if self.batch.len() >= self.batch_size {
            self.send_batch();
        }
    }

    fn send_batch(&mut self) {
        if self.thread.is_none() {
            let (tx, rx) = sync_channel::<Message<T, S>>(OFFLOAD_BATCHES_WAITING);
            let count = self.count;
            let spawned = std::thread::Builder::new().name("flows-count".into()).spawn(move || {
                let mut state = None;
                // Ends when the sender is dropped: at the end, or when SQLite drops the
                // aggregate of a cancelled statement.
                for message in rx {
                    match message {
                        Message::Start(s) => state = Some(s),
                        Message::Batch(items) => {
                            if let Some(state) = state.as_mut() {
                                items.iter().for_each(|item| count(state, item));
                            }
                        }
                    }
                }
                state
            });
            match spawned {
                Ok(handle) => {
                    let state = self.state.take().expect("the state is here until the thread starts");
                    // The thread only stops once the sender is gone: sending cannot fail.
                    let _ = tx.send(Message::Start(state));
                    self.thread = Some(AssertUnwindSafe((tx, handle)));
                }
                Err(_) => {
                    self.batch_size = usize::MAX;
                    return;
                }
            }
        }
        if let Some(AssertUnwindSafe((tx, _))) = &self.thread {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(self.batch_size));
            let _ = tx.send(Message::Batch(batch));
        }
    }

    /// Everything counted. Once only: the state is gone after.
    fn finish(&mut self) -> Result<S, CounterFailed> {
        let mut state = match self.thread.take() {
            Some(AssertUnwindSafe((tx, handle))) => {
                drop(tx);
                handle.join().ok().flatten().ok_or(CounterFailed)?
            }
            None => self.state.take().ok_or(CounterFailed)?,
        };
        for item in self.batch.drain(..) {
            (self.count)(&mut state, &item);
        }
        Ok(state)
    }
}

// --- funnels -------------------------------------------------------------------------------------

/// [`store::Store::funnel`].
pub(crate) fn funnel(conn: &Connection, q: &FunnelQuery) -> Result<FunnelCounts> {
    let answer: Option<FunnelCounts> = run(conn, "metrics_funnel", q, (&q.project, q.from, q.to), &q.filters)?;
    Ok(answer.unwrap_or_else(|| FunnelCounts::from_best_reach(q.steps.len(), [], &BTreeMap::new())))
}

/// [`store::Store::journeys`].
pub(crate) fn journeys(conn: &Connection, q: &JourneyQuery) -> Result<Journeys> {
    let answer: Option<Journeys> = run(conn, "metrics_journeys", q, (&q.project, q.from, q.to), &q.filters)?;
    Ok(answer.unwrap_or_else(|| Journeys {
        depths: depth_counts(q.depth, &[]),
        ..Journeys::default()
    }))
}

/// The statement of one flow: `function` over the sessions in scope.
pub(crate) fn flow_sql(
    conn: &Connection,
    function: &str,
    query: &impl serde::Serialize,
    (project, from, to): (&ProjectId, Millis, Millis),
    filters: &[Filter],
) -> Result<(String, Vec<Value>)> {
    let mut params = vec![
        Value::Blob(project.bytes().to_vec()),
        Value::Integer(from),
        Value::Integer(to),
    ];
    let scope = sessions_in_scope(conn, project, from, to, filters, &mut params)?;
    params.push(Value::Text(
        serde_json::to_string(query).map_err(store::StoreError::backend)?,
    ));
    let sql = format!(
        "SELECT {function}(?{}, t.visitor_id, t.start_at, t.trail) {scope}",
        params.len()
    );
    Ok((sql, params))
}

/// The flow's answer; `None` when no session is in scope.
fn run<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    function: &str,
    query: &impl serde::Serialize,
    range: (&ProjectId, Millis, Millis),
    filters: &[Filter],
) -> Result<Option<T>> {
    let (sql, params) = flow_sql(conn, function, query, range, filters)?;
    let json: String = conn
        .prepare(&sql)
        .and_then(|mut s| s.query_row(rusqlite::params_from_iter(params.iter()), |r| r.get(0)))
        .map_err(crate::backend)?;
    serde_json::from_str(&json).map_err(store::StoreError::backend)
}

pub(crate) struct FunnelTally {
    steps: Vec<FunnelStep>,
    /// Each visitor's most steps reached in one session, from `(visitor, steps reached)` per
    /// session that reached one at least.
    best: Offload<(i64, usize), ByVisitor<usize>>,
    /// Per step index from 1, the time from the previous step in each session that reached it.
    deltas: Vec<Vec<u64>>,
}

fn matches(step: &FunnelStep, s: &StepRef<'_>) -> bool {
    match step {
        FunnelStep::Page(pattern) => {
            s.rank == PAGE_RANK && std::str::from_utf8(s.value).is_ok_and(|path| pattern.matches(path))
        }
        FunnelStep::Event(name) => s.rank == EVENT_RANK && s.value == name.as_str().as_bytes(),
    }
}

impl Tally for FunnelTally {
    type Query = FunnelQuery;
    type Answer = FunnelCounts;

    fn new(q: FunnelQuery) -> Self {
        let steps: Vec<FunnelStep> = q.steps.into();
        FunnelTally {
            deltas: vec![Vec::new(); steps.len()],
            steps,
            best: Offload::new(ByVisitor::default(), |best, &(visitor, reached)| {
                let best = best.entry(visitor).or_default();
                *best = (*best).max(reached);
            }),
        }
    }

    fn add(&mut self, visitor: i64, trail: trail::Steps<'_>) -> Result<(), trail::BadTrail> {
        let mut reached = 0;
        let mut previous_at = 0;
        for s in trail {
            let s = s?;
            let Some(step) = self.steps.get(reached) else { break };
            if matches(step, &s) {
                if reached > 0 {
                    self.deltas[reached].push(u64::try_from(s.at - previous_at).unwrap_or(0));
                }
                previous_at = s.at;
                reached += 1;
            }
        }
        // A session that reached no step changes no count.
        if reached > 0 {
            self.best.push((visitor, reached));
        }
        Ok(())
    }

    fn finish(mut self) -> Result<FunnelCounts, CounterFailed> {
        let best = self.best.finish()?;
        let medians: BTreeMap<usize, u64> = self
            .deltas
            .into_iter()
            .enumerate()
            .filter(|(_, d)| !d.is_empty())
            .map(|(k, mut d)| {
                let mid = (d.len() - 1) / 2;
                (k, *d.select_nth_unstable(mid).1)
            })
            .collect();
        Ok(FunnelCounts::from_best_reach(
            self.steps.len(),
            best.into_values(),
            &medians,
        ))
    }
}

// --- journeys ------------------------------------------------------------------------------------

/// A step as an index into [`JourneyTally::names`].
type StepId = u32;

/// Pads a path shorter than [`MAX_JOURNEY_DEPTH`].
const NO_STEP: StepId = StepId::MAX;

/// What the answer counts the visitors of.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Counted {
    /// Reached depth d (from 1, up to the query's depth + 1, which counts the last drop-off).
    Depth(u32),
    Node(u32, StepId),
    Link(u32, StepId, StepId),
    Path([StepId; MAX_JOURNEY_DEPTH as usize]),
}

/// A hasher for small integer keys ([`Counted`]): a multiply-rotate in the manner of FxHash, far
/// cheaper than SipHash on a few words. Never for text (pages are interned with the standard,
/// seeded hasher, as their values come from the sites' visitors).
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn write_isize(&mut self, n: isize) {
        self.write_u64(n as u64);
    }
}

/// One session's journey as the counting thread receives it: the visitor and up to depth + 1
/// steps.
#[derive(Clone, Copy)]
struct Shaped {
    visitor: i64,
    len: u8,
    steps: [StepId; MAX_JOURNEY_DEPTH as usize + 1],
}

/// The journeys aggregate's state: each session's trail read into steps here, on the
/// statement's thread; the visitors per node, link, path and depth counted by an [`Offload`].
pub(crate) struct JourneyTally {
    q: JourneyQuery,
    /// Interned steps, pages and events apart, and what each id stands for.
    pages: HashMap<Vec<u8>, StepId>,
    events: HashMap<Vec<u8>, StepId>,
    names: Vec<(bool, Vec<u8>)>,
    counting: Offload<Shaped, JourneyCounter>,
}

/// Distinct visitors per [`Counted`].
struct JourneyCounter {
    depth: usize,
    /// Each [`Counted`] as a dense index into `counts`: depths and nodes by direct index (per
    /// depth, by step id; [`NO_STEP`] where not given yet), links and paths by hash, paths in a
    /// map of their own (there can be hundreds of thousands).
    depth_ids: Vec<u32>,
    node_ids: Vec<Vec<u32>>,
    link_ids: HashMap<(u32, StepId, StepId), u32, BuildHasherDefault<WordHasher>>,
    path_ids: HashMap<[StepId; MAX_JOURNEY_DEPTH as usize], u32, BuildHasherDefault<WordHasher>>,
    counted: Vec<Counted>,
    counts: Vec<u64>,
    /// Per visitor, what it was counted in already, as `(offset, length)` in `seen_lists`: a
    /// visitor with two sessions through the same node counts once. A short list per visitor
    /// instead of a set per counted thing: a fraction of the memory, and one look-up per session.
    /// A visitor's list grows by moving it to the end of the arena (most have one session).
    seen: ByVisitor<(u32, u32)>,
    seen_lists: Vec<u32>,
    /// Scratch: the current session's counted things.
    keys: Vec<u32>,
}

impl JourneyCounter {
    fn new(depth: usize) -> Self {
        JourneyCounter {
            depth,
            depth_ids: Vec::new(),
            node_ids: Vec::new(),
            link_ids: HashMap::default(),
            path_ids: HashMap::default(),
            counted: Vec::new(),
            counts: Vec::new(),
            seen: ByVisitor::default(),
            seen_lists: Vec::new(),
            keys: Vec::new(),
        }
    }

    fn new_id(&mut self, c: Counted) -> u32 {
        self.counted.push(c);
        self.counts.push(0);
        self.counted.len() as u32 - 1
    }

    fn id_of(&mut self, c: Counted) -> u32 {
        match c {
            Counted::Depth(d) => {
                let i = d as usize - 1;
                while self.depth_ids.len() <= i {
                    let next = Counted::Depth(self.depth_ids.len() as u32 + 1);
                    let id = self.new_id(next);
                    self.depth_ids.push(id);
                }
                self.depth_ids[i]
            }
            Counted::Node(d, step) => {
                let (i, j) = (d as usize - 1, step as usize);
                if self.node_ids.len() <= i {
                    self.node_ids.resize(i + 1, Vec::new());
                }
                if self.node_ids[i].len() <= j {
                    self.node_ids[i].resize(j + 1, NO_STEP);
                }
                match self.node_ids[i][j] {
                    NO_STEP => {
                        let id = self.new_id(c);
                        self.node_ids[i][j] = id;
                        id
                    }
                    id => id,
                }
            }
            Counted::Link(d, from, to) => match self.link_ids.get(&(d, from, to)) {
                Some(&id) => id,
                None => {
                    let id = self.new_id(c);
                    self.link_ids.insert((d, from, to), id);
                    id
                }
            },
            Counted::Path(steps) => match self.path_ids.get(&steps) {
                Some(&id) => id,
                None => {
                    let id = self.new_id(c);
                    self.path_ids.insert(steps, id);
                    id
                }
            },
        }
    }

    fn count(&mut self, session: &Shaped) {
        let depth = self.depth;
        let steps = &session.steps[..session.len as usize];
        let mut keys = std::mem::take(&mut self.keys);
        keys.clear();
        for (i, &step) in steps.iter().enumerate() {
            let d = i as u32 + 1;
            keys.push(self.id_of(Counted::Depth(d)));
            if i < depth {
                keys.push(self.id_of(Counted::Node(d, step)));
            }
            if i + 1 < depth && i + 1 < steps.len() {
                keys.push(self.id_of(Counted::Link(d, step, steps[i + 1])));
            }
        }
        let mut path = [NO_STEP; MAX_JOURNEY_DEPTH as usize];
        let shown = steps.len().min(depth);
        path[..shown].copy_from_slice(&steps[..shown]);
        keys.push(self.id_of(Counted::Path(path)));
        let end = self.seen_lists.len() as u32;
        match self.seen.entry(session.visitor) {
            Entry::Vacant(v) => {
                // A visitor's first session: everything counts. (Keys are distinct within a
                // session: each names its depth.)
                for &k in &keys {
                    self.counts[k as usize] += 1;
                }
                self.seen_lists.extend_from_slice(&keys);
                v.insert((end, keys.len() as u32));
            }
            Entry::Occupied(mut o) => {
                let (at, len) = *o.get();
                let (at, len) = (at as usize, len as usize);
                if at + len != end as usize {
                    self.seen_lists.extend_from_within(at..at + len);
                }
                let start = self.seen_lists.len() - len;
                for &k in &keys {
                    if !self.seen_lists[start..].contains(&k) {
                        self.seen_lists.push(k);
                        self.counts[k as usize] += 1;
                    }
                }
                o.insert((start as u32, (self.seen_lists.len() - start) as u32));
            }
        }
        self.keys = keys;
    }
}

impl Tally for JourneyTally {
    type Query = JourneyQuery;
    type Answer = Journeys;

    fn new(q: JourneyQuery) -> Self {
        JourneyTally {
            pages: HashMap::new(),
            events: HashMap::new(),
            names: Vec::new(),
            counting: Offload::new(JourneyCounter::new(q.depth.get() as usize), JourneyCounter::count),
            q,
        }
    }

    fn add(&mut self, visitor: i64, trail: trail::Steps<'_>) -> Result<(), trail::BadTrail> {
        let len = self.q.depth.get() as usize + 1;
        let mut shaped = Shaped {
            visitor,
            len: 0,
            steps: [NO_STEP; MAX_JOURNEY_DEPTH as usize + 1],
        };
        let mut previous: Option<(bool, &[u8])> = None;
        let mut started = self.q.start.is_none();
        for s in trail {
            let s = s?;
            let is_page = match s.rank {
                PAGE_RANK => true,
                EVENT_RANK => false,
                _ => continue,
            };
            // A reload: the same page again, right after itself.
            let reload = is_page && previous == Some((true, s.value));
            previous = Some((is_page, s.value));
            if reload {
                continue;
            }
            if !started {
                let Some(start) = &self.q.start else { break };
                started = is_page && std::str::from_utf8(s.value).is_ok_and(|p| start.matches(p));
                if !started {
                    continue;
                }
            }
            shaped.steps[shaped.len as usize] = self.intern(is_page, s.value);
            shaped.len += 1;
            if shaped.len as usize == len {
                break;
            }
        }
        if shaped.len > 0 {
            self.counting.push(shaped);
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Journeys, CounterFailed> {
        let counter = self.counting.finish()?;
        Ok(self.answer(&counter))
    }
}

impl JourneyTally {
    fn intern(&mut self, is_page: bool, value: &[u8]) -> StepId {
        let map = if is_page { &mut self.pages } else { &mut self.events };
        if let Some(&id) = map.get(value) {
            return id;
        }
        let id = self.names.len() as StepId;
        map.insert(value.to_vec(), id);
        self.names.push((is_page, value.to_vec()));
        id
    }

    fn step(&self, id: StepId) -> Step {
        let (is_page, value) = &self.names[id as usize];
        Step {
            kind: if *is_page { StepKind::Page } else { StepKind::Event },
            value: String::from_utf8_lossy(value).into_owned(),
        }
    }

    fn answer(&self, counter: &JourneyCounter) -> Journeys {
        let depth = self.q.depth.get();
        let limit = self.q.limit.get() as usize;
        let mut reached = vec![0u64; depth as usize + 1];
        let mut nodes: Vec<Vec<(NodeCount, StepId)>> = vec![Vec::new(); depth as usize];
        let mut links: Vec<(u32, StepId, StepId, u64)> = Vec::new();
        let mut paths: Vec<(u64, [StepId; MAX_JOURNEY_DEPTH as usize])> = Vec::new();
        for (c, &visitors) in counter.counted.iter().zip(&counter.counts) {
            match *c {
                Counted::Depth(d) => reached[d as usize - 1] = visitors,
                Counted::Node(d, id) => nodes[d as usize - 1].push((
                    NodeCount {
                        depth: d,
                        step: self.step(id),
                        visitors,
                    },
                    id,
                )),
                Counted::Link(d, from, to) => links.push((d, from, to, visitors)),
                Counted::Path(ids) => paths.push((visitors, ids)),
            }
        }
        let mut shown: HashSet<(u32, StepId)> = HashSet::new();
        let mut shown_nodes: Vec<NodeCount> = Vec::new();
        for mut at_depth in nodes {
            at_depth.sort_by(|(a, _), (b, _)| {
                (std::cmp::Reverse(a.visitors), &a.step).cmp(&(std::cmp::Reverse(b.visitors), &b.step))
            });
            at_depth.truncate(limit);
            for (n, id) in at_depth {
                shown.insert((n.depth, id));
                shown_nodes.push(n);
            }
        }
        let links: Vec<LinkCount> = links
            .into_iter()
            .filter(|(d, from, to, _)| shown.contains(&(*d, *from)) && shown.contains(&(d + 1, *to)))
            .map(|(depth, from, to, visitors)| LinkCount {
                depth,
                from: self.step(from),
                to: self.step(to),
                visitors,
            })
            .collect();
        // Only the paths that can make the top `limit` are spelled out and sorted by their steps:
        // there can be hundreds of thousands of distinct paths.
        if paths.len() > limit && limit > 0 {
            let (_, &mut (cutoff, _), _) = paths.select_nth_unstable_by(limit - 1, |a, b| b.0.cmp(&a.0));
            paths.retain(|(visitors, _)| *visitors >= cutoff);
        }
        let mut paths: Vec<PathCount> = paths
            .into_iter()
            .map(|(visitors, ids)| PathCount {
                steps: ids
                    .iter()
                    .take_while(|&&id| id != NO_STEP)
                    .map(|&id| self.step(id))
                    .collect(),
                visitors,
            })
            .collect();
        paths.sort_by(|a, b| (std::cmp::Reverse(a.visitors), &a.steps).cmp(&(std::cmp::Reverse(b.visitors), &b.steps)));
        paths.truncate(limit);
        Journeys {
            nodes: shown_nodes,
            links,
            paths,
            depths: depth_counts(self.q.depth, &reached),
        }
        .sorted()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Millis = 86_400_000;

    fn insert_session(conn: &Connection, n: i64, project: &ProjectId, start: Millis) {
        conn.execute(
            "INSERT INTO sessions (id, project_id, visitor_id, start_at, end_at, entry_page, exit_page, \
               pageviews, events, custom_events, engaged_ms, hostname, browser, browser_version, os, \
               os_version, device, entry_key, exit_key, applied) \
             VALUES (?1, ?2, ?3, ?4, ?4, '/', '/', 1, 1, 0, 0, 'h', 'b', '1', 'o', '1', 'desktop', x'', x'', x'')",
            params![n.to_be_bytes().repeat(2)[..12].to_vec(), project.bytes(), n, start],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO session_trails (seq, project_id, start_at, visitor_id, trail) \
             SELECT seq, project_id, start_at, visitor_id, x'' FROM sessions WHERE visitor_id = ?1",
            [n],
        )
        .unwrap();
    }

    fn statement(conn: &Connection, project: &ProjectId, from: Millis, to: Millis) -> (String, Vec<String>) {
        let (sql, params) = flow_sql(conn, "count", &(), (project, from, to), &[]).unwrap();
        let sql = sql.replace("count(?4, t.visitor_id, t.start_at, t.trail)", "count(*)");
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let plan = stmt
            .query_map(rusqlite::params_from_iter(params.iter().take(3)), |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<Vec<String>>>()
            .unwrap();
        (sql, plan)
    }

    /// A project whose sessions are most of those between its bounds reads them in `seq`
    /// order; one with a few sessions among another project's many reads them from the index.
    /// Either way the rows read are exactly the range's.
    #[test]
    fn sessions_are_read_in_seq_order_when_dense_and_from_the_index_when_sparse() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        let (big, small) = (ProjectId::from_bytes([1; 12]), ProjectId::from_bytes([2; 12]));
        let t0 = 20_000 * DAY;
        insert_session(&conn, 0, &small, t0);
        for n in 1..=100 {
            insert_session(&conn, n, &big, t0 + n * 60_000);
        }
        insert_session(&conn, 101, &small, t0 + DAY + 5);
        // A session that moves to an earlier day widens that day's bounds.
        for table in ["sessions", "session_trails"] {
            conn.execute(
                &format!("UPDATE {table} SET start_at = ?1 WHERE seq = 50"),
                [t0 - DAY + 7],
            )
            .unwrap();
        }

        let (sql, plan) = statement(&conn, &big, t0, t0 + 2 * DAY);
        assert!(sql.contains("FROM session_trails t WHERE t.seq BETWEEN"), "{sql}");
        assert!(plan.iter().any(|p| p.contains("USING INTEGER PRIMARY KEY")), "{plan:?}");
        let count = |sql: &str, project: &ProjectId, from: Millis, to: Millis| -> i64 {
            conn.query_row(sql, params![project.bytes(), from, to], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(count(&sql, &big, t0, t0 + 2 * DAY), 99);
        let (sql, _) = statement(&conn, &big, t0 - DAY, t0 + 2 * DAY);
        assert_eq!(count(&sql, &big, t0 - DAY, t0 + 2 * DAY), 100, "{sql}");

        let (sql, plan) = statement(&conn, &small, t0, t0 + 2 * DAY);
        assert!(sql.contains("INDEXED BY sessions_start"), "{sql}");
        assert!(plan.iter().any(|p| p.contains("INDEX sessions_start")), "{plan:?}");
        assert_eq!(count(&sql, &small, t0, t0 + 2 * DAY), 2);

        let (sql, _) = statement(&conn, &small, t0 + 3 * DAY, t0 + 4 * DAY);
        assert_eq!(count(&sql, &small, t0 + 3 * DAY, t0 + 4 * DAY), 0, "no span: {sql}");
    }

    /// 3,000 sessions of 1 to 7 steps (mostly pages, some `signup` events) of 1,100 visitors.
    fn sample_trails() -> Vec<(i64, Vec<u8>)> {
        use store::sessions::{EventKey, TrailStep};
        let pages = ["/", "/pricing", "/docs", "/blog/a", "/blog/b", "/signup"];
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let sessions: Vec<(i64, Vec<u8>)> = (0..3000)
            .map(|i| {
                let steps: Vec<TrailStep> = (0..1 + next(7))
                    .map(|k| TrailStep {
                        key: EventKey {
                            at: k as i64 * 1000,
                            rank: if next(9) == 0 { EVENT_RANK } else { PAGE_RANK },
                            id: format!("e{i}-{k}"),
                        },
                        value: pages[next(pages.len() as u64) as usize].to_owned(),
                    })
                    .collect();
                (i % 1100, trail::encode(0, &steps))
            })
            .collect();
        sessions
    }

    /// The funnel counted on a second thread, batch by batch, is the funnel counted at the end.
    #[test]
    fn a_funnel_counted_on_a_thread_matches_one_counted_inline() {
        use store::analytics::funnel::FunnelSteps;
        use store::analytics::PagePattern;
        let sessions = sample_trails();
        let q = FunnelQuery {
            project: ProjectId::from_bytes([1; 12]),
            from: 0,
            to: 1,
            filters: vec![],
            steps: FunnelSteps::new(vec![
                FunnelStep::Page(PagePattern::parse("/").unwrap()),
                FunnelStep::Page(PagePattern::parse("/blog/*").unwrap()),
                FunnelStep::Page(PagePattern::parse("/signup").unwrap()),
            ])
            .unwrap(),
        };
        let run = |batch_size: usize| {
            let mut tally = FunnelTally::new(q.clone());
            tally.best.batch_size = batch_size;
            for (visitor, bytes) in &sessions {
                tally.add(*visitor, trail::steps(0, bytes)).unwrap();
            }
            let threaded = tally.best.thread.is_some();
            (tally.finish().unwrap(), threaded)
        };
        let ((inline, false), (batched, true)) = (run(usize::MAX), run(100)) else {
            panic!("one run on a thread, one not");
        };
        assert_eq!(batched, inline);
        assert!(inline.steps[2].visitors > 0, "{inline:?}");
    }

    /// Counting on a thread of its own, batch by batch, gives what counting everything at the
    /// end on the statement's thread gives, for visitors with several sessions and any depth.
    #[test]
    fn journeys_counted_on_a_thread_match_journeys_counted_inline() {
        use store::analytics::journeys::{JourneyDepth, JourneyLimit};
        use store::analytics::PagePattern;

        let sessions = sample_trails();
        for (depth, start) in [(4, None), (6, Some("/")), (1, Some("/blog/*"))] {
            let q = JourneyQuery {
                project: ProjectId::from_bytes([1; 12]),
                from: 0,
                to: 1,
                filters: vec![],
                start: start.map(|p| PagePattern::parse(p).unwrap()),
                depth: JourneyDepth::new(depth).unwrap(),
                limit: JourneyLimit::new(3).unwrap(),
            };
            let run = |batch_size: usize| {
                let mut tally = JourneyTally::new(q.clone());
                tally.counting.batch_size = batch_size;
                for (visitor, bytes) in &sessions {
                    tally.add(*visitor, trail::steps(0, bytes)).unwrap();
                }
                let threaded = tally.counting.thread.is_some();
                (tally.finish().unwrap(), threaded)
            };
            let (inline, threaded) = run(usize::MAX);
            assert!(!threaded);
            let (batched, threaded) = run(100);
            assert!(threaded);
            assert_eq!(batched, inline, "depth {depth}, start {start:?}");
            assert!(!inline.nodes.is_empty() && !inline.paths.is_empty());
        }
    }
}
