//! SQL for provisioning sources (SCIM clients), their counters and their last errors.
use super::Tx;
use crate::model::sources::{SourceDetail, SourceError};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

pub struct SourceRow<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub token_hint: &'a str,
    pub owned_attributes: &'a [String],
    pub match_rule: &'a str,
    pub now: i64,
}

const DETAIL: &str =
    "id, name, token_hint, owned_attributes, match_rule, status, created_at, updated_at, \
                      version, last_request_at, creates, updates, deactivations";

fn detail(r: &AnyRow) -> Result<SourceDetail, sqlx::Error> {
    Ok(SourceDetail {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        token_hint: r.try_get("token_hint")?,
        owned_attributes: serde_json::from_str(&r.try_get::<String, _>("owned_attributes")?)
            .unwrap_or_default(),
        match_rule: r.try_get("match_rule")?,
        status: r.try_get("status")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
        last_request_at: r.try_get("last_request_at")?,
        creates: r.try_get("creates")?,
        updates: r.try_get("updates")?,
        deactivations: r.try_get("deactivations")?,
        errors: Vec::new(),
    })
}

pub async fn insert(tx: &mut Tx, s: &SourceRow<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO provisioning_sources (id, name, token_hash, token_hint, owned_attributes, match_rule, \
         status, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $7, 1)",
    )
    .bind(s.id)
    .bind(s.name)
    .bind(s.token_hash)
    .bind(s.token_hint)
    .bind(serde_json::to_string(s.owned_attributes).unwrap_or_else(|_| "[]".into()))
    .bind(s.match_rule)
    .bind(s.now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn exists(tx: &mut Tx, id: &str) -> Result<bool, sqlx::Error> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM provisioning_sources WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(found.is_some())
}

pub async fn get(pool: &AnyPool, id: &str) -> Result<Option<SourceDetail>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {DETAIL} FROM provisioning_sources WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(detail).transpose()
}

pub async fn list(pool: &AnyPool) -> Result<Vec<SourceDetail>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {DETAIL} FROM provisioning_sources ORDER BY id LIMIT 500"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(detail).collect()
}

/// The active source whose token hashes to `token_hash`.
pub async fn by_token(
    pool: &AnyPool,
    token_hash: &str,
) -> Result<Option<SourceDetail>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {DETAIL} FROM provisioning_sources WHERE token_hash = $1 AND status = 'active'"
    ))
    .bind(token_hash)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(detail).transpose()
}

pub async fn set_token(
    tx: &mut Tx,
    id: &str,
    token_hash: &str,
    token_hint: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE provisioning_sources SET token_hash = $2, token_hint = $3, updated_at = $4, \
         version = version + 1 WHERE id = $1",
    )
    .bind(id)
    .bind(token_hash)
    .bind(token_hint)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_status(
    tx: &mut Tx,
    id: &str,
    status: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE provisioning_sources SET status = $2, updated_at = $3, version = version + 1 WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Counts one change the source made (`creates`, `updates` or `deactivations`), in its transaction.
pub async fn count_change(
    tx: &mut Tx,
    id: &str,
    column: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let column = match column {
        "creates" | "updates" | "deactivations" => column,
        _ => return Ok(()),
    };
    sqlx::query(&format!(
        "UPDATE provisioning_sources SET {column} = {column} + 1, last_request_at = $2 WHERE id = $1"
    ))
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Notes a request that changed nothing, at most once a minute per source (reads are not writes).
pub async fn touch(pool: &AnyPool, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE provisioning_sources SET last_request_at = $2 WHERE id = $1 AND last_request_at < $3",
    )
    .bind(id)
    .bind(now)
    .bind(now - 60_000)
    .execute(pool)
    .await?;
    Ok(())
}

pub struct ErrorRow<'a> {
    pub source_id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: i64,
    pub scim_type: Option<&'a str>,
    pub detail: &'a str,
    pub now: i64,
}

/// Keeps a refused request for the source's page; only the newest 20 are kept.
pub async fn record_error(pool: &AnyPool, e: &ErrorRow<'_>) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO provisioning_errors (id, source_id, at, method, path, status, scim_type, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(format!("pe_{}", uuid::Uuid::now_v7().simple()))
    .bind(e.source_id)
    .bind(e.now)
    .bind(e.method)
    .bind(e.path)
    .bind(e.status)
    .bind(e.scim_type)
    .bind(e.detail)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM provisioning_errors WHERE source_id = $1 AND id NOT IN \
         (SELECT id FROM provisioning_errors WHERE source_id = $1 ORDER BY at DESC, id DESC LIMIT 20)",
    )
    .bind(e.source_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

pub async fn errors(pool: &AnyPool, source_id: &str) -> Result<Vec<SourceError>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT at, method, path, status, scim_type, detail FROM provisioning_errors \
         WHERE source_id = $1 ORDER BY at DESC, id DESC LIMIT 20",
    )
    .bind(source_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SourceError {
                at: r.try_get("at")?,
                method: r.try_get("method")?,
                path: r.try_get("path")?,
                status: r.try_get("status")?,
                scim_type: r.try_get("scim_type")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}

/// The people (at most two: enough to tell one from several) with a live account holding
/// `employee_number` in a source other than `source`. Uses `users_by_employee_number`.
pub async fn people_by_employee_number(
    tx: &mut Tx,
    employee_number: &str,
    source: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT DISTINCT guid_id FROM users WHERE employee_number = $1 AND source <> $2 \
         AND status <> 'deprovisioned' LIMIT 2",
    )
    .bind(employee_number)
    .bind(source)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(|r| r.try_get("guid_id")).collect()
}

/// Accounts whose SCIM userName is `user_name` (lowercase): their `user_name`, or their email
/// when they have none. At most two. Both halves use an index.
pub async fn ids_by_user_name(tx: &mut Tx, user_name: &str) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id FROM users WHERE user_name = $1 \
         UNION SELECT id FROM users WHERE email = $1 AND user_name IS NULL LIMIT 2",
    )
    .bind(user_name)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}
