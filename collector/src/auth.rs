//! Owner authentication: argon2id password hashes, login sessions in an HttpOnly cookie, bearer
//! tokens for scripts. Session and bearer tokens are random 256-bit strings stored only as their
//! SHA-256, so a database leak does not hand out live sessions.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use store::{AuthToken, TokenKind, User};

use crate::error::AppError;
use crate::state::AppState;
use crate::Millis;

/// Name of the login cookie.
pub const SESSION_COOKIE: &str = "mtr_session";
/// How long a login lasts: 30 days.
pub const SESSION_TTL_MS: Millis = 30 * 24 * 3_600_000;
/// Shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted, in bytes (argon2 hashes anything, but a megabyte "password" is abuse).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Prefix of login session tokens.
const LOGIN_PREFIX: &str = "mts_";
/// Prefix of bearer tokens, so leaked ones are easy to grep for.
const API_PREFIX: &str = "mtt_";

/// Checks a new password's length.
pub fn check_password(password: &str) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::bad_request(
            "weak_password",
            format!("password: at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::bad_request(
            "invalid_password",
            format!("password: at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Argon2id PHC string of `password` with a fresh salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    // 16 bytes from the OS-seeded CSPRNG behind `rand::random`.
    let salt =
        SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| anyhow::anyhow!("encoding a salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Whether `password` matches the stored PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash that no password matches, checked when the email is unknown so that a login takes as
/// long for unknown accounts as for known ones.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no password matches this one").expect("argon2 works"))
}

/// hex(SHA-256(token)): how tokens are stored and looked up.
pub fn token_hash(token: &str) -> String {
    contract::encode_hex(&Sha256::digest(token.as_bytes()))
}

/// A new secret token and the record to store for it.
pub fn new_token(user: &User, kind: TokenKind, label: &str, now: Millis) -> (String, AuthToken) {
    let prefix = match kind {
        TokenKind::Login => LOGIN_PREFIX,
        TokenKind::Api => API_PREFIX,
    };
    let token = format!("{prefix}{}", contract::encode_hex(&rand::random::<[u8; 32]>()));
    let record = AuthToken {
        token_hash: token_hash(&token),
        user_id: user.id,
        kind,
        label: label.to_owned(),
        created_at: now,
        expires_at: match kind {
            TokenKind::Login => Some(now + SESSION_TTL_MS),
            TokenKind::Api => None,
        },
    };
    (token, record)
}

/// The `Set-Cookie` value of a login.
pub fn session_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{secure}",
        SESSION_TTL_MS / 1000
    )
}

/// The `Set-Cookie` value that ends a login.
pub fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{secure}")
}

/// The token a request carries: `Authorization: Bearer …`, else the login cookie.
pub fn presented_token(parts: &Parts) -> Option<String> {
    if let Some(auth) = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let token = auth.strip_prefix("Bearer ").or_else(|| auth.strip_prefix("bearer "))?;
        return Some(token.trim().to_owned());
    }
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The logged-in owner of a request (cookie or bearer token); 401 otherwise.
pub struct Owner {
    pub user: User,
    pub token_hash: String,
}

impl FromRequestParts<AppState> for Owner {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let unauthorized = || AppError::Unauthorized("log in or send Authorization: Bearer <token>".into());
        let token = presented_token(parts).ok_or_else(unauthorized)?;
        let hash = token_hash(&token);
        let record = state
            .store
            .auth_token(&hash, crate::now_ms())
            .await?
            .ok_or_else(unauthorized)?;
        let user = state
            .store
            .user_by_id(&record.user_id)
            .await?
            .ok_or_else(unauthorized)?;
        Ok(Owner { user, token_hash: hash })
    }
}

/// `Option<Owner>`: `None` for a request without a valid login or token (never a 401), for
/// endpoints that answer everyone (`GET /api/v1/session`).
impl axum::extract::OptionalFromRequestParts<AppState> for Owner {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, Self::Rejection> {
        match <Owner as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(owner) => Ok(Some(owner)),
            Err(AppError::Unauthorized(_)) => Ok(None),
            Err(other) => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("wrong horse battery", &phc));
        assert!(!verify_password("anything", "not a phc string"));
        assert!(!verify_password("no password matches", dummy_hash()));
    }

    #[test]
    fn weak_passwords_are_refused() {
        assert!(check_password("short").is_err());
        assert!(check_password("long enough pass").is_ok());
    }

    #[test]
    fn cookie_is_http_only_and_same_site() {
        let c = session_cookie("mts_abc", true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.ends_with("; Secure"));
        assert!(!session_cookie("mts_abc", false).contains("Secure"));
    }
}
