//! SQL for webhook endpoints and the events they hear. Their messages live in the outbox
//! (db/outbox.rs) with the audit event's `seq` as subject.
use super::Tx;
use crate::model::webhooks::WebhookView;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

/// Webhook endpoint ids start with this; the outbox tells its two kinds of target apart by it.
pub const ID_PREFIX: &str = "wh_";

pub struct EndpointRow<'a> {
    pub id: &'a str,
    pub url: &'a str,
    pub description: &'a str,
    pub status: &'a str,
    pub max_attempts: i64,
    pub now: i64,
}

/// What the worker needs to deliver to an endpoint.
pub struct Endpoint {
    pub id: String,
    pub url: String,
    pub secret_sealed: String,
    pub max_attempts: i64,
}

const VIEW: &str = "id, url, description, secret_hint, status, max_attempts, version, created_at, \
                    updated_at, last_success_at";

fn view(r: &AnyRow) -> Result<WebhookView, sqlx::Error> {
    Ok(WebhookView {
        id: r.try_get("id")?,
        url: r.try_get("url")?,
        description: r.try_get("description")?,
        events: Vec::new(),
        status: r.try_get("status")?,
        max_attempts: r.try_get("max_attempts")?,
        secret_hint: r.try_get("secret_hint")?,
        version: r.try_get("version")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        last_success_at: r.try_get("last_success_at")?,
        pending: 0,
        dead: 0,
        failures: Vec::new(),
    })
}

/// Every endpoint, oldest first (there are few: this is configuration, not data).
pub async fn list(pool: &AnyPool) -> Result<Vec<WebhookView>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {VIEW} FROM webhook_endpoints ORDER BY created_at, id"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(view).collect()
}

pub async fn get(pool: &AnyPool, id: &str) -> Result<Option<WebhookView>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {VIEW} FROM webhook_endpoints WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(view)
    .transpose()
}

/// Every endpoint's events, for the list (one query, not one per endpoint).
pub async fn all_events(pool: &AnyPool) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT endpoint_id, event FROM webhook_events ORDER BY endpoint_id, event")
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("endpoint_id")?, r.try_get("event")?)))
        .collect()
}

pub async fn events(pool: &AnyPool, id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT event FROM webhook_events WHERE endpoint_id = $1 ORDER BY event")
        .bind(id)
        .fetch_all(pool)
        .await
}

/// The endpoint's version, locked for a change; `None` when it does not exist.
pub async fn version_for_update(tx: &mut Tx, id: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT version FROM webhook_endpoints WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn endpoint(pool: &AnyPool, id: &str) -> Result<Option<Endpoint>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, url, secret_sealed, max_attempts FROM webhook_endpoints WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(Endpoint {
            id: r.try_get("id")?,
            url: r.try_get("url")?,
            secret_sealed: r.try_get("secret_sealed")?,
            max_attempts: r.try_get("max_attempts")?,
        })
    })
    .transpose()
}

pub async fn insert(
    tx: &mut Tx,
    e: &EndpointRow<'_>,
    secret_sealed: &str,
    secret_hint: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, url, description, secret_sealed, secret_hint, status, \
         max_attempts, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1)",
    )
    .bind(e.id)
    .bind(e.url)
    .bind(e.description)
    .bind(secret_sealed)
    .bind(secret_hint)
    .bind(e.status)
    .bind(e.max_attempts)
    .bind(e.now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Changes the endpoint if it is still at `version`; false when someone changed it first.
pub async fn update(tx: &mut Tx, e: &EndpointRow<'_>, version: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE webhook_endpoints SET url = $1, description = $2, status = $3, max_attempts = $4, \
         updated_at = $5, version = version + 1 WHERE id = $6 AND version = $7",
    )
    .bind(e.url)
    .bind(e.description)
    .bind(e.status)
    .bind(e.max_attempts)
    .bind(e.now)
    .bind(e.id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_events(tx: &mut Tx, id: &str, events: &[String]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM webhook_events WHERE endpoint_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for event in events {
        sqlx::query("INSERT INTO webhook_events (endpoint_id, event) VALUES ($1, $2)")
            .bind(id)
            .bind(event)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub async fn set_secret(
    tx: &mut Tx,
    id: &str,
    sealed: &str,
    hint: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE webhook_endpoints SET secret_sealed = $1, secret_hint = $2, updated_at = $3, \
         version = version + 1 WHERE id = $4",
    )
    .bind(sealed)
    .bind(hint)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Removes the endpoint with its subscriptions and its messages.
pub async fn delete(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM outbox WHERE target_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM webhook_events WHERE endpoint_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Queues audit event `seq` for every endpoint that hears `action`; called by the audit
/// append itself, so no change can be recorded without its webhooks. Paused endpoints queue
/// too (they deliver when resumed).
pub async fn announce(tx: &mut Tx, seq: i64, action: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (target_id, subject, created_at, state, next_attempt_at) \
         SELECT DISTINCT e.endpoint_id, $1, $3, 'pending', $3 FROM webhook_events e \
         WHERE e.event = '*' OR e.event = $2 OR substr($2, 1, length(e.event) + 1) = e.event || '.'",
    )
    .bind(seq.to_string())
    .bind(action)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
