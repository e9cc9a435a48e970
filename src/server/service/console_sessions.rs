//! Console sessions: recorded at sign-in, confirmed again at the identity provider while in use,
//! listed for administrators, and ended by them or when the provider no longer vouches for the
//! person. A session is named by the SHA-256 of its id, never by the id itself.
use crate::model::sessions::ConsoleSession;
use crate::model::AppError;
use crate::server::auth::guard::Authorized;
use crate::server::db::{self, console_sessions::NewSession, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Actor, Entry, Outcome, RequestMeta};
use crate::server::service::secrets;

/// The name of a session in the table and the audit log.
pub fn key(session_id: &str) -> String {
    secrets::hash_hex(session_id)
}

/// Records a new console session (after the sign-in is audited and the session established).
pub async fn started(
    db: &Db,
    key: &str,
    actor: &Actor,
    meta: &RequestMeta,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    db::console_sessions::insert(
        &mut tx,
        &NewSession {
            id: key,
            subject: actor.subject.as_deref().unwrap_or_default(),
            email: actor.email.as_deref().unwrap_or_default(),
            role: actor.role.map(|r| r.as_str()).unwrap_or_default(),
            now: db::now_ms(),
            client_ip: meta.client_ip.as_deref(),
            user_agent: meta.user_agent.as_deref(),
        },
    )
    .await?;
    tx.commit().await
}

pub async fn is_ended(db: &Db, key: &str) -> Result<bool, sqlx::Error> {
    db::console_sessions::is_ended(&db.pool, key).await
}

pub async fn confirmed(db: &Db, key: &str, role: &str) -> Result<(), sqlx::Error> {
    db::console_sessions::checked(&db.pool, key, role, db::now_ms()).await
}

/// Ends a session because the person signed out, or the provider or the role map no longer
/// gives them a role; audited with the reason.
pub async fn ended(
    db: &Db,
    key: &str,
    actor: &Actor,
    meta: &RequestMeta,
    reason: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    if db::console_sessions::end(&mut tx, key, reason, db::now_ms()).await?
        && reason != "signed_out"
    {
        let entry = Entry::new("auth.session_ended", Outcome::Success)
            .target("session", key)
            .details(serde_json::json!({ "reason": reason }));
        audit::record(&mut tx, actor, meta, entry).await?;
    }
    tx.commit().await
}

/// Open console sessions, newest first; `own` marks the viewer's.
pub async fn list(
    db: &Db,
    _auth: &Authorized,
    own: Option<&str>,
    absolute_ms: i64,
) -> Result<Vec<ConsoleSession>, AppError> {
    let since = db::now_ms() - absolute_ms;
    let mut sessions = db::console_sessions::open(&db.pool, since, 500)
        .await
        .map_err(internal)?;
    for s in &mut sessions {
        s.current = own == Some(s.id.as_str());
    }
    Ok(sessions)
}

/// An administrator ends someone's session: their next request finds it ended.
pub async fn end(db: &Db, auth: &Authorized, key: &str) -> Result<(), AppError> {
    let key = key.trim();
    if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::invalid("session", "Not a session id."));
    }
    let session = db::console_sessions::get(&db.pool, key)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound("The session".into()))?;
    let mut tx = db.begin_write().await.map_err(internal)?;
    if !db::console_sessions::end(&mut tx, key, "ended_by_admin", db::now_ms())
        .await
        .map_err(internal)?
    {
        return Err(AppError::Conflict("That session has already ended.".into()));
    }
    let entry = Entry::new("auth.session_ended", Outcome::Success)
        .target("session", key)
        .details(serde_json::json!({
            "reason": "ended_by_admin",
            "session_of": session.email,
            "role": session.role,
        }));
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)
}

/// The session clean-up tick: expired session records, and console sessions that passed the
/// absolute timeout at `now_ms` (ended or not, none of them can be used again).
pub async fn clean_up(db: &Db, now_ms: i64, absolute_ms: i64) -> Result<u64, sqlx::Error> {
    if let Err(e) = db.sessions.delete_expired().await {
        tracing::warn!(error = %e, "could not delete expired sessions");
    }
    db::console_sessions::delete_signed_in_before(&db.pool, now_ms - absolute_ms).await
}
