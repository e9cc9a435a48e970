//! Long work as jobs: bulk status changes and CSV imports. A job validates first, then writes one
//! transaction per batch, reporting progress in the `jobs` table so any instance can show it.
use crate::model::jobs::{Job, JobReport, JobState};
use crate::model::users::*;
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use crate::server::service::users;
use serde_json::json;

pub mod import;

pub fn new_job_id() -> String {
    format!("j_{}", uuid::Uuid::new_v4().simple())
}

pub async fn get(db: &Db, id: &str) -> Result<Job, AppError> {
    db::jobs::get(&db.pool, id.trim())
        .await
        .map_err(internal)?
        .map(|(job, _)| job)
        .ok_or_else(|| AppError::NotFound("The job".into()))
}

/// What a bulk action applies to.
pub enum BulkTarget {
    /// Users picked one by one (at most `MAX_SELECTION`).
    Selection(Vec<String>),
    /// Everything matching a users-page filter.
    Filter(UserQuery),
}

const BATCH: usize = 100;

/// Starts a bulk status change and returns its job id. Bad input is refused before anything starts.
pub async fn start_bulk(
    db: &Db,
    auth: &Authorized,
    action: BulkAction,
    target: BulkTarget,
) -> Result<String, AppError> {
    let total = match &target {
        BulkTarget::Selection(ids) if ids.is_empty() => {
            return Err(AppError::invalid("ids", "Select at least one user."))
        }
        BulkTarget::Selection(ids) if ids.len() > MAX_SELECTION => {
            return Err(AppError::invalid(
                "ids",
                format!("At most {MAX_SELECTION} users can be selected one by one; apply the action to the whole filter instead."),
            ))
        }
        BulkTarget::Selection(ids) => ids.len() as u64,
        BulkTarget::Filter(q) => count_matching(db, q).await?,
    };
    let id = new_job_id();
    let filter = match &target {
        BulkTarget::Selection(ids) => json!({ "selection": ids }),
        BulkTarget::Filter(q) => {
            json!({ "filter": { "q": q.q, "status": q.status, "source": q.source } })
        }
    };
    let entry = Entry::new("users.bulk", Outcome::Success)
        .target("job", &id)
        .details(json!({ "action": action.as_str(), "target": filter, "total": total }));
    let mut tx = db.begin_write().await.map_err(internal)?;
    audit::record(&mut tx, &auth.actor(), &auth.meta, entry)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    db::jobs::insert(
        &db.pool,
        &id,
        "users.bulk",
        &auth.principal.email,
        JobState::Running,
        total,
        db::now_ms(),
    )
    .await
    .map_err(internal)?;
    let (db, auth, job) = (db.clone(), auth.clone(), id.clone());
    tokio::spawn(async move {
        let mut report = JobReport::default();
        let result = run_bulk(&db, &auth, &job, action, target, total, &mut report).await;
        let done = report.changed + report.skipped;
        let (state, summary) = match result {
            Ok(()) => (
                JobState::Done,
                format!(
                    "{} {} user{}; {} skipped.",
                    action.past_tense(),
                    report.changed,
                    if report.changed == 1 { "" } else { "s" },
                    report.skipped
                ),
            ),
            Err(e) => {
                tracing::error!(error = %e, job, "bulk action stopped");
                (
                    JobState::Failed,
                    format!(
                        "Stopped by an error after {} changes; those are kept and audited.",
                        report.changed
                    ),
                )
            }
        };
        if let Err(e) =
            db::jobs::finish(&db.pool, &job, state, done, &summary, &report, db::now_ms()).await
        {
            tracing::error!(error = %e, job, "could not record the end of a job");
        }
    });
    Ok(id)
}

async fn count_matching(db: &Db, q: &UserQuery) -> Result<u64, AppError> {
    if !q.q.trim().is_empty() {
        return Ok(users::list(db, q).await?.users.len() as u64);
    }
    let mut filters = Vec::new();
    if !q.status.trim().is_empty() {
        let s = UserStatus::parse(&q.status).map_err(|e| AppError::invalid("status", e))?;
        filters.push(("status", s.as_str().to_string()));
    }
    if !q.source.trim().is_empty() {
        filters.push(("source", q.source.trim().to_lowercase()));
    }
    let n = db::users::count_filtered(&db.pool, &filters)
        .await
        .map_err(internal)?;
    Ok(n.max(0) as u64)
}

async fn run_bulk(
    db: &Db,
    auth: &Authorized,
    job: &str,
    action: BulkAction,
    target: BulkTarget,
    total: u64,
    report: &mut JobReport,
) -> Result<(), AppError> {
    match target {
        BulkTarget::Selection(ids) => {
            for chunk in ids.chunks(BATCH) {
                apply_batch(db, auth, action, chunk, report).await?;
                progress(db, job, total, report).await;
            }
        }
        BulkTarget::Filter(mut q) => {
            q.after.clear();
            loop {
                let page = users::list(db, &q).await?;
                let ids: Vec<String> = page.users.iter().map(|u| u.id.clone()).collect();
                apply_batch(db, auth, action, &ids, report).await?;
                progress(db, job, total, report).await;
                match page.next {
                    Some(after) if q.q.trim().is_empty() => q.after = after,
                    _ => break,
                }
            }
        }
    }
    Ok(())
}

async fn progress(db: &Db, job: &str, total: u64, report: &JobReport) {
    let done = report.changed + report.skipped;
    if let Err(e) = db::jobs::progress(
        &db.pool,
        job,
        JobState::Running,
        total.max(done),
        done,
        db::now_ms(),
    )
    .await
    {
        tracing::warn!(error = %e, "could not record job progress");
    }
}

/// One transaction: every user changes (each with its audit record) or is skipped with the reason.
async fn apply_batch(
    db: &Db,
    auth: &Authorized,
    action: BulkAction,
    ids: &[String],
    report: &mut JobReport,
) -> Result<(), AppError> {
    let mut tx = db.begin_write().await.map_err(internal)?;
    let mut batch = JobReport::default();
    for id in ids {
        let Some(before) = db::users::get(&mut tx, id).await.map_err(internal)? else {
            batch.skipped += 1;
            batch.problem(0, id.as_str(), "No such user (deleted meanwhile?).");
            continue;
        };
        match users::apply_status(db, &mut tx, auth, &before, action.target()).await {
            Ok(()) => batch.changed += 1,
            Err(AppError::Invalid { message, .. }) | Err(AppError::Conflict(message)) => {
                batch.skipped += 1;
                batch.problem(0, before.email.as_str(), message);
            }
            Err(e) => return Err(e),
        }
    }
    tx.commit().await.map_err(internal)?;
    report.changed += batch.changed;
    report.skipped += batch.skipped;
    for p in batch.problems {
        report.problem(p.line, p.subject, p.message);
    }
    Ok(())
}
