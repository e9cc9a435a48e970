//! SQL for background leases (issue 17, several instances): one row per task that must run once
//! across instances. Every write names the holder (instance id and process start), so an
//! instance that lost its lease never writes over its successor.
use crate::model::system::{BackgroundTask, DeliveryLease};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

/// Who holds a lease: an instance id and the start of its process.
#[derive(Clone, Copy, Debug)]
pub struct Holder<'a> {
    pub id: &'a str,
    pub started_at: i64,
}

/// Makes the task's row if it has none. `last_run_at` is when its schedule counts from: 0 runs
/// it at once, now waits one period.
pub async fn ensure(
    pool: &AnyPool,
    task: &str,
    last_run_at: i64,
    every_ms: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO background_leases (task, last_run_at, every_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (task) DO NOTHING",
    )
    .bind(task)
    .bind(last_run_at)
    .bind(every_ms)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Claims or renews the lease until `until` (compare-and-set: free when the last lease has run
/// out, or held by `me` already). The task's `last_run_at` when `me` holds it now, else `None`.
pub async fn claim(
    pool: &AnyPool,
    task: &str,
    me: Holder<'_>,
    now: i64,
    until: i64,
) -> Result<Option<i64>, sqlx::Error> {
    // SET reads the row as it was: `acquired_at` stays while the same holder renews.
    sqlx::query_scalar(
        "UPDATE background_leases SET \
           acquired_at = CASE WHEN holder = $2 AND holder_started_at = $3 THEN acquired_at ELSE $4 END, \
           holder = $2, holder_started_at = $3, renewed_at = $4, lease_until = $5 \
         WHERE task = $1 AND ((holder = $2 AND holder_started_at = $3) OR lease_until < $4) \
         RETURNING last_run_at",
    )
    .bind(task)
    .bind(me.id)
    .bind(me.started_at)
    .bind(now)
    .bind(until)
    .fetch_optional(pool)
    .await
}

/// Extends a lease `me` holds (during a long run); false when it was lost meanwhile.
pub async fn renew(
    pool: &AnyPool,
    task: &str,
    me: Holder<'_>,
    now: i64,
    until: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE background_leases SET renewed_at = $4, lease_until = $5 \
         WHERE task = $1 AND holder = $2 AND holder_started_at = $3",
    )
    .bind(task)
    .bind(me.id)
    .bind(me.started_at)
    .bind(now)
    .bind(until)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Counts a run that started at `started` and renews the lease; false when `me` lost it
/// meanwhile (the run is then not counted: the new holder's schedule decides).
#[allow(clippy::too_many_arguments)]
pub async fn record_run(
    pool: &AnyPool,
    task: &str,
    me: Holder<'_>,
    started: i64,
    every_ms: i64,
    error: &str,
    now: i64,
    until: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE background_leases SET runs = runs + 1, last_run_at = $4, every_ms = $5, \
           last_error = $6, renewed_at = $7, lease_until = $8 \
         WHERE task = $1 AND holder = $2 AND holder_started_at = $3",
    )
    .bind(task)
    .bind(me.id)
    .bind(me.started_at)
    .bind(started)
    .bind(every_ms)
    .bind(error)
    .bind(now)
    .bind(until)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Frees every lease `me` holds (a graceful shutdown): the others take over at once.
pub async fn release_all(pool: &AnyPool, me: Holder<'_>) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE background_leases SET holder = NULL, holder_started_at = 0, lease_until = 0 \
         WHERE holder = $1 AND holder_started_at = $2",
    )
    .bind(me.id)
    .bind(me.started_at)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

fn task(r: &AnyRow, now: i64) -> Result<BackgroundTask, sqlx::Error> {
    let lease_until: i64 = r.try_get("lease_until")?;
    let holder: Option<String> = r.try_get("holder")?;
    Ok(BackgroundTask {
        task: r.try_get("task")?,
        held: holder.is_some() && lease_until >= now,
        holder,
        holder_started_at: r.try_get("holder_started_at")?,
        acquired_at: r.try_get("acquired_at")?,
        renewed_at: r.try_get("renewed_at")?,
        lease_until,
        every_ms: r.try_get("every_ms")?,
        runs: r.try_get("runs")?,
        last_run_at: r.try_get("last_run_at")?,
        last_error: r.try_get("last_error")?,
    })
}

/// Every task's lease, by name; `held` judged at `now`.
pub async fn tasks(pool: &AnyPool, now: i64) -> Result<Vec<BackgroundTask>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT task, holder, holder_started_at, acquired_at, renewed_at, lease_until, every_ms, \
                runs, last_run_at, last_error \
         FROM background_leases ORDER BY task",
    )
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| task(r, now)).collect()
}

/// The per-target delivery leases: provisioning targets, webhook endpoints, Shared Signals
/// receivers and SIEM sinks, each with the instance delivering it now, if any. A provisioning
/// target is named by its application (one each). Sorted by the caller: the names' collations
/// differ between the tables on PostgreSQL.
pub async fn deliveries(pool: &AnyPool, now: i64) -> Result<Vec<DeliveryLease>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT 'provisioning' AS kind, a.id AS id, a.name AS name, t.status AS status, \
                t.lease_owner AS lease_owner, t.lease_until AS lease_until, \
                t.last_success_at AS success_at \
         FROM provisioning_targets t JOIN applications a ON a.id = t.application_id \
         UNION ALL SELECT 'webhook', id, url, status, lease_owner, lease_until, last_success_at \
         FROM webhook_endpoints \
         UNION ALL SELECT 'signals', id, name, status, lease_owner, lease_until, last_success_at \
         FROM ssf_streams \
         UNION ALL SELECT 'audit_sink', id, name, status, lease_owner, lease_until, delivered_at \
         FROM audit_sinks",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| -> Result<DeliveryLease, sqlx::Error> {
            let lease_until: i64 = r.try_get("lease_until")?;
            let owner: Option<String> = r.try_get("lease_owner")?;
            Ok(DeliveryLease {
                kind: r.try_get("kind")?,
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                status: r.try_get("status")?,
                holder: owner
                    .filter(|_| lease_until >= now)
                    .map(|o| crate::server::instance::id_of_owner(&o).to_string()),
                lease_until,
                last_success_at: r.try_get("success_at")?,
            })
        })
        .collect()
}
