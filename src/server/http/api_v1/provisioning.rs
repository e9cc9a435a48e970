//! `/api/v1/apps/{id}/provisioning`: an application's SCIM provisioning target, its delivery
//! state, retry and replay; and a person's accounts in the applications that provision.
use super::caller::ApiCaller;
use super::problem::Problem;
use super::reply::{fail, fail_versioned, if_match, json, versioned, ApiJson, ApiResult};
use crate::model::provisioning::{ProvisionedAccount, TargetInput, TargetView};
use crate::model::Permission;
use crate::server::service::provisioning;
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
