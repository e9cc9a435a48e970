//! `/api/v1/apps/{id}/provisioning`: an application's SCIM provisioning target, its delivery
//! state, retry and replay, reconciliation (check, last report, fix); and a person's accounts
//! in the applications that provision.
use super::caller::ApiCaller;
use super::problem::Problem;
use super::reply::{fail, fail_versioned, if_match, json, versioned, ApiJson, ApiResult};
use crate::model::provisioning::{ProvisionedAccount, TargetInput, TargetView};
use crate::model::reconcile::{FixRequest, ReconciliationReport};
use crate::model::{AppError, Permission};
use crate::server::service::provisioning;
use crate::server::service::reconcile::{self, Reconciler, Which};
use crate::server::AppState;
use axum::extract::{Path, State};
use http::{header, HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;

pub const TAG: &str = "provisioning";

/// Read an application's provisioning target and its delivery state (never the credential).
#[utoipa::path(get, path = "/api/v1/apps/{id}/provisioning", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "The target", body = TargetView, headers(("ETag" = String))),
        (status = 404, description = "No such application, or it has no target", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:read"])))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    caller
        .authorize(
            &state,
            Permission::ReadApps,
            "GET /api/v1/apps/{id}/provisioning",
        )
        .await?;
    let target = provisioning::view_required(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(versioned(StatusCode::OK, &target, target.version))
}

/// Create the target (no If-Match), or change it against the version in `If-Match`. An empty
/// credential keeps the stored one.
#[utoipa::path(put, path = "/api/v1/apps/{id}/provisioning", tag = TAG, request_body = TargetInput,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Required to change an existing target")),
    responses(
        (status = 200, description = "Saved", body = TargetView, headers(("ETag" = String))),
        (status = 400, description = "A field is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed by someone else, or it exists and If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:write"])))]
pub async fn put(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<TargetInput>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteApps,
            "PUT /api/v1/apps/{id}/provisioning",
        )
        .await?;
    let version = match headers.get(header::IF_MATCH) {
        None => None,
        Some(_) => match if_match(&state, &headers)? {
            Some(v) => Some(v),
            None => provisioning::view(&state.db, &id)
                .await
                .map_err(|e| fail(&state, e))?
                .map(|t| t.version),
        },
    };
    let key = state.config.outbox.secrets_key.as_ref();
    let target = provisioning::configure(&state.db, &auth, key, &id, version, &input)
        .await
        .map_err(|e| fail_versioned(&state, e))?;
    Ok(versioned(StatusCode::OK, &target, target.version))
}

/// Send dead-lettered and waiting messages again now.
#[utoipa::path(post, path = "/api/v1/apps/{id}/provisioning/retry", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "The target", body = TargetView),
        (status = 404, description = "No such application, or it has no target", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:write"])))]
pub async fn retry(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteApps,
            "POST /api/v1/apps/{id}/provisioning/retry",
        )
        .await?;
    let target = provisioning::retry_now(&state.db, &auth, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &target))
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(example = json!({"from": 1042}))]
pub struct Replay {
    /// The message number (`seq`) to send again from, in order.
    pub from: i64,
}

/// Send every message from a number on again, delivered ones too.
#[utoipa::path(post, path = "/api/v1/apps/{id}/provisioning/replay", tag = TAG, request_body = Replay,
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The target", body = TargetView),
        (status = 400, description = "No message number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or it has no target", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:write"])))]
pub async fn replay(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Replay>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteApps,
            "POST /api/v1/apps/{id}/provisioning/replay",
        )
        .await?;
    let target = provisioning::replay_from(&state.db, &auth, &id, body.from)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &target))
}

/// A person's accounts in the applications Gatehouse provisions.
#[utoipa::path(get, path = "/api/v1/people/{guid}/provisioning", tag = TAG, params(("guid" = String, Path)),
    responses((status = 200, description = "One entry per application with a target that knows the person", body = Vec<ProvisionedAccount>)),
    security(("bearer" = ["apps:read"])))]
pub async fn of_person(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(guid): Path<String>,
) -> ApiResult {
    caller
        .authorize(
            &state,
            Permission::ReadApps,
            "GET /api/v1/people/{guid}/provisioning",
        )
        .await?;
    let list = provisioning::of_person(&state.db, &guid)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &list))
}

fn reconciler(state: &AppState) -> Reconciler {
    Reconciler::new(
        state.db.clone(),
        state.clock.clone(),
        state.config.outbox.clone(),
    )
}

/// Check now: read the application's users and report the drift from what Gatehouse decides.
/// The report is kept as the target's last one.
#[utoipa::path(post, path = "/api/v1/apps/{id}/provisioning/reconcile", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "The drift found", body = ReconciliationReport),
        (status = 404, description = "No such application, or it has no target", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The application could not be read (recorded as a failed check)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The target's credential cannot be read (GATEHOUSE_SECRETS_KEY)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:write"])))]
pub async fn reconcile(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteApps,
            "POST /api/v1/apps/{id}/provisioning/reconcile",
        )
        .await?;
    let report = reconciler(&state)
        .check(&auth, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &report))
}

/// The last reconciliation report of the application's target, with each row's fix state.
#[utoipa::path(get, path = "/api/v1/apps/{id}/provisioning/reconciliation", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "The last report", body = ReconciliationReport),
        (status = 404, description = "No such application, no target, or no check yet", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:read"])))]
pub async fn reconciliation(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    caller
        .authorize(
            &state,
            Permission::ReadApps,
            "GET /api/v1/apps/{id}/provisioning/reconciliation",
        )
        .await?;
    let report = reconcile::last_report(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?
        .ok_or_else(|| {
            fail(
                &state,
                AppError::NotFound("A reconciliation report (no check has been made yet)".into()),
            )
        })?;
    Ok(json(StatusCode::OK, &report))
}

/// Fix the drift of the last check: one row (`guid`) or every row not fixed yet (`all`).
/// The application is made to match Gatehouse; an extra account of an unknown GUID is
/// deactivated, never deleted.
#[utoipa::path(post, path = "/api/v1/apps/{id}/provisioning/reconciliation/fix", tag = TAG, request_body = FixRequest,
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The report with each row's fix state", body = ReconciliationReport),
        (status = 400, description = "Neither a GUID nor all, or both", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, no target, or no such row in the last check", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No check yet, the last check failed, the row is fixed already, or deliveries hold the target", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The application refused or did not answer (recorded)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The target's credential cannot be read (GATEHOUSE_SECRETS_KEY)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:write"])))]
pub async fn fix(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<FixRequest>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteApps,
            "POST /api/v1/apps/{id}/provisioning/reconciliation/fix",
        )
        .await?;
    let which = Which::parse(&body).map_err(|e| fail(&state, e))?;
    let report = reconciler(&state)
        .fix(&auth, &id, which)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &report))
}
