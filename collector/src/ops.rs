//! Account, project and key operations, shared by the CLI and the HTTP API so both enforce the
//! same rules.

use contract::ids::ProjectId;
use contract::keys::{ApiKey, KEY_RANDOM_BYTES};
use store::{ids, Domain, Email, KeyId, KeyRecord, Name, Project, Store, TimeZoneName, User, UserId};

use crate::auth;
use crate::error::{AppError, AppResult};

fn field(field: &'static str, why: &str) -> AppError {
    AppError::bad_request("invalid_field", format!("{field}: {why}"))
}

/// Registers an owner. 409 when the email is taken.
pub async fn create_user(store: &dyn Store, email: &str, password: &str) -> AppResult<User> {
    let email = Email::parse(email).map_err(|why| field("email", why))?;
    auth::check_password(password)?;
    let password = password.to_owned();
    let password_hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    let now = crate::now_ms();
    let user = User {
        id: UserId::new(now),
        email,
        password_hash,
        created_at: now,
    };
    store.create_user(&user).await.map_err(|e| match e {
        store::StoreError::Conflict(_) => AppError::Conflict("an account with this email already exists".into()),
        other => other.into(),
    })?;
    Ok(user)
}

/// The user whose email and password these are, or 401 (the same for both mistakes).
pub async fn authenticate(store: &dyn Store, email: &str, password: &str) -> AppResult<User> {
    let refused = || AppError::Unauthorized("wrong email or password".into());
    let user = match Email::parse(email) {
        Ok(email) => store.user_by_email(&email).await?,
        Err(_) => None,
    };
    let phc = user
        .as_ref()
        .map_or_else(|| auth::dummy_hash().to_owned(), |u| u.password_hash.clone());
    let password = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &phc))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    match user {
        Some(user) if ok => Ok(user),
        _ => Err(refused()),
    }
}

pub async fn create_project(store: &dyn Store, owner: &User, name: &str) -> AppResult<Project> {
    create_site(store, owner, name, None, TimeZoneName::utc()).await
}

/// A project with its site's domain and time zone, stored in one write.
pub async fn create_site(
    store: &dyn Store,
    owner: &User,
    name: &str,
    domain: Option<Domain>,
    timezone: TimeZoneName,
) -> AppResult<Project> {
    let now = crate::now_ms();
    let project = Project {
        id: ids::new_project_id(now),
        owner: owner.id,
        name: Name::parse(name).map_err(|why| field("name", why))?,
        domain,
        timezone,
        created_at: now,
    };
    store.create_project(&project).await?;
    Ok(project)
}

/// The project if `owner` owns it. Another owner's project is "not found", not "forbidden", so
/// project ids cannot be probed.
pub async fn owned_project(store: &dyn Store, owner: &User, id: &str) -> AppResult<Project> {
    let id = ProjectId::parse(id).map_err(|_| AppError::NotFound("project"))?;
    match store.project(&id).await? {
        Some(p) if p.owner == owner.id => Ok(p),
        _ => Err(AppError::NotFound("project")),
    }
}

/// Mints a key for a project: the raw key (shown once) and its stored record.
pub async fn create_key(
    store: &dyn Store,
    pepper: &str,
    project: &Project,
    label: &str,
) -> AppResult<(ApiKey, KeyRecord)> {
    let now = crate::now_ms();
    let key = ApiKey::from_random(rand::random::<[u8; KEY_RANDOM_BYTES]>());
    let record = KeyRecord {
        id: KeyId::new(now),
        project_id: project.id,
        label: Name::parse(label).map_err(|why| field("label", why))?,
        key_hash: key.hash(pepper),
        key_preview: key.preview(),
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    store.create_key(&record).await?;
    Ok((key, record))
}

/// Revokes a key of the given project (404 if it belongs to another project).
pub async fn revoke_key(store: &dyn Store, project: Option<&Project>, key_id: &str) -> AppResult<KeyRecord> {
    let id = KeyId::parse(key_id).ok_or(AppError::NotFound("key"))?;
    let record = store.key(&id).await?.ok_or(AppError::NotFound("key"))?;
    if project.is_some_and(|p| p.id != record.project_id) {
        return Err(AppError::NotFound("key"));
    }
    store.revoke_key(&id, crate::now_ms()).await?;
    Ok(store.key(&id).await?.unwrap_or(record))
}
