//! SQL for jobs: long work whose progress any instance can report.
use crate::model::jobs::{Job, JobReport, JobState};
use sqlx::{AnyPool, Row};

pub async fn insert(
    pool: &AnyPool,
    id: &str,
    kind: &str,
    actor_email: &str,
    state: JobState,
    total: u64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO jobs (id, kind, actor_email, state, total, done, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 0, $6, $6)",
    )
    .bind(id)
    .bind(kind)
    .bind(actor_email)
    .bind(state.as_str())
    .bind(total as i64)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn progress(
    pool: &AnyPool,
    id: &str,
    state: JobState,
    total: u64,
    done: u64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE jobs SET state = $1, total = $2, done = $3, updated_at = $4 WHERE id = $5")
        .bind(state.as_str())
        .bind(total as i64)
        .bind(done as i64)
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn finish(
    pool: &AnyPool,
    id: &str,
    state: JobState,
    done: u64,
    summary: &str,
    report: &JobReport,
    now: i64,
) -> Result<(), sqlx::Error> {
    let report = serde_json::to_string(report).unwrap_or_else(|_| "{}".into());
    sqlx::query(
        "UPDATE jobs SET state = $1, done = $2, summary = $3, report = $4, updated_at = $5 WHERE id = $6",
    )
    .bind(state.as_str())
    .bind(done as i64)
    .bind(summary)
    .bind(report)
    .bind(now)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// The job and the email of whoever started it.
pub async fn get(pool: &AnyPool, id: &str) -> Result<Option<(Job, String)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, kind, actor_email, state, total, done, summary, report, created_at, updated_at FROM jobs WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let report: String = r.try_get("report")?;
    let job = Job {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        state: JobState::parse(&r.try_get::<String, _>("state")?),
        total: r.try_get::<i64, _>("total")?.max(0) as u64,
        done: r.try_get::<i64, _>("done")?.max(0) as u64,
        summary: r.try_get("summary")?,
        report: serde_json::from_str(&report).unwrap_or_default(),
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    };
    Ok(Some((job, r.try_get("actor_email")?)))
}
