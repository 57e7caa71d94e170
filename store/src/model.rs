//! The collector's records, with parsed fields so that a stored record is always valid.

use contract::ids::ProjectId;
use contract::keys::{KeyHash, KeyPreview};

use crate::{KeyId, Millis, ShareId, UserId};

/// Longest email address (RFC 5321 path limit).
pub const MAX_EMAIL_BYTES: usize = 254;
/// Longest project name or key label, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest hostname (RFC 1035: 255 bytes on the wire, 253 as text).
pub const MAX_DOMAIN_BYTES: usize = 253;
/// Longest label of a hostname (RFC 1035).
pub const MAX_DOMAIN_LABEL_BYTES: usize = 63;
/// Characters of a [`ShareSlug`]: 22 of 62 symbols are ~131 bits, beyond guessing.
pub const SHARE_SLUG_CHARS: usize = 22;

/// An email address, trimmed and lower-cased: one account per address whatever its case.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let s = s.trim().to_lowercase();
        if s.len() > MAX_EMAIL_BYTES {
            return Err("email is longer than 254 bytes");
        }
        let (local, domain) = s.split_once('@').ok_or("email has no '@'")?;
        let ok = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            && !domain.contains('@');
        if ok {
            Ok(Self(s))
        } else {
            Err("email is not a valid address")
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A project name or key label: 1 to [`MAX_NAME_CHARS`] characters, trimmed, no control characters.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Name(String);

impl Name {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let s = s.trim();
        if s.is_empty() {
            Err("must not be empty")
        } else if s.chars().count() > MAX_NAME_CHARS {
            Err("is longer than 100 characters")
        } else if s.chars().any(char::is_control) {
            Err("contains a control character")
        } else {
            Ok(Self(s.to_owned()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An owner account.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub created_at: Millis,
}

/// A site's hostname, lower-cased (`example.com`, `blog.example.com`, `localhost`), as the owner
/// tells the dashboard which site a project measures.
///
/// Owners paste what their address bar shows, so a leading `http://` or `https://` and a trailing
/// `/` are accepted and dropped; anything else that is not a hostname (a port, a path, a query) is
/// refused rather than cut off, since guessing which part was meant could pick the wrong site.
/// Internationalised names must be given in their ASCII (`xn--`) form, the form events carry.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Domain(String);

impl Domain {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        // ASCII only: `to_lowercase` would turn some non-ASCII letters (the Kelvin sign) into
        // ASCII ones and accept a name no browser sends.
        let s = s.trim().to_ascii_lowercase();
        let host = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .unwrap_or(&s);
        let host = host.strip_suffix('/').unwrap_or(host);
        if host.is_empty() {
            return Err("must not be empty");
        }
        if host.contains("://") {
            return Err("must be a hostname, or start with http:// or https://");
        }
        if host.contains(['/', '?', '#']) {
            return Err("must be a hostname without a path");
        }
        if host.contains(':') {
            return Err("must be a hostname without a port");
        }
        if host.len() > MAX_DOMAIN_BYTES {
            return Err("is longer than 253 bytes");
        }
        if host != "localhost" && !host.contains('.') {
            return Err("must have at least two labels, like example.com");
        }
        for label in host.split('.') {
            if label.is_empty() {
                return Err("has an empty label");
            }
            if label.len() > MAX_DOMAIN_LABEL_BYTES {
                return Err("has a label longer than 63 bytes");
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err("may only contain letters, digits, '-' and '.'");
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err("has a label starting or ending with '-'");
            }
        }
        Ok(Self(host.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone name (`Europe/Berlin`, `UTC`) that `chrono_tz` knows: the zone a project's
/// dashboard shows its days and hours in. Checked when parsed, so a stored project always names a
/// zone the query engine can resolve.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TimeZoneName(chrono_tz::Tz);

impl TimeZoneName {
    /// Exactly as IANA spells it (the names are case-sensitive); surrounding spaces are ignored.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        s.trim()
            .parse::<chrono_tz::Tz>()
            .map(Self)
            .map_err(|_| "is not an IANA time zone name, like Europe/Berlin")
    }
    /// What a project has until its owner picks a zone (and what projects stored before time
    /// zones existed read back with).
    pub fn utc() -> Self {
        Self(chrono_tz::Tz::UTC)
    }
    pub fn as_str(&self) -> &'static str {
        self.0.name()
    }
    /// The zone, for date arithmetic.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.0
    }
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Project {
    pub id: ProjectId,
    pub owner: UserId,
    pub name: Name,
    /// The site's hostname, if the owner gave one.
    pub domain: Option<Domain>,
    /// The zone the dashboard shows this project's days and hours in.
    pub timezone: TimeZoneName,
    pub created_at: Millis,
}

/// An ingestion key as stored: its hash and preview, never the key.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct KeyRecord {
    pub id: KeyId,
    pub project_id: ProjectId,
    pub label: Name,
    pub key_hash: KeyHash,
    pub key_preview: KeyPreview,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

/// What an [`AuthToken`] is for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TokenKind {
    /// A browser login, carried in an HttpOnly cookie.
    Login,
    /// A bearer token for scripts.
    Api,
}

impl TokenKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            TokenKind::Login => "login",
            TokenKind::Api => "api",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "login" => Some(TokenKind::Login),
            "api" => Some(TokenKind::Api),
            _ => None,
        }
    }
}

/// A login session or a bearer token, stored by the hex SHA-256 of the secret token.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AuthToken {
    pub token_hash: String,
    pub user_id: UserId,
    pub kind: TokenKind,
    pub label: String,
    pub created_at: Millis,
    /// `None`: valid until deleted.
    pub expires_at: Option<Millis>,
}

/// The public part of a share link's URL (`/share/<slug>`): whoever has it sees the project's
/// dashboard (after its password, if it has one). Random, not derived from any id, so one link
/// cannot be guessed from another.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ShareSlug(String);

impl ShareSlug {
    pub fn random() -> Self {
        use rand::Rng;
        let slug = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(SHARE_SLUG_CHARS)
            .map(char::from)
            .collect();
        Self(slug)
    }
    /// [`SHARE_SLUG_CHARS`] characters of `A-Za-z0-9`, or `None`.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == SHARE_SLUG_CHARS && s.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Only the first characters: the slug grants access to a dashboard, and `Debug` output ends up
/// in logs and panic messages. Enough to tell two slugs apart in a failing test.
impl std::fmt::Debug for ShareSlug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShareSlug({}…)", &self.0[..4])
    }
}

/// A read-only link to a project's dashboard.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ShareLink {
    pub id: ShareId,
    pub project_id: ProjectId,
    /// Unique among all share links.
    pub slug: ShareSlug,
    pub label: Name,
    /// Argon2id PHC string of the link's password; `None`: the link needs no password.
    pub password_hash: Option<String>,
    pub created_at: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(Email::parse(" Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@example",
            "ada@.com",
            "a da@example.com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("  Blog ").unwrap().as_str(), "Blog");
        assert!(Name::parse(" ").is_err());
        assert!(Name::parse(&"x".repeat(101)).is_err());
        assert!(Name::parse("a\u{7}b").is_err());
    }

    #[test]
    fn domains_accept_a_pasted_url_and_refuse_what_is_not_a_hostname() {
        for (input, domain) in [
            ("example.com", "example.com"),
            ("  Blog.Example.COM ", "blog.example.com"),
            ("https://example.com/", "example.com"),
            ("HTTP://www.example.co.uk", "www.example.co.uk"),
            ("localhost", "localhost"),
            ("http://localhost/", "localhost"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
            ("a-b.c0", "a-b.c0"),
        ] {
            assert_eq!(Domain::parse(input).unwrap().as_str(), domain, "{input}");
        }
        let label = "a".repeat(63);
        assert!(Domain::parse(&format!("{label}.com")).is_ok());
        let longest = format!("{label}.{label}.{label}.{}", "b".repeat(61));
        assert_eq!(longest.len(), 253);
        assert!(Domain::parse(&longest).is_ok());
        for bad in [
            "",
            "  ",
            "https://",
            "example",
            "localhost.",
            "example.com.",
            ".example.com",
            "a..b",
            "example.com:8080",
            "localhost:3000",
            "example.com/blog",
            "https://example.com/blog",
            "example.com//",
            "example.com?x=1",
            "ftp://example.com",
            "https://https://example.com",
            "ex ample.com",
            "ex_ample.com",
            "-example.com",
            "example-.com",
            "user@example.com",
            "bücher.example",
            "\u{212a}.com",
        ] {
            assert!(Domain::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Domain::parse(&format!("{}.com", "a".repeat(64))).is_err());
        assert!(Domain::parse(&format!("{longest}b")).is_err(), "254 bytes");
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(TimeZoneName::parse("Europe/Berlin").unwrap().as_str(), "Europe/Berlin");
        assert_eq!(
            TimeZoneName::parse(" America/New_York ").unwrap().as_str(),
            "America/New_York"
        );
        assert_eq!(TimeZoneName::parse("UTC").unwrap(), TimeZoneName::utc());
        assert_eq!(TimeZoneName::utc().as_str(), "UTC");
        assert_eq!(TimeZoneName::utc().tz(), chrono_tz::Tz::UTC);
        for bad in ["", "Berlin", "Europe/Atlantis", "+02:00", "europe/berlin"] {
            assert!(TimeZoneName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn share_slugs_are_22_alphanumerics() {
        let slug = ShareSlug::random();
        assert_eq!(slug.as_str().len(), SHARE_SLUG_CHARS);
        assert!(slug.as_str().bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(ShareSlug::random(), slug);
        assert_eq!(ShareSlug::parse(slug.as_str()), Some(slug.clone()));
        assert!(
            !format!("{slug:?}").contains(slug.as_str()),
            "Debug shows only a prefix"
        );
        for bad in [
            "",
            "abc",
            &"a".repeat(21),
            &"a".repeat(23),
            "aaaaaaaaaaaaaaaaaaaaa-",
            "aaaaaaaaaaaaaaaaaaaaaé",
        ] {
            assert!(ShareSlug::parse(bad).is_none(), "{bad:?}");
        }
    }
}
