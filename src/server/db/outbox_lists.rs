//! Delivery counts for list pages: every target of a kind in one query.
use sqlx::{AnyPool, Row};
use std::collections::HashMap;

/// The kinds of target whose lists show delivery counts, by table.
#[derive(Clone, Copy)]
pub enum Targets {
    Webhooks,
    SsfStreams,
}

/// Pending and dead-lettered counts of every target of one kind, in one query (a list page
/// must not ask once per row); targets with neither are absent.
pub async fn counts_of_all(
    pool: &AnyPool,
    kind: Targets,
) -> Result<HashMap<String, (i64, i64)>, sqlx::Error> {
    let table = match kind {
        Targets::Webhooks => "webhook_endpoints",
        Targets::SsfStreams => "ssf_streams",
    };
    let rows = sqlx::query(&format!(
        "SELECT t.id AS id, \
                COALESCE(SUM(CASE WHEN o.state = 'pending' THEN 1 ELSE 0 END), 0) AS pending, \
                COALESCE(SUM(CASE WHEN o.state = 'dead' THEN 1 ELSE 0 END), 0) AS dead \
         FROM {table} t JOIN outbox o ON o.target_id = t.id AND o.state <> 'delivered' \
         GROUP BY t.id"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                (r.try_get("pending")?, r.try_get("dead")?),
            ))
        })
        .collect()
}
