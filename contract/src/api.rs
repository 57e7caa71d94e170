//! The JSON bodies of the owners' HTTP API (`/api/v1/…`): accounts, sites, keys, tokens and share
//! links. (The query API's answer is `query::response`; its request is parsed field by field by
//! `query::request` for precise errors.) The dashboard's TypeScript types are generated from these
//! (`web/src/api/generated.ts`, checked by `collector/tests/web_types.rs`), so the app and the
//! server cannot drift apart.
//!
//! Times are RFC 3339 strings in UTC with milliseconds. Ids are 24 hex characters.

use serde::{Deserialize, Serialize};

macro_rules! api_type {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        $vis struct $name { $($body)* }
    };
}

api_type! {
    /// An owner account (`GET /api/v1/me`, sign-up, login).
    pub struct User {
        pub id: String,
        pub email: String,
        pub created_at: String,
    }
}

api_type! {
    /// `202` to `POST /api/v1/users`: the same answer whether the email was free (the account now
    /// exists) or already had an account (nothing changed), so sign-up does not tell which emails
    /// have accounts. Sign in next with the same email and password.
    pub struct SignUpAccepted {
        pub email: String,
        pub note: String,
    }
}

api_type! {
    /// `GET /api/v1/instance`: what the sign-in page needs before anyone is signed in.
    pub struct Instance {
        /// Whether `POST /api/v1/users` creates accounts here.
        pub allow_signup: bool,
    }
}

api_type! {
    /// `GET /api/v1/session`: who is signed in (null when nobody), and whether sign-up is open.
    /// Always 200, so the app's first request tells both without an error in the console.
    pub struct Session {
        pub user: Option<User>,
        pub allow_signup: bool,
    }
}

api_type! {
    /// A site (project) of an owner.
    pub struct Project {
        pub id: String,
        pub name: String,
        /// The site's hostname (`example.com`), or null when not given.
        pub domain: Option<String>,
        /// The IANA time zone the dashboard reports the site in.
        pub timezone: String,
        pub created_at: String,
    }
}

api_type! {
    /// `GET /api/v1/projects`.
    pub struct ProjectList {
        /// Newest first.
        pub projects: Vec<Project>,
    }
}

api_type! {
    /// `GET /api/v1/projects/{id}/status`.
    pub struct ProjectStatus {
        /// When the site's earliest stored event occurred; null while none has arrived.
        pub first_event_at: Option<String>,
    }
}

api_type! {
    /// An ingestion key as listed: a preview, never the key.
    pub struct Key {
        pub id: String,
        pub project_id: String,
        pub label: String,
        /// The key's first characters (`mtr_ab12…`).
        pub preview: String,
        pub created_at: String,
        pub last_used_at: Option<String>,
        pub revoked_at: Option<String>,
    }
}

api_type! {
    /// `GET /api/v1/projects/{id}/keys`.
    pub struct KeyList {
        /// Newest first.
        pub keys: Vec<Key>,
    }
}

api_type! {
    /// `POST /api/v1/projects/{id}/keys`: the new key, shown this once.
    pub struct CreatedKey {
        #[serde(flatten)]
        #[cfg_attr(feature = "ts", ts(flatten))]
        pub record: Key,
        /// The key itself (`mtr_…`), for the site's `<script data-key=…>`.
        pub key: String,
        pub note: String,
    }
}

api_type! {
    /// A bearer token for scripts, as listed (never the token).
    pub struct ApiToken {
        /// A stable id for revoking it (not a secret).
        pub id: String,
        pub label: String,
        pub created_at: String,
    }
}

api_type! {
    /// `GET /api/v1/tokens`.
    pub struct TokenList {
        /// Newest first.
        pub tokens: Vec<ApiToken>,
    }
}

api_type! {
    /// `POST /api/v1/tokens`: the new token, shown this once.
    pub struct CreatedToken {
        #[serde(flatten)]
        #[cfg_attr(feature = "ts", ts(flatten))]
        pub record: ApiToken,
        /// `mtt_…`: send it as `Authorization: Bearer <token>`.
        pub token: String,
        pub note: String,
    }
}

api_type! {
    /// A public, read-only link to a site's dashboard.
    pub struct ShareLink {
        pub id: String,
        pub label: String,
        pub slug: String,
        /// `/share/<slug>`: the collector's origin in front of it gives the link.
        pub path: String,
        pub has_password: bool,
        pub created_at: String,
    }
}

api_type! {
    /// `GET /api/v1/projects/{id}/shares`.
    pub struct ShareList {
        /// Newest first.
        pub shares: Vec<ShareLink>,
    }
}

api_type! {
    /// `GET /api/v1/share/{slug}`: what a signed-out visitor of a share link may see.
    pub struct SharedSite {
        pub project: Project,
        pub password_required: bool,
        /// True when no password is needed or it was given (a cookie scoped to the link remembers it).
        pub unlocked: bool,
    }
}

// --- requests ---------------------------------------------------------------------------------

api_type! {
    /// `POST /api/v1/users` and `POST /api/v1/login`.
    pub struct Credentials {
        pub email: String,
        pub password: String,
    }
}

api_type! {
    /// `POST /api/v1/me/password`.
    pub struct PasswordChange {
        pub current_password: String,
        pub new_password: String,
    }
}

api_type! {
    /// `POST /api/v1/projects`.
    pub struct NewProject {
        pub name: String,
        /// A hostname; a pasted `https://…/` URL is accepted and reduced to its host.
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional))]
        pub domain: Option<String>,
        /// An IANA time zone name; UTC when left out.
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional))]
        pub timezone: Option<String>,
    }
}

api_type! {
    /// `PATCH /api/v1/projects/{id}`: fields left out stay as they are; `domain: ""` removes it.
    pub struct ProjectPatch {
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional))]
        pub name: Option<String>,
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional))]
        pub domain: Option<String>,
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional))]
        pub timezone: Option<String>,
    }
}

api_type! {
    /// `POST /api/v1/projects/{id}/keys` and `POST /api/v1/tokens`.
    pub struct NewLabelled {
        pub label: String,
    }
}

api_type! {
    /// `POST /api/v1/projects/{id}/shares`.
    pub struct NewShareLink {
        pub label: String,
        /// Visitors of the link must give it first; no password when left out or empty.
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional))]
        pub password: Option<String>,
    }
}

api_type! {
    /// `POST /api/v1/share/{slug}/unlock`.
    pub struct ShareUnlock {
        pub password: String,
    }
}
