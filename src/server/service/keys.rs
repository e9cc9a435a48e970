//! API keys: the rules. A key belongs to an application (and, for a personal key, to a user of a
//! person assigned to it), carries a subset of the application's scopes, is shown once and kept
//! only as a hash. Every change is audited in its transaction; the verification cache of every
//! instance learns of it from that audit record (see `service::verify`).
use crate::model::apps::*;
use crate::model::time::parse_utc;
use crate::model::users::UserStatus;
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, apps::KeyFilter, apps::KeyRow, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use crate::server::service::secrets;
use serde_json::json;

pub const PAGE_SIZE: i64 = 50;
const DAY_MS: i64 = 86_400_000;

fn days(field: &str, raw: &str) -> Result<Option<i64>, AppError> {
    match raw.trim() {
        "" => Ok(None),
        d => match d.parse::<i64>() {
            Ok(n) if (1..=3650).contains(&n) => Ok(Some(n)),
            _ => Err(AppError::invalid(
                field,
                format!("{d:?} is not a number of days between 1 and 3650"),
            )),
        },
    }
}

pub async fn list(db: &Db, q: &KeyQuery) -> Result<KeyPage, AppError> {
    let now = db::now_ms();
    let status = match q.status.trim() {
        "" => None,
        "active" => Some("active"),
        "revoked" => Some("revoked"),
        "expired" => Some("expired"),
        other => {
            return Err(AppError::invalid(
                "status",
                format!("unknown status {other:?}; use active, revoked or expired"),
            ))
        }
    };
    let filter = KeyFilter {
        application_id: (!q.application_id.trim().is_empty())
            .then(|| q.application_id.trim().to_string()),
        owner_user_id: None,
        status,
        expiring_before: days("expiring_days", &q.expiring_days)?.map(|d| now + d * DAY_MS),
        unused_since: days("unused_days", &q.unused_days)?.map(|d| now - d * DAY_MS),
    };
    let after = q
        .after
        .split_once('|')
        .and_then(|(t, id)| Some((t.parse::<i64>().ok()?, id.to_string())));
    let mut keys = db::apps::page_keys(&db.pool, &filter, after, PAGE_SIZE + 1, now)
        .await
        .map_err(internal)?;
    let next = if keys.len() as i64 > PAGE_SIZE {
        keys.truncate(PAGE_SIZE as usize);
        keys.last().map(|k| format!("{}|{}", k.created_at, k.id))
    } else {
        None
    };
    Ok(KeyPage { keys, next })
}

/// The personal keys of one user (newest first).
pub async fn of_user(db: &Db, user_id: &str) -> Result<Vec<KeySummary>, AppError> {
    let filter = KeyFilter {
        owner_user_id: Some(user_id.to_string()),
        ..KeyFilter::default()
    };
    db::apps::page_keys(&db.pool, &filter, None, 100, db::now_ms())
        .await
        .map_err(internal)
}

pub async fn get(db: &Db, id: &str) -> Result<KeySummary, AppError> {
    db::apps::get_key(&db.pool, id.trim(), db::now_ms())
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The API key".into()))
}

async fn load(tx: &mut db::Tx, id: &str, now: i64) -> Result<KeySummary, AppError> {
    db::apps::get_key(&mut **tx, id.trim(), now)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The API key".into()))
}

/// `YYYY-MM-DD` (end of that day, UTC) in the future, or `None` for empty.
fn parse_expiry(raw: &str, now: i64) -> Result<Option<i64>, AppError> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    let at = parse_utc(raw.trim(), true).map_err(|e| AppError::invalid("expires", e))?;
    if at <= now {
        return Err(AppError::invalid(
            "expires",
            format!("Expiry {} is in the past; choose a later date", raw.trim()),
        ));
    }
    Ok(Some(at))
}

/// Issues a key; the returned `key` is the only time the secret exists outside the caller.
pub async fn create(db: &Db, auth: &Authorized, input: &KeyInput) -> Result<IssuedKey, AppError> {
    let now = db::now_ms();
    let mut errors = Vec::new();
    let name = input.name.trim().to_string();
    if name.is_empty() {
        errors.push((
            "name".to_string(),
            "Name is required: what the key is for".to_string(),
        ));
    } else if name.chars().count() > MAX_KEY_NAME {
        errors.push((
            "name".into(),
            format!("Name is longer than {MAX_KEY_NAME} characters"),
        ));
    }
    let expires_at = match parse_expiry(&input.expires, now) {
        Ok(e) => e,
        Err(e) => {
            errors.push(("expires".into(), e.to_string().replace("expires: ", "")));
            None
        }
    };
    let mut tx = db.begin_write().await.map_err(internal)?;
    let app = db::apps::get_app(&mut *tx, input.application_id.trim())
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The application".into()))?;
    if app.status != AppStatus::Active {
        return Err(AppError::Conflict(format!(
            "{} is disabled; enable it before issuing keys",
            app.name
        )));
    }
    let mut scopes: Vec<String> = Vec::new();
    for s in &input.scopes {
        let s = s.trim();
        if !app.scopes.iter().any(|a| a == s) {
            errors.push((
                "scopes".into(),
                format!(
                    "Scope {s:?} is not one of {}'s scopes ({})",
                    app.name,
                    app.scopes.join(", ")
                ),
            ));
        } else if !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_string());
        }
    }
    if input.scopes.is_empty() {
        errors.push((
            "scopes".into(),
            "Choose at least one scope (a key can do only what its scopes allow)".into(),
        ));
    }
    let owner = input.owner.trim().to_lowercase();
    let mut owner_user_id = None;
    if !owner.is_empty() {
        match personal_owner(&mut tx, &app, &owner).await? {
            Ok(id) => owner_user_id = Some(id),
            Err(message) => errors.push(("owner".into(), message)),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Fields(errors));
    }
    let (id, key) = secrets::new_key();
    let hash = secrets::hash_hex(&key);
    db::apps::insert_key(
        &mut tx,
        &KeyRow {
            id: &id,
            application_id: &app.id,
            owner_user_id: owner_user_id.as_deref(),
            name: &name,
            scopes: &scopes,
            secret_hash: &hash,
            expires_at,
            now,
        },
    )
    .await
    .map_err(internal)?;
    let entry = Entry::new("api_key.create", Outcome::Success)
        .target("api_key", &id)
        .details(json!({
            "name": name, "application": app.id, "owner": owner_user_id, "scopes": scopes,
            "expires_at": expires_at, "secret_shown": true,
        }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    let summary = load(&mut tx, &id, now).await?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed();
    Ok(IssuedKey { summary, key })
}

/// The user id for a personal key, or why that user cannot hold one for this application.
async fn personal_owner(
    tx: &mut db::Tx,
    app: &AppDetail,
    email: &str,
) -> Result<Result<String, String>, AppError> {
    let Some(user_id) = db::users::id_by_email(tx, email).await.map_err(internal)? else {
        return Ok(Err(format!("Owner: no user has the email {email}")));
    };
    let Some(user) = db::users::get(tx, &user_id).await.map_err(internal)? else {
        return Ok(Err(format!("Owner: no user has the email {email}")));
    };
    if user.status != UserStatus::Active {
        return Ok(Err(format!(
            "Owner: {email} is {}; personal keys are for active users",
            user.status.as_str()
        )));
    }
    let assigned = db::apps::is_assigned(tx, &app.id, &user.guid)
        .await
        .map_err(internal)?;
    if !assigned {
        return Ok(Err(format!(
            "Owner: {email} is not assigned to {}; assign the person first",
            app.name
        )));
    }
    Ok(Ok(user_id))
}

/// Issues a replacement with the same application, owner, name, scopes and expiry; the old key
/// keeps working for the grace period.
pub async fn rotate(
    db: &Db,
    auth: &Authorized,
    id: &str,
    grace_secs: i64,
) -> Result<IssuedKey, AppError> {
    if !GRACE_PERIODS.iter().any(|(s, _)| *s == grace_secs) {
        return Err(AppError::invalid(
            "grace",
            "Choose a grace period from the list (none, 1 hour, 24 hours, 7 days or 30 days)",
        ));
    }
    let now = db::now_ms();
    let mut tx = db.begin_write().await.map_err(internal)?;
    let old = load(&mut tx, id, now).await?;
    if !matches!(old.status, KeyStatus::Active) {
        return Err(AppError::Conflict(format!(
            "{} is {}; only an active key can be rotated",
            old.prefix,
            old.status.label().to_lowercase()
        )));
    }
    let app = db::apps::get_app(&mut *tx, &old.application_id)
        .await
        .map_err(internal)?
        .ok_or(AppError::Internal)?;
    if app.status != AppStatus::Active {
        return Err(AppError::Conflict(format!(
            "{} is disabled; enable it before rotating its keys",
            app.name
        )));
    }
    let (new_id, key) = secrets::new_key();
    let hash = secrets::hash_hex(&key);
    db::apps::insert_key(
        &mut tx,
        &KeyRow {
            id: &new_id,
            application_id: &old.application_id,
            owner_user_id: old.owner_user_id.as_deref(),
            name: &old.name,
            scopes: &old.scopes,
            secret_hash: &hash,
            expires_at: old.expires_at,
            now,
        },
    )
    .await
    .map_err(internal)?;
    let deadline = now + grace_secs * 1000;
    let old_until = old.expires_at.map_or(deadline, |e| e.min(deadline));
    db::apps::set_key_expiry(&mut tx, &old.id, Some(old_until))
        .await
        .map_err(internal)?;
    db::apps::set_replaced_by(&mut tx, &old.id, &new_id)
        .await
        .map_err(internal)?;
    let entry = Entry::new("api_key.rotate", Outcome::Success)
        .target("api_key", &old.id)
        .details(json!({
            "new_key": new_id, "grace_seconds": grace_secs, "old_key_valid_until": old_until,
            "secret_shown": true,
        }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    let summary = load(&mut tx, &new_id, now).await?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed();
    Ok(IssuedKey { summary, key })
}

/// Revokes a key at once (every instance refuses it within the cache's bound, docs/api-keys.md).
pub async fn revoke(db: &Db, auth: &Authorized, id: &str) -> Result<KeySummary, AppError> {
    let now = db::now_ms();
    let mut tx = db.begin_write().await.map_err(internal)?;
    let key = load(&mut tx, id, now).await?;
    if !db::apps::revoke_key(&mut tx, &key.id, now)
        .await
        .map_err(internal)?
    {
        return Err(AppError::Conflict(format!(
            "{} is already revoked",
            key.prefix
        )));
    }
    let entry = Entry::new("api_key.revoke", Outcome::Success)
        .target("api_key", &key.id)
        .details(json!({ "status_before": key.status.as_str() }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    let after = load(&mut tx, &key.id, now).await?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed();
    Ok(after)
}

/// Sets (or clears, with an empty date) a key's expiry.
pub async fn set_expiry(
    db: &Db,
    auth: &Authorized,
    id: &str,
    expires: &str,
) -> Result<KeySummary, AppError> {
    let now = db::now_ms();
    let expires_at = parse_expiry(expires, now)?;
    let mut tx = db.begin_write().await.map_err(internal)?;
    let key = load(&mut tx, id, now).await?;
    if matches!(key.status, KeyStatus::Revoked | KeyStatus::Expired) {
        return Err(AppError::Conflict(format!(
            "{} is {}; issue a new key instead",
            key.prefix,
            key.status.label().to_lowercase()
        )));
    }
    // A rotated-out key lives on only for its grace period: the deadline can be brought
    // forward (to end it sooner), never cleared or pushed back.
    if key.replaced_by.is_some() {
        let later = match (expires_at, key.expires_at) {
            (None, _) => true,
            (Some(new), Some(deadline)) => new > deadline,
            (Some(_), None) => false,
        };
        if later {
            return Err(AppError::invalid(
                "expires",
                format!(
                    "{} was rotated out; its grace deadline can only be brought forward, not cleared or extended",
                    key.prefix
                ),
            ));
        }
    }
    db::apps::set_key_expiry(&mut tx, &key.id, expires_at)
        .await
        .map_err(internal)?;
    let entry = Entry::new("api_key.expiry", Outcome::Success)
        .target("api_key", &key.id)
        .details(json!({ "before": key.expires_at, "after": expires_at }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    let after = load(&mut tx, &key.id, now).await?;
    tx.commit().await.map_err(internal)?;
    db.keys_changed();
    Ok(after)
}
