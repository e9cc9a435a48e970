//! Bulk actions on users and the progress of jobs.
use crate::model::jobs::Job;
use crate::model::users::UserQuery;
use crate::model::AppError;
#[cfg(feature = "ssr")]
use crate::model::Permission;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::{auth::guard::fail, auth::require, service::jobs};

/// Suspends, activates or deprovisions the selected users (`ids`), every user matching `filter`
/// (not empty), or every user (`everyone`, with `confirm_count` equal to the number of users).
/// `confirm_count` with a filter refuses the action when a different number matches now.
/// Returns the job whose progress the page follows.
#[server(prefix = "/api", endpoint = "users/bulk")]
pub async fn bulk_users(
    action: String,
    ids: Option<Vec<String>>,
    filter: Option<UserQuery>,
    everyone: Option<bool>,
    confirm_count: Option<u64>,
) -> Result<String, AppError> {
    use crate::model::jobs::BulkScope;
    use crate::model::users::BulkAction;
    let (state, auth) = require(Permission::WriteUsers).await?;
    let action = BulkAction::parse(&action).map_err(|e| fail(AppError::invalid("action", e)))?;
    let scope = BulkScope::from_request(ids, filter, everyone.unwrap_or(false), confirm_count)
        .map_err(fail)?;
    jobs::start_bulk(&state.db, &auth, action, scope)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "jobs/get")]
pub async fn get_job(id: String) -> Result<Job, AppError> {
    let (state, _) = require(Permission::WriteUsers).await?;
    match jobs::get(&state.db, &id).await {
        Ok(job) if job.kind.starts_with("users.") || job.kind.starts_with("devices.") => Ok(job),
        Ok(_) => Err(fail(AppError::NotFound("The job".into()))),
        Err(e) => Err(fail(e)),
    }
}
