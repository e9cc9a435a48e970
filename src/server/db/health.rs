//! SQL for the readiness probe.
use sqlx::{AnyPool, Row};

/// One stored outbound credential (row id, sealed value), to check that the configured secrets
/// key opens what the database holds. `None` when nothing is sealed yet.
pub async fn one_sealed_credential(
    pool: &AnyPool,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, credential_sealed AS sealed FROM provisioning_targets WHERE credential_sealed <> '' \
         UNION ALL SELECT id, secret_sealed AS sealed FROM webhook_endpoints WHERE secret_sealed <> '' \
         UNION ALL SELECT id, credential_sealed AS sealed FROM audit_sinks WHERE credential_sealed <> '' \
         LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("sealed")?)))
        .transpose()
}
