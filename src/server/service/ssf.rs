//! Shared Signals receivers as administrators manage them: registering one (globally or for an
//! application) hands out its bearer token once; its delivery state, pausing, "retry now",
//! "replay from here", token rotation and removal. Each change is one transaction with its
//! audit record. The receiver configures its stream itself (service/ssf_streams.rs).
use crate::model::ssf::*;
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, ssf::ReceiverRow, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use crate::server::service::audit_sink_checks::{check_name, one_line};
use crate::server::service::provisioning::parse_max_attempts;
use crate::server::service::{sealed, secrets};
use serde_json::json;

const CONFLICT: &str = "This receiver was changed by someone else since you opened it. Reload to see their changes, then make yours again.";
const MAX_AUDIENCE: usize = 300;
const NOT_FOUND: &str = "The Shared Signals receiver";

struct Valid {
    name: String,
    application_id: Option<String>,
    audience: String,
    subject_format: &'static str,
    max_attempts: i64,
}

async fn parse(db: &Db, input: &ReceiverInput) -> Result<Valid, AppError> {
    let mut errors: Vec<(String, String)> = Vec::new();
    let name = check_name(&input.name).unwrap_or_else(|m| {
        errors.push(("name".into(), m));
        String::new()
    });
    let application_id = Some(input.application_id.trim().to_string()).filter(|a| !a.is_empty());
    if let Some(app) = &application_id {
        // Checked before the look-up: PostgreSQL refuses a NUL in a text parameter.
        let plausible = app.len() <= 100 && one_line(app);
        let found = if plausible {
            db::apps::get_app(&db.pool, app).await.map_err(internal)?
        } else {
            None
        };
        if found.is_none() {
            errors.push((
                "application_id".into(),
                format!("Application: there is no application {app:?}"),
            ));
        }
    }
    let audience = input.audience.trim().to_string();
    if audience.is_empty() || audience.chars().count() > MAX_AUDIENCE || !one_line(&audience) {
        errors.push((
            "audience".into(),
            format!("Audience: the receiver's URL or client id, 1 to {MAX_AUDIENCE} characters"),
        ));
    }
    let subject_format = match input.subject_format.trim() {
        "" | "email" => "email",
        "iss_sub" => "iss_sub",
        "opaque" => "opaque",
        other => {
            errors.push((
                "subject_format".into(),
                format!("Subject format is email, iss_sub or opaque, not {other:?}"),
            ));
            "email"
        }
    };
    let max_attempts = parse_max_attempts(&input.max_attempts)
        .map_err(|m| errors.push(("max_attempts".into(), m)))
        .unwrap_or(1);
    if !errors.is_empty() {
        return Err(AppError::Fields(errors));
    }
    Ok(Valid {
        name,
        application_id,
        audience,
        subject_format,
        max_attempts,
    })
}

fn details(id: &str, v: &Valid) -> serde_json::Value {
    json!({
        "receiver": id, "name": v.name, "application_id": v.application_id,
        "audience": v.audience, "subject_format": v.subject_format,
        "max_attempts": v.max_attempts,
    })
}

fn row<'a>(id: &'a str, v: &'a Valid) -> ReceiverRow<'a> {
    ReceiverRow {
        id,
        name: &v.name,
        application_id: v.application_id.as_deref(),
        audience: &v.audience,
        subject_format: v.subject_format,
        max_attempts: v.max_attempts,
        now: db::now_ms(),
    }
}

async fn record(
    tx: &mut db::Tx,
    auth: &Authorized,
    action: &str,
    id: &str,
    d: serde_json::Value,
) -> Result<(), AppError> {
    let entry = Entry::new(action, Outcome::Success)
        .target("ssf_receiver", id)
        .details(d);
    audit::record(tx, &auth.actor(), &auth.meta, entry)
        .await
        .map(|_| ())
        .map_err(internal)
}

/// Registers a receiver; the answer carries its token, which is never shown again.
pub async fn create(
    db: &Db,
    auth: &Authorized,
    input: &ReceiverInput,
) -> Result<ReceiverWithToken, AppError> {
    let valid = parse(db, input).await?;
    let id = format!("{}{}", db::ssf::ID_PREFIX, uuid::Uuid::new_v4().simple());
    let token = secrets::new_receiver_token();
    let mut tx = db.begin_write().await.map_err(internal)?;
    db::ssf::insert(
        &mut tx,
        &row(&id, &valid),
        &secrets::hash_hex(&token),
        &sealed::hint(&token),
    )
    .await
    .map_err(internal)?;
    record(
        &mut tx,
        auth,
        "ssf.receiver.create",
        &id,
        details(&id, &valid),
    )
    .await?;
    tx.commit().await.map_err(internal)?;
    Ok(ReceiverWithToken {
        receiver: view(db, &id).await?,
        token,
    })
}

/// Changes a registration against the version the administrator saw.
pub async fn update(
    db: &Db,
    auth: &Authorized,
    id: &str,
    version: i64,
    input: &ReceiverInput,
) -> Result<ReceiverView, AppError> {
    let valid = parse(db, input).await?;
    let mut tx = db.begin_write().await.map_err(internal)?;
    locked(&mut tx, id).await?;
    if !db::ssf::update(&mut tx, &row(id, &valid), version)
        .await
        .map_err(internal)?
    {
        return Err(AppError::Conflict(CONFLICT.into()));
    }
    record(
        &mut tx,
        auth,
        "ssf.receiver.update",
        id,
        details(id, &valid),
    )
    .await?;
    tx.commit().await.map_err(internal)?;
    view(db, id).await
}

/// A new bearer token; the old one stops working at once. Returned once.
pub async fn rotate_token(
    db: &Db,
    auth: &Authorized,
    id: &str,
) -> Result<ReceiverWithToken, AppError> {
    let token = secrets::new_receiver_token();
    let mut tx = db.begin_write().await.map_err(internal)?;
    locked(&mut tx, id).await?;
    db::ssf::set_token(
        &mut tx,
        id,
        &secrets::hash_hex(&token),
        &sealed::hint(&token),
        db::now_ms(),
    )
    .await
    .map_err(internal)?;
    record(
        &mut tx,
        auth,
        "ssf.receiver.rotate_token",
        id,
        json!({ "receiver": id }),
    )
    .await?;
    tx.commit().await.map_err(internal)?;
    Ok(ReceiverWithToken {
        receiver: view(db, id).await?,
        token,
    })
}

/// Pauses (events are kept), disables (nothing is kept) or enables a configured stream.
pub async fn set_status(
    db: &Db,
    auth: &Authorized,
    id: &str,
    status: &str,
    reason: &str,
) -> Result<ReceiverView, AppError> {
    let stored = stored_status(status)?;
    let reason = reason.trim();
    if reason.chars().count() > 200 || !one_line(reason) {
        return Err(AppError::invalid(
            "reason",
            "Reason: at most 200 characters on one line",
        ));
    }
    let mut tx = db.begin_write().await.map_err(internal)?;
    locked(&mut tx, id).await?;
    db::ssf::set_status(&mut tx, id, stored, reason, db::now_ms())
        .await
        .map_err(internal)?;
    record(
        &mut tx,
        auth,
        "ssf.receiver.status",
        id,
        json!({ "receiver": id, "status": status, "reason": reason }),
    )
    .await?;
    tx.commit().await.map_err(internal)?;
    view(db, id).await
}

/// SSF's stream status as stored (`enabled` is the outbox's `active`).
pub fn stored_status(status: &str) -> Result<&'static str, AppError> {
    match status.trim() {
        "enabled" => Ok("active"),
        "paused" => Ok("paused"),
        "disabled" => Ok("disabled"),
        other => Err(AppError::invalid(
            "status",
            format!("Status is enabled, paused or disabled, not {other:?}"),
        )),
    }
}

/// Removes a receiver, its token and what was queued for it.
pub async fn delete(db: &Db, auth: &Authorized, id: &str) -> Result<(), AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    locked(&mut tx, id).await?;
    let (pending, _) = db::outbox::counts(&db.pool, id).await.map_err(internal)?;
    db::ssf::delete(&mut tx, id).await.map_err(internal)?;
    record(
        &mut tx,
        auth,
        "ssf.receiver.delete",
        id,
        json!({ "receiver": id, "undelivered": pending }),
    )
    .await?;
    tx.commit().await.map_err(internal)
}

/// Every receiver with its counts (failures only on its own page).
pub async fn list(db: &Db) -> Result<Vec<ReceiverView>, AppError> {
    let mut all = db::ssf::list(&db.pool).await.map_err(internal)?;
    let counts = db::outbox_lists::counts_of_all(&db.pool, db::outbox_lists::Targets::SsfStreams)
        .await
        .map_err(internal)?;
    for r in &mut all {
        (r.pending, r.dead) = counts.get(&r.id).copied().unwrap_or_default();
    }
    Ok(all)
}

/// One receiver with its delivery state and newest failures, or 404.
pub async fn view(db: &Db, id: &str) -> Result<ReceiverView, AppError> {
    let mut r = db::ssf::get(&db.pool, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound(NOT_FOUND.into()))?;
    (r.pending, r.dead) = db::outbox::counts(&db.pool, id).await.map_err(internal)?;
    r.failures = db::outbox::failures(&db.pool, id, 20)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|f| SignalFailure {
            seq: f.seq,
            jti: f.guid,
            state: f.state,
            attempts: f.attempts,
            error: f.error,
            at: f.at,
        })
        .collect();
    Ok(r)
}

async fn locked(tx: &mut db::Tx, id: &str) -> Result<i64, AppError> {
    db::ssf::version_for_update(tx, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| AppError::NotFound(NOT_FOUND.into()))
}

/// Dead-lettered and waiting tokens are sent again now.
pub async fn retry_now(db: &Db, auth: &Authorized, id: &str) -> Result<ReceiverView, AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    locked(&mut tx, id).await?;
    let count = db::outbox::retry_now(&mut tx, id, db::now_ms())
        .await
        .map_err(internal)?;
    record(
        &mut tx,
        auth,
        "ssf.receiver.retry",
        id,
        json!({ "receiver": id, "messages": count }),
    )
    .await?;
    tx.commit().await.map_err(internal)?;
    view(db, id).await
}

/// Every token from message `seq` on is sent again, in order, with its own `jti`.
pub async fn replay_from(
    db: &Db,
    auth: &Authorized,
    id: &str,
    seq: i64,
) -> Result<ReceiverView, AppError> {
    if seq < 1 {
        return Err(AppError::invalid(
            "seq",
            "Give the message number to replay from",
        ));
    }
    let mut tx = db.begin_write().await.map_err(internal)?;
    locked(&mut tx, id).await?;
    let count = db::outbox::replay_from(&mut tx, id, seq, db::now_ms())
        .await
        .map_err(internal)?;
    record(
        &mut tx,
        auth,
        "ssf.receiver.replay",
        id,
        json!({ "receiver": id, "from": seq, "messages": count }),
    )
    .await?;
    tx.commit().await.map_err(internal)?;
    view(db, id).await
}
