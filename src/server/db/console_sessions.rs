//! SQL for console sessions: who is signed in to the console, and sessions ended by an admin
//! or by the identity provider. Ids are SHA-256 hashes of session ids.
use super::Tx;
use crate::model::sessions::ConsoleSession;
use sqlx::{AnyPool, Row};

pub struct NewSession<'a> {
    pub id: &'a str,
    pub subject: &'a str,
    pub email: &'a str,
    pub role: &'a str,
    pub now: i64,
    pub client_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

pub async fn insert(tx: &mut Tx, s: &NewSession<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO console_sessions (id, subject, email, role, signed_in_at, last_checked_at, client_ip, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7)",
    )
    .bind(s.id)
    .bind(s.subject)
    .bind(s.email)
    .bind(s.role)
    .bind(s.now)
    .bind(s.client_ip)
    .bind(s.user_agent)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether the session was ended (by an admin or the provider). Unknown ids are not ended:
/// sessions from before this table existed carry on until their timeouts.
pub async fn is_ended(pool: &AnyPool, id: &str) -> Result<bool, sqlx::Error> {
    let ended: Option<Option<i64>> =
        sqlx::query_scalar("SELECT ended_at FROM console_sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(matches!(ended, Some(Some(_))))
}

pub async fn checked(pool: &AnyPool, id: &str, role: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE console_sessions SET last_checked_at = $2, role = $3 WHERE id = $1 AND ended_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .bind(role)
    .execute(pool)
    .await?;
    Ok(())
}

/// Marks the session ended; `false` when it was unknown or already ended.
pub async fn end(tx: &mut Tx, id: &str, reason: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE console_sessions SET ended_at = $2, ended_reason = $3 WHERE id = $1 AND ended_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(pool: &AnyPool, id: &str) -> Result<Option<ConsoleSession>, sqlx::Error> {
    let row = sqlx::query(&format!("{SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(|r| decode(&r)).transpose()
}

/// Open sessions signed in after `since` (older ones have passed the absolute timeout),
/// newest first.
pub async fn open(
    pool: &AnyPool,
    since: i64,
    limit: i64,
) -> Result<Vec<ConsoleSession>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE ended_at IS NULL AND signed_in_at > $1 ORDER BY signed_in_at DESC, id LIMIT $2"
    ))
    .bind(since)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(decode).collect()
}

/// Forgets sessions signed in before `before`: past the absolute timeout, none can be in use.
pub async fn delete_signed_in_before(pool: &AnyPool, before: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM console_sessions WHERE signed_in_at < $1")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

const SELECT: &str = "SELECT id, subject, email, role, signed_in_at, last_checked_at, client_ip, user_agent FROM console_sessions";

fn decode(r: &sqlx::any::AnyRow) -> Result<ConsoleSession, sqlx::Error> {
    Ok(ConsoleSession {
        id: r.try_get(0)?,
        subject: r.try_get(1)?,
        email: r.try_get(2)?,
        role: r.try_get(3)?,
        signed_in_at: r.try_get(4)?,
        last_checked_at: r.try_get(5)?,
        client_ip: r.try_get(6)?,
        user_agent: r.try_get(7)?,
        current: false,
    })
}
