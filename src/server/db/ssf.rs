//! SQL for Shared Signals receivers (their streams) and the Security Event Tokens queued for
//! them. Their messages live in the outbox (db/outbox.rs) with the token's `jti` as subject.
use super::Tx;
use crate::model::ssf::ReceiverView;
use crate::server::ssf_events::{self, About, Planned};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

/// Receiver (stream) ids start with this; the outbox tells its kinds of target apart by it.
pub const ID_PREFIX: &str = "ssf_";

pub struct ReceiverRow<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub application_id: Option<&'a str>,
    pub audience: &'a str,
    pub subject_format: &'a str,
    pub max_attempts: i64,
    pub now: i64,
}

/// What the receiver sets through the management API.
pub struct StreamConfig<'a> {
    pub endpoint_url: &'a str,
    pub authorization_sealed: &'a str,
    pub events_requested: &'a [String],
    pub description: &'a str,
}

/// What the worker needs to deliver to a receiver.
pub struct Stream {
    pub id: String,
    pub audience: String,
    pub endpoint_url: String,
    pub authorization_sealed: String,
    pub max_attempts: i64,
}

const VIEW: &str = "id, name, application_id, audience, subject_format, token_hint, configured, \
                    endpoint_url, events_requested, description, status, status_reason, \
                    max_attempts, version, created_at, updated_at, verified_at, last_success_at";

/// SSF's stream status for the outbox's target status.
pub fn ssf_status(stored: &str) -> &'static str {
    match stored {
        "active" => "enabled",
        "paused" => "paused",
        _ => "disabled",
    }
}

/// Requested event types this transmitter offers (SSF: supported ∩ requested).
pub fn delivered(requested: &[String]) -> Vec<String> {
    requested
        .iter()
        .filter(|e| ssf_events::SUPPORTED.contains(&e.as_str()))
        .cloned()
        .collect()
}

fn view(r: &AnyRow) -> Result<ReceiverView, sqlx::Error> {
    let requested: String = r.try_get("events_requested")?;
    let requested: Vec<String> = serde_json::from_str(&requested).unwrap_or_default();
    let status: String = r.try_get("status")?;
    Ok(ReceiverView {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        application_id: r.try_get("application_id")?,
        audience: r.try_get("audience")?,
        subject_format: r.try_get("subject_format")?,
        token_hint: r.try_get("token_hint")?,
        configured: r.try_get::<i64, _>("configured")? == 1,
        endpoint_url: r.try_get("endpoint_url")?,
        events_delivered: delivered(&requested),
        events_requested: requested,
        description: r.try_get("description")?,
        status: ssf_status(&status).to_string(),
        status_reason: r.try_get("status_reason")?,
        max_attempts: r.try_get("max_attempts")?,
        version: r.try_get("version")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        verified_at: r.try_get("verified_at")?,
        last_success_at: r.try_get("last_success_at")?,
        pending: 0,
        dead: 0,
        failures: Vec::new(),
    })
}

/// Every receiver, oldest first (configuration, not data: there are few).
pub async fn list(pool: &AnyPool) -> Result<Vec<ReceiverView>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {VIEW} FROM ssf_streams ORDER BY created_at, id"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(view).collect()
}

pub async fn get(pool: &AnyPool, id: &str) -> Result<Option<ReceiverView>, sqlx::Error> {
    sqlx::query(&format!("SELECT {VIEW} FROM ssf_streams WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(view)
        .transpose()
}

/// The receiver a management API token belongs to.
pub async fn by_token(
    pool: &AnyPool,
    token_hash: &str,
) -> Result<Option<ReceiverView>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {VIEW} FROM ssf_streams WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(view)
    .transpose()
}

/// The receiver's version, locked for a change; `None` when it does not exist.
pub async fn version_for_update(tx: &mut Tx, id: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT version FROM ssf_streams WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn stream(pool: &AnyPool, id: &str) -> Result<Option<Stream>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, audience, endpoint_url, authorization_sealed, max_attempts FROM ssf_streams \
         WHERE id = $1 AND configured = 1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(Stream {
            id: r.try_get("id")?,
            audience: r.try_get("audience")?,
            endpoint_url: r.try_get("endpoint_url")?,
            authorization_sealed: r.try_get("authorization_sealed")?,
            max_attempts: r.try_get("max_attempts")?,
        })
    })
    .transpose()
}

pub async fn insert(
    tx: &mut Tx,
    r: &ReceiverRow<'_>,
    token_hash: &str,
    token_hint: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ssf_streams (id, name, application_id, audience, subject_format, token_hash, \
         token_hint, status, max_attempts, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'disabled', $8, $9, $9, 1)",
    )
    .bind(r.id)
    .bind(r.name)
    .bind(r.application_id)
    .bind(r.audience)
    .bind(r.subject_format)
    .bind(token_hash)
    .bind(token_hint)
    .bind(r.max_attempts)
    .bind(r.now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Changes what the administrator set if the receiver is still at `version`.
pub async fn update(tx: &mut Tx, r: &ReceiverRow<'_>, version: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE ssf_streams SET name = $1, application_id = $2, audience = $3, subject_format = $4, \
         max_attempts = $5, updated_at = $6, version = version + 1 WHERE id = $7 AND version = $8",
    )
    .bind(r.name)
    .bind(r.application_id)
    .bind(r.audience)
    .bind(r.subject_format)
    .bind(r.max_attempts)
    .bind(r.now)
    .bind(r.id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_token(
    tx: &mut Tx,
    id: &str,
    token_hash: &str,
    token_hint: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE ssf_streams SET token_hash = $1, token_hint = $2, updated_at = $3, \
         version = version + 1 WHERE id = $4",
    )
    .bind(token_hash)
    .bind(token_hint)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The sealed `Authorization` value the receiver asked for, locked for a change ('' when none).
pub async fn authorization_sealed(tx: &mut Tx, id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT authorization_sealed FROM ssf_streams WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// The receiver creates or changes its stream; a new stream starts enabled.
pub async fn configure(
    tx: &mut Tx,
    id: &str,
    c: &StreamConfig<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE ssf_streams SET configured = 1, endpoint_url = $1, authorization_sealed = $2, \
         events_requested = $3, description = $4, \
         status = CASE WHEN configured = 1 THEN status ELSE 'active' END, \
         status_reason = CASE WHEN configured = 1 THEN status_reason ELSE '' END, \
         updated_at = $5, version = version + 1 WHERE id = $6",
    )
    .bind(c.endpoint_url)
    .bind(c.authorization_sealed)
    .bind(serde_json::to_string(c.events_requested).unwrap_or_else(|_| "[]".into()))
    .bind(c.description)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The receiver deletes its stream: the registration stays (its token still works), what was
/// queued is dropped.
pub async fn unconfigure(tx: &mut Tx, id: &str, now: i64) -> Result<(), sqlx::Error> {
    drop_queue(tx, id).await?;
    sqlx::query(
        "UPDATE ssf_streams SET configured = 0, endpoint_url = '', authorization_sealed = '', \
         events_requested = '[]', description = '', status = 'disabled', status_reason = '', \
         updated_at = $1, version = version + 1 WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stored status (`active`, `paused`, `disabled`); disabling drops what was queued (SSF: a
/// disabled stream holds nothing).
pub async fn set_status(
    tx: &mut Tx,
    id: &str,
    status: &str,
    reason: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    if status == "disabled" {
        drop_queue(tx, id).await?;
    }
    sqlx::query(
        "UPDATE ssf_streams SET status = $1, status_reason = $2, updated_at = $3, \
         version = version + 1 WHERE id = $4",
    )
    .bind(status)
    .bind(reason)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn set_verified(tx: &mut Tx, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE ssf_streams SET verified_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn drop_queue(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM outbox WHERE target_id = $1 AND state = 'pending'")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Removes the receiver with its tokens and messages.
pub async fn delete(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    for sql in [
        "DELETE FROM outbox WHERE target_id = $1",
        "DELETE FROM ssf_events WHERE stream_id = $1",
        "DELETE FROM ssf_streams WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Queues one token for a stream: its claims without `iss` (added when signed).
pub async fn enqueue(
    tx: &mut Tx,
    stream_id: &str,
    event_type: &str,
    claims: &serde_json::Value,
    now: i64,
) -> Result<String, sqlx::Error> {
    let jti = claims["jti"].as_str().unwrap_or_default().to_string();
    sqlx::query(
        "INSERT INTO ssf_events (jti, stream_id, event_type, claims, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&jti)
    .bind(stream_id)
    .bind(event_type)
    .bind(claims.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO outbox (target_id, subject, created_at, state, next_attempt_at) \
         VALUES ($1, $2, $3, 'pending', $3)",
    )
    .bind(stream_id)
    .bind(&jti)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(jti)
}

/// A queued token's claims.
pub async fn claims(pool: &AnyPool, jti: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT claims FROM ssf_events WHERE jti = $1")
        .bind(jti)
        .fetch_optional(pool)
        .await
}

struct Listening {
    id: String,
    audience: String,
    subject_format: String,
    delivered: Vec<String>,
}

async fn listening(tx: &mut Tx) -> Result<Vec<Listening>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, audience, subject_format, events_requested FROM ssf_streams \
         WHERE configured = 1 AND status IN ('active', 'paused') ORDER BY id",
    )
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            let requested: String = r.try_get("events_requested")?;
            Ok(Listening {
                id: r.try_get("id")?,
                audience: r.try_get("audience")?,
                subject_format: r.try_get("subject_format")?,
                delivered: delivered(
                    &serde_json::from_str::<Vec<String>>(&requested).unwrap_or_default(),
                ),
            })
        })
        .collect()
}

/// `(email, guid)` of an account, read in the transaction that changed it.
async fn identity(tx: &mut Tx, user_id: &str) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query("SELECT email, guid_id FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|r| Ok((r.try_get("email")?, r.try_get("guid_id")?)))
        .transpose()
}

async fn group_names(tx: &mut Tx, user_id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT g.name FROM group_members m JOIN directory_groups g ON g.id = m.group_id \
         WHERE m.user_id = $1 ORDER BY g.name",
    )
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await
}

/// Queues the events a successful audited change raises for every stream that asked for
/// them; called by the audit append itself (as webhooks are), so no change is recorded
/// without its signals. `issuer` fills `iss_sub` subjects; `seq` is the tokens' `txn`.
pub async fn announce(
    tx: &mut Tx,
    seq: i64,
    action: &str,
    target_id: Option<&str>,
    details: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    if !ssf_events::may_raise(action) {
        return Ok(());
    }
    let streams = listening(tx).await?;
    if streams.is_empty() {
        return Ok(());
    }
    let details: serde_json::Value = serde_json::from_str(details).unwrap_or_default();
    let target = target_id.unwrap_or_default();
    for planned in ssf_events::plan(action, target, &details, now / 1000) {
        let wanted: Vec<&Listening> = streams
            .iter()
            .filter(|s| s.delivered.iter().any(|e| e == planned.event_type))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let Some((user_id, email, guid)) = whom(tx, &planned).await? else {
            continue;
        };
        let mut body = planned.body.clone();
        if planned.groups_of {
            body["claims"] = serde_json::json!({ "groups": group_names(tx, &user_id).await? });
        }
        for s in wanted {
            let sub_id = match &planned.about {
                About::OldEmail(old) => serde_json::json!({ "format": "email", "email": old }),
                _ => ssf_events::subject(&s.subject_format, "", &user_id, &email, &guid),
            };
            let claims = serde_json::json!({
                "jti": uuid::Uuid::new_v4().simple().to_string(),
                "iat": now / 1000,
                "txn": seq.to_string(),
                "aud": s.audience,
                "sub_id": sub_id,
                "events": { planned.event_type: body },
            });
            enqueue(tx, &s.id, planned.event_type, &claims, now).await?;
        }
    }
    Ok(())
}

async fn whom(
    tx: &mut Tx,
    planned: &Planned,
) -> Result<Option<(String, String, String)>, sqlx::Error> {
    Ok(match &planned.about {
        About::User(id) => identity(tx, id)
            .await?
            .map(|(email, guid)| (id.clone(), email, guid)),
        About::Gone {
            user_id,
            email,
            guid,
        } => Some((user_id.clone(), email.clone(), guid.clone())),
        About::OldEmail(old) => Some((String::new(), old.clone(), String::new())),
    })
}
