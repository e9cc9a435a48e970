//! `/api/v1/jobs`: long work (bulk status changes, audit verification) and its progress.
use super::audit::JobStarted;
use super::caller::ApiCaller;
use super::problem::Problem;
use super::reply::{fail, json, ApiJson, ApiResult};
use crate::model::jobs::{BulkScope, Job};
use crate::model::users::{BulkAction, UserQuery, UserStatus};
use crate::model::{AppError, Permission};
use crate::server::service::jobs::{
    self,
    import::{self, MAX_IMPORT_BYTES},
};
use crate::server::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;

pub const TAG: &str = "jobs";

/// `202` with the job to follow.
pub fn started(id: &str) -> Response {
    let mut res = json(
        StatusCode::ACCEPTED,
        &JobStarted {
            job_id: id.to_string(),
        },
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/jobs/{id}")) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BulkActionParam {
    Suspend,
    Activate,
    Deprovision,
}

/// The users filter of a bulk action (as the users list's).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct BulkFilter {
    pub q: Option<String>,
    pub status: Option<UserStatus>,
    pub source: Option<String>,
}

/// Exactly one of `ids`, `filter` or `everyone`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(example = json!({"action": "suspend", "filter": {"q": "contractor", "status": "active", "source": "hr"}}))]
pub struct BulkRequest {
    pub action: BulkActionParam,
    /// Users picked one by one (at most 1000).
    pub ids: Option<Vec<String>>,
    /// Every user matching a non-empty filter.
    pub filter: Option<BulkFilter>,
    /// Every user; needs `confirm_count`.
    #[serde(default)]
    pub everyone: bool,
    /// The number of users the caller expects; refused when a different number matches now.
    pub confirm_count: Option<u64>,
}

/// Suspend, activate or deprovision many users as a job; follow it at `Location`.
#[utoipa::path(post, path = "/api/v1/jobs/user-status", tag = TAG, request_body = BulkRequest,
    responses(
        (status = 202, description = "Started", body = JobStarted, headers(("Location" = String))),
        (status = 409, description = "A different number of users matches now than confirmed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:write"])))]
pub async fn bulk_status(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(request): ApiJson<BulkRequest>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteUsers,
            "POST /api/v1/jobs/user-status",
        )
        .await?;
    let action = match request.action {
        BulkActionParam::Suspend => BulkAction::Suspend,
        BulkActionParam::Activate => BulkAction::Activate,
        BulkActionParam::Deprovision => BulkAction::Deprovision,
    };
    let filter = request.filter.map(|f| UserQuery {
        q: f.q.unwrap_or_default(),
        status: f.status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        source: f.source.unwrap_or_default(),
        ..UserQuery::default()
    });
    // The document promises an int64; a larger count is refused, not compared.
    if request.confirm_count.is_some_and(|n| n > i64::MAX as u64) {
        return Err(fail(
            &state,
            AppError::invalid(
                "confirm_count",
                "confirm_count is larger than any number of users",
            ),
        ));
    }
    let scope =
        BulkScope::from_request(request.ids, filter, request.everyone, request.confirm_count)
            .map_err(|e| fail(&state, e))?;
    let id = jobs::start_bulk(&state.db, &auth, action, scope)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(started(&id))
}

/// A job's progress, and its report once finished. The scope needed follows the job's kind:
/// `users:write` for users and devices jobs, `audit:verify` for audit jobs.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "The job", body = Job),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:write", "audit:verify"])))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    let needs = |job: &Job| {
        if job.kind.starts_with("audit.") {
            Permission::VerifyAudit
        } else {
            Permission::WriteUsers
        }
    };
    // Whether the job exists is only told to callers who may read some job.
    if !caller.principal.can(Permission::WriteUsers)
        && !caller.principal.can(Permission::VerifyAudit)
    {
        caller
            .authorize(&state, Permission::WriteUsers, "GET /api/v1/jobs/{id}")
            .await?;
    }
    let job = jobs::get(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    caller
        .authorize(&state, needs(&job), "GET /api/v1/jobs/{id}")
        .await?;
    if !(job.kind.starts_with("users.")
        || job.kind.starts_with("devices.")
        || job.kind.starts_with("audit."))
    {
        return Err(fail(&state, AppError::NotFound("The job".into())));
    }
    Ok(json(StatusCode::OK, &job))
}

/// Import users from CSV (the console's import format, header line first) as a job: every line
/// is checked before anything is written; follow the job for progress and the report.
#[utoipa::path(post, path = "/api/v1/jobs/user-import", tag = TAG,
    request_body(content = String, content_type = "text/csv", description = "The CSV file, at most 64 MB"),
    responses(
        (status = 202, description = "Started", body = JobStarted, headers(("Location" = String))),
        (status = 413, description = "The file is too large", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:write"])))]
pub async fn user_import(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: axum::body::Body,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteUsers,
            "POST /api/v1/jobs/user-import",
        )
        .await?;
    let Ok(bytes) = axum::body::to_bytes(body, MAX_IMPORT_BYTES).await else {
        return Err(super::caller::problem(
            &state,
            super::problem::Kind::TooLarge,
            format!(
                "The file is larger than {} MB; split it into smaller files.",
                MAX_IMPORT_BYTES / 1024 / 1024
            ),
        ));
    };
    if bytes.is_empty() {
        return Err(fail(
            &state,
            AppError::invalid("file", "Send the CSV file as the body."),
        ));
    }
    let permit = state
        .heavy
        .try_start(&auth.principal.email)
        .map_err(|e| fail(&state, e))?;
    let id = import::start(&state.db, &auth, "api-upload.csv", bytes.to_vec(), permit)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(started(&id))
}
