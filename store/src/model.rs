//! The collector's records, with parsed fields so that a stored record is always valid.

use contract::ids::ProjectId;
use contract::keys::{KeyHash, KeyPreview};

use crate::{KeyId, Millis, UserId};

/// Longest email address (RFC 5321 path limit).
pub const MAX_EMAIL_BYTES: usize = 254;
/// Longest project name or key label, in characters.
pub const MAX_NAME_CHARS: usize = 100;

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

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Project {
    pub id: ProjectId,
    pub owner: UserId,
    pub name: Name,
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
}
