//! Rows to records and back. Column lists and the decoding that reads them live side by side so
//! that the column indices cannot drift apart.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use contract::enrich::{ClientInfo, Device, Utm, VisitorId};
use contract::enriched::{EnrichedEvent, Geo};
use contract::ids::{EventId, ProjectId};
use contract::keys::{KeyHash, KeyPreview};
use rusqlite::types::Type;
use rusqlite::{params, Row, Statement};
use store::sessions::{EventKey, Session};
use store::{
    AuthToken, Domain, Email, KeyId, KeyRecord, Name, Project, ShareId, ShareLink, ShareSlug, TimeZoneName, TokenKind,
    User, UserId,
};
use store::{Millis, StoreError};

/// A stored value that does not parse back: the file was edited by hand or written by a buggy
/// build. Reported, never papered over.
#[derive(Debug, thiserror::Error)]
#[error("stored {0} is invalid")]
pub(crate) struct Invalid(pub(crate) &'static str);

pub(crate) fn invalid(col: usize, what: &'static str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(col, Type::Blob, Box::new(Invalid(what)))
}

pub(crate) fn id12(row: &Row<'_>, col: usize, what: &'static str) -> rusqlite::Result<[u8; 12]> {
    row.get_ref(col)?.as_blob()?.try_into().map_err(|_| invalid(col, what))
}

/// Visitor ids use all 64 bits; SQLite integers are signed. A bit-cast keeps every value and
/// equality, which is all the queries need.
pub(crate) fn visitor_to_sql(v: VisitorId) -> i64 {
    v.0 as i64
}

fn visitor_from_sql(row: &Row<'_>, col: usize) -> rusqlite::Result<VisitorId> {
    Ok(VisitorId(row.get::<_, i64>(col)? as u64))
}

pub(crate) fn device_from_str(s: &str) -> Option<Device> {
    Some(match s {
        "desktop" => Device::Desktop,
        "mobile" => Device::Mobile,
        "tablet" => Device::Tablet,
        "other" => Device::Other,
        _ => return None,
    })
}

// --- owners, tokens, projects, keys -------------------------------------------------------------

pub(crate) const USER_COLUMNS: &str = "id, email, password_hash, created_at";

pub(crate) fn user(row: &Row<'_>) -> rusqlite::Result<User> {
    let email: String = row.get(1)?;
    Ok(User {
        id: UserId::from_bytes(id12(row, 0, "user id")?),
        email: Email::parse(&email).map_err(|_| invalid(1, "email"))?,
        password_hash: row.get(2)?,
        created_at: row.get(3)?,
    })
}

pub(crate) const TOKEN_COLUMNS: &str = "token_hash, user_id, kind, label, created_at, expires_at";

pub(crate) fn auth_token(row: &Row<'_>) -> rusqlite::Result<AuthToken> {
    let kind: String = row.get(2)?;
    Ok(AuthToken {
        token_hash: row.get(0)?,
        user_id: UserId::from_bytes(id12(row, 1, "user id")?),
        kind: TokenKind::parse(&kind).ok_or_else(|| invalid(2, "token kind"))?,
        label: row.get(3)?,
        created_at: row.get(4)?,
        expires_at: row.get(5)?,
    })
}

pub(crate) const PROJECT_COLUMNS: &str = "id, owner_id, name, created_at, domain, timezone";

pub(crate) fn project(row: &Row<'_>) -> rusqlite::Result<Project> {
    let name: String = row.get(2)?;
    let domain: Option<String> = row.get(4)?;
    let timezone: String = row.get(5)?;
    Ok(Project {
        id: ProjectId::from_bytes(id12(row, 0, "project id")?),
        owner: UserId::from_bytes(id12(row, 1, "owner id")?),
        name: Name::parse(&name).map_err(|_| invalid(2, "project name"))?,
        domain: domain
            .map(|d| Domain::parse(&d).map_err(|_| invalid(4, "project domain")))
            .transpose()?,
        timezone: TimeZoneName::parse(&timezone).map_err(|_| invalid(5, "project time zone"))?,
        created_at: row.get(3)?,
    })
}

pub(crate) const SHARE_COLUMNS: &str = "id, project_id, slug, label, password_hash, created_at";

pub(crate) fn share_link(row: &Row<'_>) -> rusqlite::Result<ShareLink> {
    let slug: String = row.get(2)?;
    let label: String = row.get(3)?;
    Ok(ShareLink {
        id: ShareId::from_bytes(id12(row, 0, "share link id")?),
        project_id: ProjectId::from_bytes(id12(row, 1, "project id")?),
        slug: ShareSlug::parse(&slug).ok_or_else(|| invalid(2, "share link slug"))?,
        label: Name::parse(&label).map_err(|_| invalid(3, "share link label"))?,
        password_hash: row.get(4)?,
        created_at: row.get(5)?,
    })
}

pub(crate) const KEY_COLUMNS: &str =
    "id, project_id, label, key_hash, key_preview, created_at, last_used_at, revoked_at";

pub(crate) fn key(row: &Row<'_>) -> rusqlite::Result<KeyRecord> {
    let label: String = row.get(2)?;
    let hash: String = row.get(3)?;
    Ok(KeyRecord {
        id: KeyId::from_bytes(id12(row, 0, "key id")?),
        project_id: ProjectId::from_bytes(id12(row, 1, "project id")?),
        label: Name::parse(&label).map_err(|_| invalid(2, "key label"))?,
        key_hash: KeyHash::parse(&hash).map_err(|_| invalid(3, "key hash"))?,
        key_preview: KeyPreview::from_stored(row.get(4)?),
        created_at: row.get(5)?,
        last_used_at: row.get(6)?,
        revoked_at: row.get(7)?,
    })
}

// --- events -------------------------------------------------------------------------------------

pub(crate) const EVENT_COLUMNS: &str = "project_id, event_id, name, occurred_at, received_at, visitor_id, \
     hostname, path, url, referrer, source, utm_source, utm_medium, utm_campaign, utm_term, \
     utm_content, props, duration_ms, scroll_depth, screen_width, browser, browser_version, os, \
     os_version, device, country, region, city, timezone, colo, asn";

/// `INSERT` of one event, skipping an event id the project already has. `ON CONFLICT ... DO
/// NOTHING` rather than `INSERT OR IGNORE`: it ignores only that one uniqueness rule, so any other
/// failed constraint is an error instead of an event silently counted as a duplicate.
pub(crate) static INSERT_EVENT: LazyLock<String> = LazyLock::new(|| {
    let placeholders: Vec<String> = (1..=31).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT INTO events ({EVENT_COLUMNS}) VALUES ({}) ON CONFLICT (project_id, event_id) DO NOTHING",
        placeholders.join(", ")
    )
});

/// Inserts one event with [`INSERT_EVENT`]; 1 if stored, 0 if the id was already there.
/// `params!` borrows every field in place: no allocation per column on the hot path.
pub(crate) fn insert_event(stmt: &mut Statement<'_>, e: &EnrichedEvent) -> rusqlite::Result<usize> {
    let props = props_json(&e.props);
    stmt.execute(params![
        e.project_id.bytes(),
        e.id.as_str(),
        e.name.as_str(),
        e.occurred_at,
        e.received_at,
        visitor_to_sql(e.visitor_id),
        e.hostname.as_str(),
        e.path.as_str(),
        e.url.as_str(),
        e.referrer.as_deref(),
        e.source.as_deref(),
        e.utm.source.as_deref(),
        e.utm.medium.as_deref(),
        e.utm.campaign.as_deref(),
        e.utm.term.as_deref(),
        e.utm.content.as_deref(),
        props.as_deref(),
        // u64 in the type, far below 2^63 in practice; the bit-cast keeps even absurd values.
        e.duration_ms.map(|d| d as i64),
        e.scroll_depth,
        e.screen_width,
        e.client.browser.as_str(),
        e.client.browser_version.as_str(),
        e.client.os.as_str(),
        e.client.os_version.as_str(),
        e.client.device.as_str(),
        e.geo.country.as_deref(),
        e.geo.region.as_deref(),
        e.geo.city.as_deref(),
        e.geo.timezone.as_deref(),
        e.geo.colo.as_deref(),
        e.geo.asn,
    ])
}

/// Props as compact JSON, or `None` (SQL NULL) for the usual empty map.
pub(crate) fn props_json(props: &BTreeMap<String, String>) -> Option<String> {
    (!props.is_empty()).then(|| serde_json::to_string(props).expect("a map of strings serialises"))
}

pub(crate) fn event(row: &Row<'_>) -> rusqlite::Result<EnrichedEvent> {
    let event_id: String = row.get(1)?;
    let props = match row.get_ref(16)?.as_str_or_null()? {
        None => BTreeMap::new(),
        Some(json) => serde_json::from_str(json).map_err(|_| invalid(16, "props"))?,
    };
    let device = row.get_ref(24)?.as_str()?;
    Ok(EnrichedEvent {
        id: EventId::parse(&event_id).map_err(|_| invalid(1, "event id"))?,
        project_id: ProjectId::from_bytes(id12(row, 0, "project id")?),
        name: row.get(2)?,
        occurred_at: row.get(3)?,
        received_at: row.get(4)?,
        visitor_id: visitor_from_sql(row, 5)?,
        hostname: row.get(6)?,
        path: row.get(7)?,
        url: row.get(8)?,
        referrer: row.get(9)?,
        source: row.get(10)?,
        utm: Utm {
            source: row.get(11)?,
            medium: row.get(12)?,
            campaign: row.get(13)?,
            term: row.get(14)?,
            content: row.get(15)?,
        },
        props,
        duration_ms: row.get::<_, Option<i64>>(17)?.map(|d| d as u64),
        scroll_depth: row.get(18)?,
        screen_width: row.get(19)?,
        client: ClientInfo {
            browser: row.get(20)?,
            browser_version: row.get(21)?,
            os: row.get(22)?,
            os_version: row.get(23)?,
            device: device_from_str(device).ok_or_else(|| invalid(24, "device"))?,
        },
        geo: Geo {
            country: row.get(25)?,
            region: row.get(26)?,
            city: row.get(27)?,
            timezone: row.get(28)?,
            colo: row.get(29)?,
            asn: row.get(30)?,
        },
    })
}

// --- sessions -----------------------------------------------------------------------------------

pub(crate) const SESSION_COLUMNS: &str = "id, project_id, visitor_id, start_at, end_at, entry_page, \
     exit_page, pageviews, events, custom_events, engaged_ms, hostname, referrer, source, \
     utm_source, utm_medium, utm_campaign, utm_term, utm_content, browser, browser_version, os, \
     os_version, device, country, region, city, timezone, colo, asn, screen_width, entry_key, \
     exit_key, applied";

const SESSION_PARAMS: usize = 34;

/// What reads of a session select, from `sessions` as `s`: its columns, then its trail from
/// `session_trails` (empty for a session with no page view or custom event yet written).
pub(crate) static SESSION_SELECT: LazyLock<String> = LazyLock::new(|| {
    format!("{SESSION_COLUMNS}, coalesce((SELECT t.trail FROM session_trails t WHERE t.seq = s.seq), x'')")
});

/// Writes a session's trail, by the session's `seq` (what the session's own write returns).
pub(crate) const UPSERT_TRAIL: &str = "INSERT INTO session_trails (seq, project_id, start_at, visitor_id, trail) \
     VALUES (?1, ?2, ?3, ?4, ?5) \
     ON CONFLICT (seq) DO UPDATE SET start_at = excluded.start_at, trail = excluded.trail";

/// Insert or overwrite one session by id: for new sessions and for sessions whose start moved.
/// The owner (project, visitor) of an id never changes, so the update leaves those alone.
pub(crate) static UPSERT_SESSION: LazyLock<String> = LazyLock::new(|| {
    let placeholders: Vec<String> = (1..=SESSION_PARAMS).map(|i| format!("?{i}")).collect();
    let updates: Vec<String> = SESSION_COLUMNS
        .split(',')
        .map(str::trim)
        .filter(|c| !matches!(*c, "id" | "project_id" | "visitor_id"))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ({}) ON CONFLICT (id) DO UPDATE SET {} RETURNING seq",
        placeholders.join(", "),
        updates.join(", ")
    )
});

/// Update of a stored session whose start did not move: the common case, an event appended to a
/// visit. SQLite rewrites the entries of every index whose columns appear in `SET`, whatever the
/// values, so leaving `start_at` (and the owner) out spares two index writes, one of them to a
/// random page of `sessions_visitor`, per session per batch. Same parameter numbers as
/// [`UPSERT_SESSION`], so [`write_session`] binds both.
pub(crate) static UPDATE_SESSION: LazyLock<String> = LazyLock::new(|| {
    let updates: Vec<String> = SESSION_COLUMNS
        .split(',')
        .map(str::trim)
        .enumerate()
        .filter(|(_, c)| !matches!(*c, "id" | "project_id" | "visitor_id" | "start_at"))
        .map(|(i, c)| format!("{c} = ?{}", i + 1))
        .collect();
    // ?2 to ?4 go unused (SQLite allows gaps in numbered parameters): one binding function
    // serves both statements.
    format!("UPDATE sessions SET {} WHERE id = ?1 RETURNING seq", updates.join(", "))
});

/// A session id as stored: the 12 bytes behind its 24 hex characters.
pub(crate) fn session_id_bytes(id: &str) -> Result<[u8; 12], Invalid> {
    contract::decode_hex(id)
        .and_then(|b| b.try_into().ok())
        .filter(|_| id.len() == 24)
        .ok_or(Invalid("session id"))
}

/// Order key: 8-byte big-endian time, 1-byte rank, then the event id's bytes.
fn key_bytes(k: &EventKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + k.id.len());
    out.extend_from_slice(&k.at.to_be_bytes());
    out.push(k.rank);
    out.extend_from_slice(k.id.as_bytes());
    out
}

fn key_from_bytes(b: &[u8]) -> Option<EventKey> {
    let at = i64::from_be_bytes(b.get(..8)?.try_into().ok()?);
    let rank = *b.get(8)?;
    let id = std::str::from_utf8(&b[9..]).ok()?.to_owned();
    Some(EventKey { at, rank, id })
}

/// Digests as 8 bytes little-endian each: 8 bytes per event instead of ~20 as JSON numbers.
fn applied_bytes(applied: &[u64]) -> Vec<u8> {
    applied.iter().flat_map(|d| d.to_le_bytes()).collect()
}

fn applied_from_bytes(b: &[u8]) -> Option<Vec<u64>> {
    if !b.len().is_multiple_of(8) {
        return None;
    }
    Some(
        b.chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect(),
    )
}

/// Writes one session with [`UPSERT_SESSION`] or [`UPDATE_SESSION`], and its trail with
/// [`UPSERT_TRAIL`] unless `trail` is `None` (the stored one is still true).
pub(crate) fn write_session(
    stmt: &mut Statement<'_>,
    trail: Option<&mut Statement<'_>>,
    s: &Session,
) -> Result<(), StoreError> {
    let id = session_id_bytes(&s.id).map_err(StoreError::backend)?;
    let seq: i64 = stmt
        .query_row(
            params![
                id,
                s.project_id.bytes(),
                visitor_to_sql(s.visitor_id),
                s.start,
                s.end,
                s.entry_page.as_str(),
                s.exit_page.as_str(),
                s.pageviews,
                s.events,
                s.custom_events,
                s.engaged_ms as i64,
                s.hostname.as_str(),
                s.referrer.as_deref(),
                s.source.as_deref(),
                s.utm.source.as_deref(),
                s.utm.medium.as_deref(),
                s.utm.campaign.as_deref(),
                s.utm.term.as_deref(),
                s.utm.content.as_deref(),
                s.client.browser.as_str(),
                s.client.browser_version.as_str(),
                s.client.os.as_str(),
                s.client.os_version.as_str(),
                s.client.device.as_str(),
                s.geo.country.as_deref(),
                s.geo.region.as_deref(),
                s.geo.city.as_deref(),
                s.geo.timezone.as_deref(),
                s.geo.colo.as_deref(),
                s.geo.asn,
                s.screen_width,
                key_bytes(&s.entry_key),
                key_bytes(&s.exit_key),
                applied_bytes(&s.applied),
            ],
            |r| r.get(0),
        )
        .map_err(StoreError::backend)?;
    let Some(trail) = trail else { return Ok(()) };
    trail
        .execute(params![
            seq,
            s.project_id.bytes(),
            s.start,
            visitor_to_sql(s.visitor_id),
            store::trail::encode(s.start, &s.trail)
        ])
        .map_err(StoreError::backend)?;
    Ok(())
}

pub(crate) fn session(row: &Row<'_>) -> rusqlite::Result<Session> {
    let device = row.get_ref(23)?.as_str()?;
    let start: Millis = row.get(3)?;
    Ok(Session {
        id: contract::encode_hex(&id12(row, 0, "session id")?),
        project_id: ProjectId::from_bytes(id12(row, 1, "project id")?),
        visitor_id: visitor_from_sql(row, 2)?,
        start,
        end: row.get(4)?,
        entry_page: row.get(5)?,
        exit_page: row.get(6)?,
        pageviews: row.get(7)?,
        events: row.get(8)?,
        custom_events: row.get(9)?,
        engaged_ms: row.get::<_, i64>(10)? as u64,
        hostname: row.get(11)?,
        referrer: row.get(12)?,
        source: row.get(13)?,
        utm: Utm {
            source: row.get(14)?,
            medium: row.get(15)?,
            campaign: row.get(16)?,
            term: row.get(17)?,
            content: row.get(18)?,
        },
        client: ClientInfo {
            browser: row.get(19)?,
            browser_version: row.get(20)?,
            os: row.get(21)?,
            os_version: row.get(22)?,
            device: device_from_str(device).ok_or_else(|| invalid(23, "device"))?,
        },
        geo: Geo {
            country: row.get(24)?,
            region: row.get(25)?,
            city: row.get(26)?,
            timezone: row.get(27)?,
            colo: row.get(28)?,
            asn: row.get(29)?,
        },
        screen_width: row.get(30)?,
        entry_key: key_from_bytes(row.get_ref(31)?.as_blob()?).ok_or_else(|| invalid(31, "entry key"))?,
        exit_key: key_from_bytes(row.get_ref(32)?.as_blob()?).ok_or_else(|| invalid(32, "exit key"))?,
        applied: applied_from_bytes(row.get_ref(33)?.as_blob()?).ok_or_else(|| invalid(33, "applied digests"))?,
        trail: store::trail::decode(start, row.get_ref(34)?.as_blob()?).map_err(|_| invalid(34, "trail"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookkeeping_blobs_round_trip() {
        let key = EventKey {
            at: -5,
            rank: 2,
            id: "abc-_9".into(),
        };
        assert_eq!(key_from_bytes(&key_bytes(&key)), Some(key));
        let applied = vec![0, 1, u64::MAX];
        assert_eq!(applied_from_bytes(&applied_bytes(&applied)), Some(applied));
        assert_eq!(applied_from_bytes(&[1, 2, 3]), None);
        assert_eq!(key_from_bytes(&[0; 8]), None);
    }

    #[test]
    fn session_ids_are_12_bytes_of_hex() {
        assert_eq!(session_id_bytes("000102030405060708090a0b").unwrap()[11], 11);
        assert!(session_id_bytes("0001").is_err());
        assert!(session_id_bytes("zz0102030405060708090a0b").is_err());
    }

    #[test]
    fn column_lists_match_parameter_counts() {
        assert_eq!(EVENT_COLUMNS.split(',').count(), 31);
        assert_eq!(SESSION_COLUMNS.split(',').count(), SESSION_PARAMS);
        for d in [Device::Desktop, Device::Mobile, Device::Tablet, Device::Other] {
            assert_eq!(device_from_str(d.as_str()), Some(d));
        }
    }
}
