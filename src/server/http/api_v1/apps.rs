//! `/api/v1/apps`: applications (OAuth clients), their secrets and the people assigned to them.
use super::caller::ApiCaller;
use super::problem::Problem;
use super::reply::{
    fail, fail_versioned, idempotent, if_match, json, page, versioned, ApiJson, ApiQuery, ApiResult,
};
use crate::model::apps::{
    AppDetail, AppInput, AppQuery, AppStatus, AppSummary, Assignment, NewSecret,
};
use crate::model::groups::GroupSummary;
use crate::model::Permission;
use crate::server::service::{app_groups, apps};
use crate::server::AppState;
use axum::extract::{Path, State};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const TAG: &str = "apps";

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AppFilter {
    /// A name prefix or an exact client id.
    pub q: Option<String>,
    pub status: Option<AppStatus>,
    /// `web`, `single_page`, `native` or `machine_to_machine`.
    pub kind: Option<String>,
    pub after: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AppList {
    pub items: Vec<AppSummary>,
    pub next: Option<String>,
}

/// List applications.
#[utoipa::path(get, path = "/api/v1/apps", tag = TAG, params(AppFilter),
    responses((status = 200, description = "A page of applications", body = AppList)),
    security(("bearer" = ["apps:read"])))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(filter): ApiQuery<AppFilter>,
) -> ApiResult {
    caller
        .authorize(&state, Permission::ReadApps, "GET /api/v1/apps")
        .await?;
    let query = AppQuery {
        q: filter.q.unwrap_or_default(),
        status: filter
            .status
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        kind: filter.kind.unwrap_or_default(),
        after: filter.after.unwrap_or_default(),
    };
    let result = apps::list(&state.db, &query)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(page(&state, "/api/v1/apps", &result.apps, result.next))
}

/// Register an application. Its first client secret (confidential clients) is in the answer,
/// this once.
#[utoipa::path(post, path = "/api/v1/apps", tag = TAG, request_body = AppInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first answer")),
    responses(
        (status = 201, description = "Registered; `secret` is shown this once", body = NewSecret, headers(("ETag" = String), ("Location" = String))),
        (status = 409, description = "A request with this key is still running", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used with another body", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:write"])))]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    ApiJson(input): ApiJson<AppInput>,
) -> ApiResult {
    let auth = caller
        .authorize(&state, Permission::WriteApps, "POST /api/v1/apps")
        .await?;
    let body = serde_json::to_string(&input).unwrap_or_default();
    idempotent(&state, &caller, &headers, &body, async {
        let created = apps::create(&state.db, &auth, &input)
            .await
            .map_err(|e| fail(&state, e))?;
        let mut res = versioned(StatusCode::CREATED, &created, created.app.version);
        if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/apps/{}", created.app.id)) {
            res.headers_mut().insert(header::LOCATION, v);
        }
        Ok(res)
    })
    .await
}

/// Read an application (never a secret, only hints).
#[utoipa::path(get, path = "/api/v1/apps/{id}", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "The application", body = AppDetail, headers(("ETag" = String))),
        (status = 404, description = "No such application", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:read"])))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    caller
        .authorize(&state, Permission::ReadApps, "GET /api/v1/apps/{id}")
        .await?;
    let app = apps::get(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(versioned(StatusCode::OK, &app, app.version))
}

/// Replace an application's settings, against the version in `If-Match`.
#[utoipa::path(put, path = "/api/v1/apps/{id}", tag = TAG, request_body = AppInput,
    params(("id" = String, Path), ("If-Match" = String, Header)),
    responses(
        (status = 200, description = "Changed", body = AppDetail, headers(("ETag" = String))),
        (status = 404, description = "No such application", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed by someone else", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:write"])))]
pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<AppInput>,
) -> ApiResult {
    let auth = caller
        .authorize(&state, Permission::WriteApps, "PUT /api/v1/apps/{id}")
        .await?;
    let version = match if_match(&state, &headers)? {
        Some(v) => v,
        None => {
            apps::get(&state.db, &id)
                .await
                .map_err(|e| fail(&state, e))?
                .version
        }
    };
    let app = apps::update(&state.db, &auth, &id, version, &input)
        .await
        .map_err(|e| fail_versioned(&state, e))?;
    Ok(versioned(StatusCode::OK, &app, app.version))
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(example = json!({"status": "disabled"}))]
pub struct AppStatusChange {
    pub status: AppStatus,
}

/// Enable or disable an application.
#[utoipa::path(post, path = "/api/v1/apps/{id}/status", tag = TAG, request_body = AppStatusChange,
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Changed", body = AppDetail, headers(("ETag" = String))),
        (status = 404, description = "No such application", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already in that status", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:write"])))]
pub async fn set_status(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<AppStatusChange>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteApps,
            "POST /api/v1/apps/{id}/status",
        )
        .await?;
    let app = apps::set_status(&state.db, &auth, &id, change.status.as_str())
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(versioned(StatusCode::OK, &app, app.version))
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(example = json!({"grace_seconds": 3600}))]
pub struct Rotation {
    /// Seconds the old secret keeps working: 0, 3600, 86400, 604800 or 2592000.
    pub grace_seconds: i64,
}

/// Issue a new client secret (shown this once); the old one ends after the grace period.
#[utoipa::path(post, path = "/api/v1/apps/{id}/secrets", tag = TAG, request_body = Rotation,
    params(("id" = String, Path)),
    responses(
        (status = 201, description = "The new secret, shown this once", body = NewSecret),
        (status = 404, description = "No such application", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The application has no secrets (public client)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:write"])))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(rotation): ApiJson<Rotation>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteApps,
            "POST /api/v1/apps/{id}/secrets",
        )
        .await?;
    let secret = apps::rotate_secret(&state.db, &auth, &id, rotation.grace_seconds)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::CREATED, &secret))
}

/// Revoke one client secret at once.
#[utoipa::path(delete, path = "/api/v1/apps/{id}/secrets/{secret_id}", tag = TAG,
    params(("id" = String, Path), ("secret_id" = String, Path)),
    responses(
        (status = 200, description = "Revoked", body = AppDetail),
        (status = 404, description = "No such application or secret", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already revoked, or the last valid secret", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:write"])))]
pub async fn revoke_secret(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, secret_id)): Path<(String, String)>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteApps,
            "DELETE /api/v1/apps/{id}/secrets/{secret_id}",
        )
        .await?;
    let app = apps::revoke_secret(&state.db, &auth, &id, &secret_id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &app))
}

/// The people assigned to an application.
#[utoipa::path(get, path = "/api/v1/apps/{id}/assignments", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "Assigned people", body = Vec<Assignment>),
        (status = 404, description = "No such application", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:read"])))]
pub async fn assignments(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    caller
        .authorize(
            &state,
            Permission::ReadApps,
            "GET /api/v1/apps/{id}/assignments",
        )
        .await?;
    apps::get(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    let list = apps::assignments(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &list))
}

/// Assign a person (a GUID, or any of their emails) to an application.
#[utoipa::path(put, path = "/api/v1/apps/{id}/assignments/{person}", tag = TAG,
    params(("id" = String, Path), ("person" = String, Path, description = "A GUID or an email")),
    responses(
        (status = 200, description = "Assigned people", body = Vec<Assignment>),
        (status = 404, description = "No such application or person", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already assigned", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:write"])))]
pub async fn assign(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, person)): Path<(String, String)>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteApps,
            "PUT /api/v1/apps/{id}/assignments/{person}",
        )
        .await?;
    let list = apps::assign(&state.db, &auth, &id, &person)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &list))
}

/// Remove a person's assignment.
#[utoipa::path(delete, path = "/api/v1/apps/{id}/assignments/{person}", tag = TAG,
    params(("id" = String, Path), ("person" = String, Path, description = "The GUID")),
    responses(
        (status = 200, description = "Assigned people", body = Vec<Assignment>),
        (status = 404, description = "No such application or assignment", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:write"])))]
pub async fn unassign(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, person)): Path<(String, String)>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteApps,
            "DELETE /api/v1/apps/{id}/assignments/{person}",
        )
        .await?;
    let list = apps::unassign(&state.db, &auth, &id, &person)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &list))
}

/// The groups assigned to an application (each member's person may use it).
#[utoipa::path(get, path = "/api/v1/apps/{id}/groups", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "Assigned groups by name", body = Vec<GroupSummary>),
        (status = 404, description = "No such application", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:read"])))]
pub async fn groups(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    caller
        .authorize(&state, Permission::ReadApps, "GET /api/v1/apps/{id}/groups")
        .await?;
    apps::get(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    let list = app_groups::of_app(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &list))
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(example = json!({"group": "Engineering"}))]
pub struct GroupAssignment {
    /// The group's id, or its name.
    pub group: String,
}

/// Assign a group: every member's person may use the application while a member.
#[utoipa::path(post, path = "/api/v1/apps/{id}/groups", tag = TAG, request_body = GroupAssignment,
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Assigned groups", body = Vec<GroupSummary>),
        (status = 400, description = "No such group", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:write"])))]
pub async fn assign_group(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<GroupAssignment>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteApps,
            "POST /api/v1/apps/{id}/groups",
        )
        .await?;
    let list = app_groups::assign(&state.db, &auth, &id, &body.group)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &list))
}

/// Unassign a group.
#[utoipa::path(delete, path = "/api/v1/apps/{id}/groups/{group_id}", tag = TAG,
    params(("id" = String, Path), ("group_id" = String, Path)),
    responses(
        (status = 200, description = "Assigned groups", body = Vec<GroupSummary>),
        (status = 404, description = "No such application or assignment", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:write"])))]
pub async fn unassign_group(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, group_id)): Path<(String, String)>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteApps,
            "DELETE /api/v1/apps/{id}/groups/{group_id}",
        )
        .await?;
    let list = app_groups::unassign(&state.db, &auth, &id, &group_id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &list))
}
