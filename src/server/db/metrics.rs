//! SQL read when `/metrics` is scraped: each query is one row or one small group, cheap at any
//! size (the scrape bounds each with a timeout besides).
use sqlx::{AnyPool, Row};

/// The audit chain's head position: the one-row `audit_head` table, read by its primary key.
pub async fn chain_head(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    Ok(super::audit::head(pool).await?.0)
}

/// Console jobs (imports, bulk actions) per state. The table has one row per job a person
/// started, so the scan stays small; states without a job are absent.
pub async fn jobs_by_state(pool: &AnyPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("state")?, r.try_get("n")?)))
        .collect()
}

/// Pending and dead-lettered outbox messages over every target. Delivered messages are most of
/// the table and are never touched: each target's queue is reached through `outbox_queue`
/// (target_id, state, seq).
pub async fn outbox_counts(pool: &AnyPool) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query(
        "SELECT COALESCE(SUM(CASE WHEN o.state = 'pending' THEN 1 ELSE 0 END), 0) AS pending, \
                COALESCE(SUM(CASE WHEN o.state = 'dead' THEN 1 ELSE 0 END), 0) AS dead \
         FROM (SELECT id FROM provisioning_targets UNION ALL SELECT id FROM webhook_endpoints \
               UNION ALL SELECT id FROM ssf_streams) t \
         JOIN outbox o ON o.target_id = t.id AND o.state IN ('pending', 'dead')",
    )
    .fetch_one(pool)
    .await?;
    Ok((row.try_get("pending")?, row.try_get("dead")?))
}
