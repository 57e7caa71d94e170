//! Records to BSON documents and back, by hand rather than through serde: the stored shape (camelCase
//! names, ObjectIds, BSON Dates, absent optional fields) is the MongoDB data model the dashboard's
//! aggregations are written against, so it is spelled out here field by field, and decoding
//! checks every field instead of trusting the database.

use std::collections::BTreeMap;

use contract::enrich::{ClientInfo, Device, Utm, VisitorId};
use contract::enriched::{EnrichedEvent, Geo};
use contract::ids::{EventId, ProjectId};
use contract::keys::{KeyHash, KeyPreview};
use mongodb::bson::oid::ObjectId;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{doc, Binary, Bson, DateTime, Document};
use store::analytics::{Counters, DirtyHour, Granularity, RollupDim, RollupRow, RollupSummary, Sketch, StoredRollup};
use store::sessions::{EventKey, Session, TrailStep, EVENT_RANK, PAGE_RANK};
use store::{
    AuthToken, Domain, Email, KeyId, KeyRecord, Millis, Name, Project, ShareId, ShareLink, ShareSlug, TimeZoneName,
    TokenKind, User, UserId,
};

/// A stored document that does not have the shape this crate writes.
#[derive(Debug, thiserror::Error)]
#[error("malformed {collection} document: {problem}")]
pub struct DecodeError {
    collection: &'static str,
    problem: String,
}

pub type Decoded<T> = Result<T, DecodeError>;

// --- small helpers ---------------------------------------------------------------------------

pub fn oid(bytes: [u8; 12]) -> ObjectId {
    ObjectId::from_bytes(bytes)
}

pub fn date(ms: Millis) -> DateTime {
    DateTime::from_millis(ms)
}

/// Visitor ids are 64-bit hashes; MongoDB has no unsigned integers, so they are stored as the
/// i64 with the same bits (a lossless round trip; only the sort order differs, see `sessions`).
pub fn visitor_i64(v: VisitorId) -> i64 {
    v.0 as i64
}

/// The `_id` of a `visitor_sessions` document: `"<project hex>:<visitor hex>"`, e.g.
/// `"65f0a1b2c3d4e5f601234567:00000000000000ff"` (41 characters, readable in a shell).
///
/// A scalar, not the embedded document `{p: projectId, v: visitorId}` first planned: SecantusDB
/// (0.5.3-beta.196) answers equality on an embedded-document `_id` by scanning the collection
/// (measured: 6 ms per lookup at 1k documents, 24 ms at 4k, linear) and updates do not use
/// secondary indexes at all, while a scalar `_id` stays at ~0.5 ms. Every compare-and-set
/// addresses its document by `_id`, so this is the difference between a usable and an unusable
/// ingest rate. Real MongoDB indexes both forms equally well; `projectId` and `visitorId` are
/// top-level fields anyway for queries.
pub fn visitor_key(project: &ProjectId, visitor: VisitorId) -> String {
    format!("{project}:{:016x}", visitor.0)
}

/// The `_id` of an event: see the crate documentation for why it is compound.
pub fn event_key(project: &ProjectId, id: &EventId) -> Document {
    doc! { "p": oid(project.bytes()), "e": id.as_str() }
}

fn put_opt_str(d: &mut Document, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        d.insert(key, v.as_str());
    }
}

/// Reads fields of one document, naming the collection in errors.
struct Reader<'a> {
    collection: &'static str,
    doc: &'a Document,
}

impl<'a> Reader<'a> {
    fn new(collection: &'static str, doc: &'a Document) -> Self {
        Self { collection, doc }
    }

    fn err(&self, problem: impl Into<String>) -> DecodeError {
        DecodeError {
            collection: self.collection,
            problem: problem.into(),
        }
    }

    fn get(&self, key: &str) -> Decoded<&'a Bson> {
        self.doc
            .get(key)
            .ok_or_else(|| self.err(format!("missing field {key}")))
    }

    /// `None` for an absent field or an explicit null.
    fn opt(&self, key: &str) -> Option<&'a Bson> {
        match self.doc.get(key) {
            None | Some(Bson::Null) => None,
            Some(b) => Some(b),
        }
    }

    fn str(&self, key: &str) -> Decoded<String> {
        match self.get(key)? {
            Bson::String(s) => Ok(s.clone()),
            other => Err(self.err(format!("{key} is {:?}, not a string", other.element_type()))),
        }
    }

    fn opt_str(&self, key: &str) -> Decoded<Option<String>> {
        self.opt(key).map(|_| self.str(key)).transpose()
    }

    /// Integers may come back as Int32 if another writer (a shell, a migration) stored small
    /// values compactly; accept both widths.
    fn i64(&self, key: &str) -> Decoded<i64> {
        match self.get(key)? {
            Bson::Int64(n) => Ok(*n),
            Bson::Int32(n) => Ok(i64::from(*n)),
            other => Err(self.err(format!("{key} is {:?}, not an integer", other.element_type()))),
        }
    }

    fn int<T: TryFrom<i64>>(&self, key: &str) -> Decoded<T> {
        let n = self.i64(key)?;
        T::try_from(n).map_err(|_| self.err(format!("{key} = {n} is out of range")))
    }

    fn opt_int<T: TryFrom<i64>>(&self, key: &str) -> Decoded<Option<T>> {
        self.opt(key).map(|_| self.int(key)).transpose()
    }

    fn date(&self, key: &str) -> Decoded<Millis> {
        match self.get(key)? {
            Bson::DateTime(d) => Ok(d.timestamp_millis()),
            other => Err(self.err(format!("{key} is {:?}, not a date", other.element_type()))),
        }
    }

    fn opt_date(&self, key: &str) -> Decoded<Option<Millis>> {
        self.opt(key).map(|_| self.date(key)).transpose()
    }

    fn oid(&self, key: &str) -> Decoded<[u8; 12]> {
        match self.get(key)? {
            Bson::ObjectId(o) => Ok(o.bytes()),
            other => Err(self.err(format!("{key} is {:?}, not an ObjectId", other.element_type()))),
        }
    }

    fn doc(&self, key: &str) -> Decoded<&'a Document> {
        match self.get(key)? {
            Bson::Document(d) => Ok(d),
            other => Err(self.err(format!("{key} is {:?}, not a document", other.element_type()))),
        }
    }

    /// An optional sub-document; absent reads as empty.
    fn sub(&self, key: &str) -> Decoded<Reader<'a>> {
        static EMPTY: std::sync::OnceLock<Document> = std::sync::OnceLock::new();
        let doc = match self.opt(key) {
            None => EMPTY.get_or_init(Document::new),
            Some(_) => self.doc(key)?,
        };
        Ok(Reader {
            collection: self.collection,
            doc,
        })
    }

    fn array(&self, key: &str) -> Decoded<&'a Vec<Bson>> {
        match self.get(key)? {
            Bson::Array(a) => Ok(a),
            other => Err(self.err(format!("{key} is {:?}, not an array", other.element_type()))),
        }
    }

    fn parse<T, E>(&self, key: &str, f: impl FnOnce(&str) -> Result<T, E>) -> Decoded<T> {
        let s = self.str(key)?;
        f(&s).map_err(|_| self.err(format!("{key} = {s:?} is not valid")))
    }

    /// `None` for an absent field or an explicit null, like [`Self::opt`].
    fn opt_parse<T, E>(&self, key: &str, f: impl FnOnce(&str) -> Result<T, E>) -> Decoded<Option<T>> {
        self.opt(key).map(|_| self.parse(key, f)).transpose()
    }
}

// --- users and tokens ------------------------------------------------------------------------

pub fn user_doc(u: &User) -> Document {
    doc! {
        "_id": oid(u.id.bytes()),
        "email": u.email.as_str(),
        "passwordHash": &u.password_hash,
        "createdAt": date(u.created_at),
    }
}

pub fn user_from(d: &Document) -> Decoded<User> {
    let r = Reader::new("users", d);
    Ok(User {
        id: UserId::from_bytes(r.oid("_id")?),
        email: r.parse("email", Email::parse)?,
        password_hash: r.str("passwordHash")?,
        created_at: r.date("createdAt")?,
    })
}

pub fn token_doc(t: &AuthToken) -> Document {
    let mut d = doc! {
        "_id": &t.token_hash,
        "userId": oid(t.user_id.bytes()),
        "kind": t.kind.as_str(),
        "label": &t.label,
        "createdAt": date(t.created_at),
    };
    if let Some(at) = t.expires_at {
        d.insert("expiresAt", date(at));
    }
    d
}

pub fn token_from(d: &Document) -> Decoded<AuthToken> {
    let r = Reader::new("auth_tokens", d);
    Ok(AuthToken {
        token_hash: r.str("_id")?,
        user_id: UserId::from_bytes(r.oid("userId")?),
        kind: r.parse("kind", |s| TokenKind::parse(s).ok_or(()))?,
        label: r.str("label")?,
        created_at: r.date("createdAt")?,
        expires_at: r.opt_date("expiresAt")?,
    })
}

// --- projects and keys -----------------------------------------------------------------------

pub fn project_doc(p: &Project) -> Document {
    let mut d = doc! {
        "_id": oid(p.id.bytes()),
        "ownerUserId": oid(p.owner.bytes()),
        "name": p.name.as_str(),
        "timezone": p.timezone.as_str(),
        "createdAt": date(p.created_at),
    };
    if let Some(domain) = &p.domain {
        d.insert("domain", domain.as_str());
    }
    d
}

pub fn project_from(d: &Document) -> Decoded<Project> {
    let r = Reader::new("projects", d);
    Ok(Project {
        id: ProjectId::from_bytes(r.oid("_id")?),
        owner: UserId::from_bytes(r.oid("ownerUserId")?),
        name: r.parse("name", Name::parse)?,
        domain: r.opt_parse("domain", Domain::parse)?,
        // Projects stored before time zones existed have none: they were shown in UTC.
        timezone: r
            .opt_parse("timezone", TimeZoneName::parse)?
            .unwrap_or_else(TimeZoneName::utc),
        created_at: r.date("createdAt")?,
    })
}

/// The `$set` (and, without a domain, `$unset`) of [`store::Store::update_project`]: what an
/// owner may change, never `ownerUserId` or `createdAt`. A missing domain is an absent field,
/// as [`project_doc`] writes it.
pub fn project_update(p: &Project) -> Document {
    let mut set = doc! { "name": p.name.as_str(), "timezone": p.timezone.as_str() };
    let mut update = Document::new();
    match &p.domain {
        Some(domain) => {
            set.insert("domain", domain.as_str());
        }
        None => {
            update.insert("$unset", doc! { "domain": "" });
        }
    }
    update.insert("$set", set);
    update
}

// --- share links -----------------------------------------------------------------------------

pub fn share_doc(l: &ShareLink) -> Document {
    let mut d = doc! {
        "_id": oid(l.id.bytes()),
        "projectId": oid(l.project_id.bytes()),
        "slug": l.slug.as_str(),
        "label": l.label.as_str(),
        "createdAt": date(l.created_at),
    };
    if let Some(hash) = &l.password_hash {
        d.insert("passwordHash", hash.as_str());
    }
    d
}

pub fn share_from(d: &Document) -> Decoded<ShareLink> {
    let r = Reader::new("share_links", d);
    Ok(ShareLink {
        id: ShareId::from_bytes(r.oid("_id")?),
        project_id: ProjectId::from_bytes(r.oid("projectId")?),
        slug: r.parse("slug", |s| ShareSlug::parse(s).ok_or(()))?,
        label: r.parse("label", Name::parse)?,
        password_hash: r.opt_str("passwordHash")?,
        created_at: r.date("createdAt")?,
    })
}

pub fn key_doc(k: &KeyRecord) -> Document {
    let mut d = doc! {
        "_id": oid(k.id.bytes()),
        "projectId": oid(k.project_id.bytes()),
        "label": k.label.as_str(),
        "keyHash": k.key_hash.as_str(),
        "keyPreview": k.key_preview.as_str(),
        "createdAt": date(k.created_at),
    };
    if let Some(at) = k.last_used_at {
        d.insert("lastUsedAt", date(at));
    }
    if let Some(at) = k.revoked_at {
        d.insert("revokedAt", date(at));
    }
    d
}

pub fn key_from(d: &Document) -> Decoded<KeyRecord> {
    let r = Reader::new("api_keys", d);
    Ok(KeyRecord {
        id: KeyId::from_bytes(r.oid("_id")?),
        project_id: ProjectId::from_bytes(r.oid("projectId")?),
        label: r.parse("label", Name::parse)?,
        key_hash: r.parse("keyHash", KeyHash::parse)?,
        key_preview: KeyPreview::from_stored(r.str("keyPreview")?),
        created_at: r.date("createdAt")?,
        last_used_at: r.opt_date("lastUsedAt")?,
        revoked_at: r.opt_date("revokedAt")?,
    })
}

// --- salts -----------------------------------------------------------------------------------

pub fn salt_binary(salt: [u8; 32]) -> Binary {
    Binary {
        subtype: BinarySubtype::Generic,
        bytes: salt.to_vec(),
    }
}

pub fn salt_from(d: &Document) -> Decoded<[u8; 32]> {
    let r = Reader::new("salts", d);
    match r.get("salt")? {
        Bson::Binary(b) => b.bytes.as_slice().try_into().map_err(|_| r.err("salt is not 32 bytes")),
        other => Err(r.err(format!("salt is {:?}, not binary", other.element_type()))),
    }
}

// --- events ----------------------------------------------------------------------------------

/// The time of an event read with only `occurredAt` projected.
pub fn occurred_at_from(d: &Document) -> Decoded<Millis> {
    Reader::new("events", d).date("occurredAt")
}

fn utm_doc(u: &Utm) -> Document {
    let mut d = Document::new();
    put_opt_str(&mut d, "source", &u.source);
    put_opt_str(&mut d, "medium", &u.medium);
    put_opt_str(&mut d, "campaign", &u.campaign);
    put_opt_str(&mut d, "term", &u.term);
    put_opt_str(&mut d, "content", &u.content);
    d
}

fn utm_from(r: &Reader) -> Decoded<Utm> {
    Ok(Utm {
        source: r.opt_str("source")?,
        medium: r.opt_str("medium")?,
        campaign: r.opt_str("campaign")?,
        term: r.opt_str("term")?,
        content: r.opt_str("content")?,
    })
}

fn device_from(r: &Reader, key: &str) -> Decoded<Device> {
    r.parse(key, |s| match s {
        "desktop" => Ok(Device::Desktop),
        "mobile" => Ok(Device::Mobile),
        "tablet" => Ok(Device::Tablet),
        "other" => Ok(Device::Other),
        _ => Err(()),
    })
}

fn put_client(d: &mut Document, c: &ClientInfo) {
    d.insert("browser", c.browser.as_str());
    d.insert("browserVersion", c.browser_version.as_str());
    d.insert("os", c.os.as_str());
    d.insert("osVersion", c.os_version.as_str());
    d.insert("device", c.device.as_str());
}

fn client_from(r: &Reader) -> Decoded<ClientInfo> {
    Ok(ClientInfo {
        browser: r.str("browser")?,
        browser_version: r.str("browserVersion")?,
        os: r.str("os")?,
        os_version: r.str("osVersion")?,
        device: device_from(r, "device")?,
    })
}

fn put_geo(d: &mut Document, g: &Geo) {
    put_opt_str(d, "country", &g.country);
    put_opt_str(d, "region", &g.region);
    put_opt_str(d, "city", &g.city);
    put_opt_str(d, "timezone", &g.timezone);
    put_opt_str(d, "colo", &g.colo);
    if let Some(asn) = g.asn {
        d.insert("asn", i64::from(asn));
    }
}

fn geo_from(r: &Reader) -> Decoded<Geo> {
    Ok(Geo {
        country: r.opt_str("country")?,
        region: r.opt_str("region")?,
        city: r.opt_str("city")?,
        timezone: r.opt_str("timezone")?,
        colo: r.opt_str("colo")?,
        asn: r.opt_int("asn")?,
    })
}

/// u64 counters and durations as BSON Int64; values beyond i64 (never seen in practice) saturate
/// rather than wrap into negatives that would corrupt sums in aggregations.
pub fn u64_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub fn event_doc(e: &EnrichedEvent) -> Document {
    let mut d = doc! {
        "_id": event_key(&e.project_id, &e.id),
        "projectId": oid(e.project_id.bytes()),
        "name": &e.name,
        "occurredAt": date(e.occurred_at),
        "receivedAt": date(e.received_at),
        "hostname": &e.hostname,
        "path": &e.path,
        "url": &e.url,
    };
    put_opt_str(&mut d, "referrer", &e.referrer);
    put_opt_str(&mut d, "source", &e.source);
    let utm = utm_doc(&e.utm);
    if !utm.is_empty() {
        d.insert("utm", utm);
    }
    if !e.props.is_empty() {
        // Keys are safe as field names: the contract refuses `$`-prefixed and dotted keys.
        let props: Document = e
            .props
            .iter()
            .map(|(k, v)| (k.clone(), Bson::String(v.clone())))
            .collect();
        d.insert("props", props);
    }
    if let Some(ms) = e.duration_ms {
        d.insert("durationMs", u64_i64(ms));
    }
    if let Some(s) = e.scroll_depth {
        d.insert("scrollDepth", i32::from(s));
    }
    if let Some(w) = e.screen_width {
        d.insert("screenWidth", i64::from(w));
    }
    d.insert("visitorId", visitor_i64(e.visitor_id));
    // The `_id` of the visitor's `visitor_sessions` document: the dashboard's pipelines join an
    // event to its session with an `_id` equality `$lookup` on it.
    d.insert("visitorKey", visitor_key(&e.project_id, e.visitor_id));
    let mut client = Document::new();
    put_client(&mut client, &e.client);
    d.insert("client", client);
    let mut geo = Document::new();
    put_geo(&mut geo, &e.geo);
    if !geo.is_empty() {
        d.insert("geo", geo);
    }
    d
}

pub fn event_from(d: &Document) -> Decoded<EnrichedEvent> {
    let r = Reader::new("events", d);
    let key = Reader::new("events", r.doc("_id")?);
    let props = r
        .sub("props")?
        .doc
        .iter()
        .map(|(k, v)| match v {
            Bson::String(s) => Ok((k.clone(), s.clone())),
            _ => Err(r.err(format!("props.{k} is not a string"))),
        })
        .collect::<Decoded<BTreeMap<_, _>>>()?;
    Ok(EnrichedEvent {
        id: key.parse("e", EventId::parse)?,
        project_id: ProjectId::from_bytes(r.oid("projectId")?),
        name: r.str("name")?,
        occurred_at: r.date("occurredAt")?,
        received_at: r.date("receivedAt")?,
        hostname: r.str("hostname")?,
        path: r.str("path")?,
        url: r.str("url")?,
        referrer: r.opt_str("referrer")?,
        source: r.opt_str("source")?,
        utm: utm_from(&r.sub("utm")?)?,
        props,
        duration_ms: r.opt_int("durationMs")?,
        scroll_depth: r.opt_int("scrollDepth")?,
        screen_width: r.opt_int("screenWidth")?,
        visitor_id: VisitorId(r.i64("visitorId")? as u64),
        client: client_from(&r.sub("client")?)?,
        geo: geo_from(&r.sub("geo")?)?,
    })
}

// --- sessions --------------------------------------------------------------------------------

fn event_key_doc(k: &EventKey) -> Document {
    doc! { "at": date(k.at), "rank": i32::from(k.rank), "id": &k.id }
}

fn event_key_from(r: &Reader, key: &str) -> Decoded<EventKey> {
    let k = Reader::new(r.collection, r.doc(key)?);
    Ok(EventKey {
        at: k.date("at")?,
        rank: k.int("rank")?,
        id: k.str("id")?,
    })
}

/// One session as a sub-document of a `visitor_sessions` document: the scalar fields the dashboard
/// filters and groups on, flat, plus what [`store::sessions::fold`] needs to go on folding
/// (the entry/exit order keys and the `applied` digests). Project and visitor are the parent's.
pub fn session_doc(s: &Session) -> Document {
    let mut d = doc! {
        "id": &s.id,
        "start": date(s.start),
        "end": date(s.end),
        "entryPage": &s.entry_page,
        "exitPage": &s.exit_page,
        "pageviews": i64::from(s.pageviews),
        "events": i64::from(s.events),
        "customEvents": i64::from(s.custom_events),
        "engagedMs": u64_i64(s.engaged_ms),
        "hostname": &s.hostname,
    };
    put_opt_str(&mut d, "referrer", &s.referrer);
    put_opt_str(&mut d, "source", &s.source);
    put_opt_str(&mut d, "utmSource", &s.utm.source);
    put_opt_str(&mut d, "utmMedium", &s.utm.medium);
    put_opt_str(&mut d, "utmCampaign", &s.utm.campaign);
    put_opt_str(&mut d, "utmTerm", &s.utm.term);
    put_opt_str(&mut d, "utmContent", &s.utm.content);
    put_client(&mut d, &s.client);
    put_geo(&mut d, &s.geo);
    if let Some(w) = s.screen_width {
        d.insert("screenWidth", i64::from(w));
    }
    d.insert("entryKey", event_key_doc(&s.entry_key));
    d.insert("exitKey", event_key_doc(&s.exit_key));
    // Same bits as the u64 digests, in the same (u64-sorted) order: decoding restores the order
    // `fold` binary-searches in.
    let applied: Vec<Bson> = s.applied.iter().map(|&x| Bson::Int64(x as i64)).collect();
    d.insert("applied", applied);
    put_trail(&mut d, s.start, &s.trail);
    d
}

/// The prefix of a trail step's value in [`TRAIL_STEPS`]: a page view's path.
pub const PAGE_PREFIX: &str = "p";
/// The prefix of a trail step's value in [`TRAIL_STEPS`]: a custom event's name.
pub const EVENT_PREFIX: &str = "e";
/// A session's trail as a pipeline reads it (funnels, journeys): one string per step, the kind's
/// prefix ([`PAGE_PREFIX`], [`EVENT_PREFIX`]) then the path or name, in event order. Every
/// `"p..."` sorts after every `"e..."`, so sorting these strings sorts steps by kind then value.
pub const TRAIL_STEPS: &str = "trailSteps";
/// Per step of [`TRAIL_STEPS`], its time in ms since the session's start (Int32, Int64 past
/// 24 days): a funnel's times between steps are differences of these.
pub const TRAIL_AT: &str = "trailAt";
/// Per step of [`TRAIL_STEPS`], its event id: with the time and the kind, the order key
/// [`store::sessions::fold`] keeps the trail sorted by. No pipeline reads it.
pub const TRAIL_IDS: &str = "trailIds";
/// The trail as sessions written before [`TRAIL_STEPS`] existed hold it (`store::trail`'s
/// bytes), read by [`session_from`] until the store's migration rewrote them
/// ([`crate::trails`]).
pub const OLD_TRAIL: &str = "trail";

/// Writes the trail as three parallel arrays (see [`TRAIL_STEPS`]). Measured on SecantusDB
/// (flows bench, 107k events): trails as one sub-document per step made the documents about twice
/// the size and every pipeline reading them 30-90% slower; the `store::trail` binary was small but
/// no pipeline can read it. Arrays of scalars are what `$indexOfArray`, `$arrayElemAt` and
/// `$slice` walk without evaluating an expression per step.
fn put_trail(d: &mut Document, start: Millis, trail: &[TrailStep]) {
    let mut steps = Vec::with_capacity(trail.len());
    let mut at = Vec::with_capacity(trail.len());
    let mut ids = Vec::with_capacity(trail.len());
    for step in trail {
        let prefix = if step.key.rank == PAGE_RANK {
            PAGE_PREFIX
        } else {
            EVENT_PREFIX
        };
        steps.push(Bson::String(format!("{prefix}{}", step.value)));
        let offset = step.key.at - start;
        at.push(match i32::try_from(offset) {
            Ok(small) => Bson::Int32(small),
            Err(_) => Bson::Int64(offset),
        });
        ids.push(Bson::String(step.key.id.clone()));
    }
    d.insert(TRAIL_STEPS, steps);
    d.insert(TRAIL_AT, at);
    d.insert(TRAIL_IDS, ids);
}

/// Whether a stored session holds its trail as [`TRAIL_STEPS`] (what the migration looks for).
pub fn has_trail_arrays(session: &Document) -> bool {
    session.contains_key(TRAIL_STEPS)
}

/// A session's trail: the arrays ([`TRAIL_STEPS`]) or, in a document the migration has not
/// rewritten yet, the older binary. Sessions written before trails existed have neither: they
/// read as empty, and the migration rebuilds them from the events.
fn trail_from(r: &Reader, start: Millis) -> Decoded<Vec<TrailStep>> {
    if r.opt(TRAIL_STEPS).is_some() {
        return trail_arrays_from(r, start);
    }
    match r.opt(OLD_TRAIL) {
        None => Ok(Vec::new()),
        Some(Bson::Binary(b)) => store::trail::decode(start, &b.bytes).map_err(|_| r.err("trail is malformed")),
        Some(other) => Err(r.err(format!("trail is {:?}, not binary", other.element_type()))),
    }
}

fn trail_arrays_from(r: &Reader, start: Millis) -> Decoded<Vec<TrailStep>> {
    let (steps, at, ids) = (r.array(TRAIL_STEPS)?, r.array(TRAIL_AT)?, r.array(TRAIL_IDS)?);
    if steps.len() != at.len() || steps.len() != ids.len() {
        return Err(r.err("trail arrays differ in length"));
    }
    steps
        .iter()
        .zip(at)
        .zip(ids)
        .map(|((step, at), id)| {
            let (Bson::String(step), Bson::String(id)) = (step, id) else {
                return Err(r.err("trail holds a non-string step or id"));
            };
            let (rank, value) = if let Some(path) = step.strip_prefix(PAGE_PREFIX) {
                (PAGE_RANK, path)
            } else if let Some(name) = step.strip_prefix(EVENT_PREFIX) {
                (EVENT_RANK, name)
            } else {
                return Err(r.err("trail step without its kind"));
            };
            let offset = match at {
                Bson::Int32(n) => i64::from(*n),
                Bson::Int64(n) => *n,
                _ => return Err(r.err("trail time is not an integer")),
            };
            Ok(TrailStep {
                key: EventKey {
                    at: start + offset,
                    rank,
                    id: id.clone(),
                },
                value: value.to_owned(),
            })
        })
        .collect()
}

pub fn session_from(d: &Document, project_id: ProjectId, visitor_id: VisitorId) -> Decoded<Session> {
    let r = Reader::new("visitor_sessions", d);
    let start = r.date("start")?;
    let applied = r
        .array("applied")?
        .iter()
        .map(|b| match b {
            Bson::Int64(n) => Ok(*n as u64),
            _ => Err(r.err("applied holds a non-Int64")),
        })
        .collect::<Decoded<Vec<u64>>>()?;
    if !applied.is_sorted() {
        // `fold` binary-searches this list: unsorted, it would fold events twice.
        return Err(r.err("applied is not sorted"));
    }
    Ok(Session {
        id: r.str("id")?,
        project_id,
        visitor_id,
        start,
        end: r.date("end")?,
        entry_page: r.str("entryPage")?,
        entry_key: event_key_from(&r, "entryKey")?,
        exit_page: r.str("exitPage")?,
        exit_key: event_key_from(&r, "exitKey")?,
        pageviews: r.int("pageviews")?,
        events: r.int("events")?,
        custom_events: r.int("customEvents")?,
        engaged_ms: r.int("engagedMs")?,
        hostname: r.str("hostname")?,
        referrer: r.opt_str("referrer")?,
        source: r.opt_str("source")?,
        utm: Utm {
            source: r.opt_str("utmSource")?,
            medium: r.opt_str("utmMedium")?,
            campaign: r.opt_str("utmCampaign")?,
            term: r.opt_str("utmTerm")?,
            content: r.opt_str("utmContent")?,
        },
        client: client_from(&r)?,
        geo: geo_from(&r)?,
        screen_width: r.opt_int("screenWidth")?,
        applied,
        trail: trail_from(&r, start)?,
    })
}

/// A `visitor_sessions` document as read: its revision and its sessions.
pub struct VisitorDoc {
    pub project_id: ProjectId,
    pub visitor_id: VisitorId,
    pub rev: i64,
    pub sessions: Vec<Session>,
}

pub fn visitor_from(d: &Document) -> Decoded<VisitorDoc> {
    let r = Reader::new("visitor_sessions", d);
    let project_id = ProjectId::from_bytes(r.oid("projectId")?);
    let visitor_id = VisitorId(r.i64("visitorId")? as u64);
    let sessions = r
        .array("sessions")?
        .iter()
        .map(|b| match b {
            Bson::Document(s) => session_from(s, project_id, visitor_id),
            _ => Err(r.err("sessions holds a non-document")),
        })
        .collect::<Decoded<Vec<_>>>()?;
    Ok(VisitorDoc {
        project_id,
        visitor_id,
        rev: r.i64("rev")?,
        sessions,
    })
}

pub fn sessions_bson(sessions: &[Session]) -> Vec<Bson> {
    sessions.iter().map(|s| Bson::Document(session_doc(s))).collect()
}

// --- rollups and dirty marks -----------------------------------------------------------------

/// The `_id` of a rollup row: `"<project hex>:<granularity code>:<bucket ms>:<dim len>:<dim>:<value>"`.
/// Deterministic, so rebuilding a bucket overwrites its rows in place; the dimension's length
/// keeps it unambiguous (a prop key may contain `:` or `=`). A string, not an embedded document,
/// for the reason given at [`visitor_key`].
pub fn rollup_key(project: &ProjectId, granularity: Granularity, bucket: Millis, dim: &str, value: &str) -> String {
    format!("{project}:{}:{bucket}:{}:{dim}:{value}", granularity.code(), dim.len())
}

/// The `_id` of a bucket's revision in `rollup_revs` (see [`crate::cache`]).
pub fn rollup_rev_key(project: &ProjectId, granularity: Granularity, bucket: Millis) -> String {
    format!("{project}:{}:{bucket}", granularity.code())
}

/// The `_id` of a project's revision in `rollup_revs` (see [`crate::cache`]): no `g`, no `b`, so
/// no bucket range ever matches it.
pub fn project_rev_key(project: &ProjectId) -> String {
    project.to_string()
}

/// One rollup row, `_id` included (see [`rollup_key`]).
pub fn rollup_doc(project: &ProjectId, granularity: Granularity, bucket: Millis, row: &RollupRow) -> Document {
    let dim = row.dim.key();
    let c = &row.counters;
    doc! {
        "_id": rollup_key(project, granularity, bucket, &dim, &row.value),
        "projectId": oid(project.bytes()),
        "g": granularity.code(),
        "d": dim,
        "b": date(bucket),
        "v": &row.value,
        "pageviews": u64_i64(c.pageviews),
        "customEvents": u64_i64(c.custom_events),
        "exits": u64_i64(c.exits),
        "exitDurationMs": u64_i64(c.exit_duration_ms),
        "scrollCount": u64_i64(c.scroll_count),
        "scrollSum": u64_i64(c.scroll_sum),
        "visits": u64_i64(c.visits),
        "bounces": u64_i64(c.bounces),
        "visitDurationMs": u64_i64(c.visit_duration_ms),
        "sessionPageviews": u64_i64(c.session_pageviews),
        "n": u64_i64(row.visitors.estimate()),
        "x": row.visitors.is_exact(),
        "sketch": Binary { subtype: BinarySubtype::Generic, bytes: row.visitors.to_bytes() },
    }
}

/// The fields [`rollup_summary_from`] reads: every one but the sketch, which is most of a
/// row's bytes and is what ranking a dimension's values avoids reading.
pub fn rollup_summary_projection() -> Document {
    doc! { "sketch": 0 }
}

/// Rough size of [`rollup_doc`]'s document, to bound the bytes of one write command.
pub fn rollup_doc_bytes(row: &RollupRow) -> usize {
    400 + 2 * (row.value.len() + row.dim.key().len()) + row.visitors.to_bytes().len()
}

pub fn rollup_from(d: &Document) -> Decoded<StoredRollup> {
    let r = Reader::new("rollups", d);
    let dim = r.parse("d", |s| RollupDim::parse_key(s).ok_or(()))?;
    let sketch = match r.get("sketch")? {
        Bson::Binary(b) => Sketch::from_bytes(&b.bytes).map_err(|e| r.err(e.to_string()))?,
        other => return Err(r.err(format!("sketch is {:?}, not binary", other.element_type()))),
    };
    Ok(StoredRollup {
        bucket: r.date("b")?,
        row: RollupRow {
            dim,
            value: r.str("v")?,
            counters: rollup_counters(&r)?,
            visitors: sketch,
        },
    })
}

fn rollup_counters(r: &Reader<'_>) -> Decoded<Counters> {
    Ok(Counters {
        pageviews: r.int("pageviews")?,
        custom_events: r.int("customEvents")?,
        exits: r.int("exits")?,
        exit_duration_ms: r.int("exitDurationMs")?,
        scroll_count: r.int("scrollCount")?,
        scroll_sum: r.int("scrollSum")?,
        visits: r.int("visits")?,
        bounces: r.int("bounces")?,
        visit_duration_ms: r.int("visitDurationMs")?,
        session_pageviews: r.int("sessionPageviews")?,
    })
}

/// A row read with [`rollup_summary_projection`]. `Ok(None)` for a row written before rollups
/// carried `n` and `x` (the visitor count and whether it is exact): its summary needs its sketch.
pub fn rollup_summary_from(d: &Document) -> Decoded<Option<RollupSummary>> {
    let r = Reader::new("rollups", d);
    let (Some(_), Some(exact)) = (r.opt("n"), r.opt("x")) else {
        return Ok(None);
    };
    let exact = match exact {
        Bson::Boolean(b) => *b,
        other => return Err(r.err(format!("x is {:?}, not a boolean", other.element_type()))),
    };
    Ok(Some(RollupSummary {
        bucket: r.date("b")?,
        value: r.str("v")?,
        counters: rollup_counters(&r)?,
        visitors: r.int("n")?,
        visitors_exact: exact,
    }))
}

/// The `_id` of a dirty mark: `"<project hex>:<hour ms>"`.
pub fn dirty_key(project: &ProjectId, hour: Millis) -> String {
    format!("{project}:{hour}")
}

/// Bits of [`DirtyHour::version`] holding the stored `version` counter; the bits above hold the
/// mark's random `epoch` (see the crate documentation).
pub const DIRTY_VERSION_BITS: u32 = 32;

/// The version a caller sees: the mark's epoch and its counter in one number.
pub fn dirty_version(epoch: i64, counter: i64) -> i64 {
    (epoch << DIRTY_VERSION_BITS) | (counter & ((1 << DIRTY_VERSION_BITS) - 1))
}

pub fn dirty_from(d: &Document) -> Decoded<DirtyHour> {
    let r = Reader::new("rollup_dirty", d);
    Ok(DirtyHour {
        project: ProjectId::from_bytes(r.oid("projectId")?),
        hour: r.date("hour")?,
        version: dirty_version(r.i64("epoch")?, r.i64("version")?),
    })
}

/// A `rollup_revs` document: its bucket and revision.
pub fn rollup_rev_from(d: &Document) -> Decoded<(Millis, i64)> {
    let r = Reader::new("rollup_revs", d);
    Ok((r.date("b")?, r.i64("rev")?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::sessions::{fold, testing::event};

    #[test]
    fn events_round_trip_with_and_without_optional_fields() {
        let p = ProjectId::from_bytes([7; 12]);
        let mut e = event(p, u64::MAX - 3, "x-1", "page_exit", 1_700_000_000_123, "/a");
        assert_eq!(event_from(&event_doc(&e)).unwrap(), e);
        e.referrer = Some("https://r.example/".into());
        e.utm.campaign = Some("c".into());
        e.props.insert("plan".into(), "pro".into());
        e.scroll_depth = Some(99);
        e.geo = Geo {
            country: Some("FR".into()),
            asn: Some(u32::MAX),
            ..Geo::default()
        };
        e.client.device = Device::Tablet;
        assert_eq!(event_from(&event_doc(&e)).unwrap(), e);
    }

    #[test]
    fn sessions_round_trip_and_keep_digest_order() {
        let p = ProjectId::from_bytes([7; 12]);
        let events: Vec<_> = (0..50)
            .map(|i| event(p, u64::MAX, &format!("e{i}"), "pageview", i * 1000, "/"))
            .collect();
        let refs: Vec<_> = events.iter().collect();
        let sessions = fold(vec![], &refs, &mut || "s".into()).sessions;
        // Digests spread over the whole u64 range: half of them are negative as i64.
        assert!(sessions[0].applied.iter().any(|&d| (d as i64) < 0));
        let back = session_from(&session_doc(&sessions[0]), p, VisitorId(u64::MAX)).unwrap();
        assert_eq!(back, sessions[0]);
    }
}
