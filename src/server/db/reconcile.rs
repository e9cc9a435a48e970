//! SQL for reconciliation: who Gatehouse's side of a target is, the last report per target,
//! and the schedule (claimed with a compare-and-set so one instance runs a due check).
use super::Tx;
use sqlx::{AnyPool, Row};
use std::collections::{HashMap, HashSet};

/// The people (GUIDs) who should have an account in the target (assigned to its application
/// directly or through a group) and those Gatehouse made one for.
pub async fn gatehouse_side(
    pool: &AnyPool,
    target_id: &str,
    app_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT guid_id FROM app_assignments WHERE application_id = $2 \
         UNION SELECT u.guid_id FROM app_group_assignments ag \
           JOIN group_members m ON m.group_id = ag.group_id JOIN users u ON u.id = m.user_id \
           WHERE ag.application_id = $2 \
         UNION SELECT guid_id FROM provisioned_accounts WHERE target_id = $1",
    )
    .bind(target_id)
    .bind(app_id)
    .fetch_all(pool)
    .await
}

/// The accounts Gatehouse made in a target: GUID to the account's id there.
pub async fn provisioned(
    pool: &AnyPool,
    target_id: &str,
) -> Result<HashMap<String, String>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT guid_id, remote_id FROM provisioned_accounts WHERE target_id = $1")
            .bind(target_id)
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("guid_id")?, r.try_get("remote_id")?)))
        .collect()
}

/// Which of these GUIDs belong to a person in Gatehouse (any account, whatever its status).
pub async fn known_guids(pool: &AnyPool, guids: &[String]) -> Result<HashSet<String>, sqlx::Error> {
    let mut known = HashSet::new();
    // Bounded IN lists: both engines cap the number of bound values.
    for chunk in guids.chunks(500) {
        let sql = format!(
            "SELECT DISTINCT guid_id FROM users WHERE guid_id IN ({})",
            super::placeholders(chunk.len())
        );
        let mut query = sqlx::query_scalar::<_, String>(&sql);
        for g in chunk {
            query = query.bind(g);
        }
        known.extend(query.fetch_all(pool).await?);
    }
    Ok(known)
}

/// The last report's JSON and version.
pub async fn report(pool: &AnyPool, target_id: &str) -> Result<Option<(String, i64)>, sqlx::Error> {
    let row =
        sqlx::query("SELECT report, version FROM reconciliation_reports WHERE target_id = $1")
            .bind(target_id)
            .fetch_optional(pool)
            .await?;
    row.map(|r| Ok((r.try_get("report")?, r.try_get("version")?)))
        .transpose()
}

/// [`report`] inside a transaction (read before a fix updates it).
pub async fn report_in(tx: &mut Tx, target_id: &str) -> Result<Option<(String, i64)>, sqlx::Error> {
    let row =
        sqlx::query("SELECT report, version FROM reconciliation_reports WHERE target_id = $1")
            .bind(target_id)
            .fetch_optional(&mut **tx)
            .await?;
    row.map(|r| Ok((r.try_get("report")?, r.try_get("version")?)))
        .transpose()
}

/// A new check replaces the last one.
pub async fn replace_report(
    tx: &mut Tx,
    target_id: &str,
    checked_at: i64,
    report: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO reconciliation_reports (target_id, checked_at, report, version) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (target_id) DO UPDATE SET checked_at = excluded.checked_at, report = excluded.report, \
         version = reconciliation_reports.version + 1",
    )
    .bind(target_id)
    .bind(checked_at)
    .bind(report)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Saves a report's fix states if it is still at `version`; false when another fix or check
/// changed it meanwhile.
pub async fn update_report(
    tx: &mut Tx,
    target_id: &str,
    version: i64,
    report: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE reconciliation_reports SET report = $1, version = version + 1 \
         WHERE target_id = $2 AND version = $3",
    )
    .bind(report)
    .bind(target_id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Active targets whose scheduled check is due: id and the due time it was claimed at.
pub async fn due_checks(pool: &AnyPool, now: i64) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, reconcile_next_at FROM provisioning_targets \
         WHERE status = 'active' AND reconcile_every_hours > 0 AND reconcile_next_at <= $1 ORDER BY id",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("reconcile_next_at")?)))
        .collect()
}

/// Moves a due check to its next time if no other instance did first (compare-and-set on the
/// due time read): true for the one instance that runs it.
pub async fn claim_check(
    pool: &AnyPool,
    target_id: &str,
    due_at: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE provisioning_targets SET reconcile_next_at = $1 + reconcile_every_hours * 3600000 \
         WHERE id = $2 AND reconcile_next_at = $3 AND reconcile_every_hours > 0",
    )
    .bind(now)
    .bind(target_id)
    .bind(due_at)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
