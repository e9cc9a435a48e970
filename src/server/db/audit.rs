//! SQL for the audit log.
use super::Tx;
use crate::model::audit::AuditEvent;
use sqlx::{AnyPool, Row};

/// A row about to be appended; `seq`, `prev_hash` and `hash` are filled in by the chain.
pub struct AuditRow<'a> {
    pub seq: i64,
    pub occurred_at: i64,
    pub actor_subject: Option<&'a str>,
    pub actor_email: Option<&'a str>,
    pub actor_role: Option<&'a str>,
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub outcome: &'a str,
    pub client_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub details: &'a str,
    pub prev_hash: &'a str,
    pub hash: &'a str,
}

/// Takes the next position in the chain and returns it with the current head hash. The UPDATE
/// locks the head row until the transaction ends, so appends are serialized across instances.
pub async fn claim_next(tx: &mut Tx) -> Result<(i64, String), sqlx::Error> {
    let row = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut **tx)
        .await?;
    Ok((row.try_get("seq")?, row.try_get("hash")?))
}

pub async fn insert(tx: &mut Tx, r: &AuditRow<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_events (seq, occurred_at, actor_subject, actor_email, actor_role, action, \
         target_type, target_id, outcome, client_ip, user_agent, details, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(r.seq)
    .bind(r.occurred_at)
    .bind(r.actor_subject)
    .bind(r.actor_email)
    .bind(r.actor_role)
    .bind(r.action)
    .bind(r.target_type)
    .bind(r.target_id)
    .bind(r.outcome)
    .bind(r.client_ip)
    .bind(r.user_agent)
    .bind(r.details)
    .bind(r.prev_hash)
    .bind(r.hash)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(r.hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

const COLUMNS: &str =
    "seq, occurred_at, actor_subject, actor_email, actor_role, action, target_type, \
                       target_id, outcome, client_ip, user_agent, details, prev_hash, hash";

/// Newest first, strictly older than `before` (keyset pagination on the primary key).
pub async fn page(
    pool: &AnyPool,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEvent>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_events WHERE seq < $1 ORDER BY seq DESC LIMIT $2"
    ))
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(event_from_row).collect()
}

/// Events in chain order, from `after` (exclusive), for verification.
pub async fn chain_slice(
    pool: &AnyPool,
    after: i64,
    limit: i64,
) -> Result<Vec<ChainRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY seq ASC LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ChainRow {
                prev_hash: r.try_get("prev_hash")?,
                event: event_from_row(r)?,
            })
        })
        .collect()
}

pub struct ChainRow {
    pub event: AuditEvent,
    pub prev_hash: String,
}

pub async fn head(pool: &AnyPool) -> Result<(i64, String), sqlx::Error> {
    let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(pool)
        .await?;
    Ok((row.try_get("seq")?, row.try_get("hash")?))
}

pub async fn count(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(pool)
        .await
}

/// Count of events with `action` at or after `since_ms`.
pub async fn count_action_since(
    pool: &AnyPool,
    action: &str,
    outcome: &str,
    since_ms: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = $1 AND outcome = $2 AND occurred_at >= $3",
    )
    .bind(action)
    .bind(outcome)
    .bind(since_ms)
    .fetch_one(pool)
    .await
}

pub async fn count_outcome_since(
    pool: &AnyPool,
    outcome: &str,
    since_ms: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE outcome = $1 AND occurred_at >= $2")
        .bind(outcome)
        .bind(since_ms)
        .fetch_one(pool)
        .await
}

fn event_from_row(r: &sqlx::any::AnyRow) -> Result<AuditEvent, sqlx::Error> {
    Ok(AuditEvent {
        seq: r.try_get("seq")?,
        occurred_at: r.try_get("occurred_at")?,
        actor_subject: r.try_get("actor_subject")?,
        actor_email: r.try_get("actor_email")?,
        actor_role: r.try_get("actor_role")?,
        action: r.try_get("action")?,
        target_type: r.try_get("target_type")?,
        target_id: r.try_get("target_id")?,
        outcome: r.try_get("outcome")?,
        client_ip: r.try_get("client_ip")?,
        user_agent: r.try_get("user_agent")?,
        details: r.try_get("details")?,
        hash: r.try_get("hash")?,
    })
}

/// The newest events about one target.
pub async fn by_target(
    pool: &AnyPool,
    target_type: &str,
    target_id: &str,
    limit: i64,
) -> Result<Vec<AuditEvent>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_events WHERE target_type = $1 AND target_id = $2 ORDER BY seq DESC LIMIT $3"
    ))
    .bind(target_type)
    .bind(target_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(event_from_row).collect()
}
