//! Long work as jobs: bulk status changes and CSV imports. A job validates first, then writes one
//! transaction per batch, reporting progress in the `jobs` table so any instance can show it.
use crate::model::jobs::{BulkScope, Job, JobReport, JobState};
use crate::model::users::*;
use crate::model::AppError;
use crate::server::auth::Authorized;
use crate::server::db::{self, Db};
use crate::server::internal;
use crate::server::service::audit::{self, Entry, Outcome};
use crate::server::service::user_list::Matcher;
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

/// Who a running bulk action walks over.
enum Walk {
    Selection(Vec<String>),
    /// Every user the matcher matches, a keyset page at a time (every page, search or not).
    Matching(Matcher),
}

/// The number of users that would be changed, checked against the number the person confirmed.
fn confirmed(total: u64, confirm_count: Option<u64>) -> Result<(), AppError> {
    match confirm_count {
        Some(n) if n != total => Err(AppError::Conflict(format!(
            "You confirmed {n} user{}, but {total} match now. Check the list and confirm again.",
            if n == 1 { "" } else { "s" }
        ))),
        _ => Ok(()),
    }
}

const BATCH: usize = 100;

/// Starts a bulk status change and returns its job id. Bad input is refused before anything starts.
pub async fn start_bulk(
    db: &Db,
    auth: &Authorized,
    action: BulkAction,
    scope: BulkScope,
) -> Result<String, AppError> {
    let (total, walk, described) = match scope {
        BulkScope::Selection(ids) if ids.is_empty() => {
            return Err(AppError::invalid(
                "ids",
                "Select at least one user, or choose a filter or every user.",
            ))
        }
        BulkScope::Selection(ids) if ids.len() > MAX_SELECTION => {
            return Err(AppError::invalid(
                "ids",
                format!("At most {MAX_SELECTION} users can be selected one by one; apply the action to the whole filter instead."),
            ))
        }
        BulkScope::Selection(ids) => {
            let described = json!({ "selection": ids });
            (ids.len() as u64, Walk::Selection(ids), described)
        }
        BulkScope::Matching {
            filter,
            confirm_count,
        } => {
            let matcher = Matcher::parse(&filter)?;
            if matcher.is_everyone() {
                return Err(AppError::invalid(
                    "filter",
                    "The filter is empty, so it would match every user; choose every user instead.",
                ));
            }
            let total = matcher.count(db).await?;
            confirmed(total, confirm_count)?;
            let described =
                json!({ "filter": { "q": filter.q, "status": filter.status, "source": filter.source } });
            (total, Walk::Matching(matcher), described)
        }
        BulkScope::Everyone { confirm_count } => {
            let matcher = Matcher::parse(&UserQuery::default())?;
            let total = matcher.count(db).await?;
            confirmed(total, Some(confirm_count))?;
            (total, Walk::Matching(matcher), json!("everyone"))
        }
    };
    let id = new_job_id();
    let entry = Entry::new("users.bulk", Outcome::Success)
        .target("job", &id)
        .details(json!({ "action": action.as_str(), "target": described, "total": total }));
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
        let result = run_bulk(&db, &auth, &job, action, walk, total, &mut report).await;
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

async fn run_bulk(
    db: &Db,
    auth: &Authorized,
    job: &str,
    action: BulkAction,
    walk: Walk,
    total: u64,
    report: &mut JobReport,
) -> Result<(), AppError> {
    match walk {
        Walk::Selection(ids) => {
            for chunk in ids.chunks(BATCH) {
                apply_batch(db, auth, action, chunk, report).await?;
                progress(db, job, total, report).await;
            }
        }
        Walk::Matching(matcher) => {
            // Keyset pages: a user changed by an earlier batch (and so no longer matching)
            // does not shift the later pages.
            let mut after = String::new();
            loop {
                let page = matcher.page(db, &after, BATCH as i64).await?;
                let ids: Vec<String> = page.users.iter().map(|u| u.id.clone()).collect();
                apply_batch(db, auth, action, &ids, report).await?;
                progress(db, job, total, report).await;
                match page.next {
                    Some(next) => after = next,
                    None => break,
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
    // Locked in id order before reading, so an overlapping job or import waits for this batch
    // and then sees its result (no lost update, no deadlock, each change audited once).
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    db::users::lock_users(&mut tx, db.engine, &refs)
        .await
        .map_err(internal)?;
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
