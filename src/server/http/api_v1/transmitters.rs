//! `/api/v1/signals/transmitters`: Shared Signals transmitters Gatehouse receives events from
//! (identity providers, MDMs), their keys and status. They push to `/ssf/receive`.
use super::caller::ApiCaller;
use super::problem::Problem;
use super::reply::{fail, json, versioned, ApiJson, ApiResult};
use super::signals::TAG;
use crate::model::ssf::{TransmitterDetail, TransmitterInput, TransmitterView};
use crate::model::Permission;
use crate::server::service::ssf_in;
use crate::server::AppState;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use http::{header, HeaderValue, StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;

/// Every transmitter with its counters (never its keys).
#[utoipa::path(get, path = "/api/v1/signals/transmitters", tag = TAG,
    responses((status = 200, description = "The transmitters, oldest first", body = Vec<TransmitterView>)),
    security(("bearer" = ["signals:manage"])))]
pub async fn list_transmitters(State(state): State<AppState>, caller: ApiCaller) -> ApiResult {
    caller
        .authorize(
            &state,
            Permission::ManageSignals,
            "GET /api/v1/signals/transmitters",
        )
        .await?;
    let all = ssf_in::list(&state.db).await.map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &all))
}

/// Register a transmitter; its keys are fetched at once (a failure is kept in `last_error`,
/// and the transmitter is registered all the same).
#[utoipa::path(post, path = "/api/v1/signals/transmitters", tag = TAG, request_body = TransmitterInput,
    responses(
        (status = 201, description = "Registered", body = TransmitterView, headers(("Location" = String))),
        (status = 400, description = "A field is not valid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["signals:manage"])))]
pub async fn create_transmitter(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(input): ApiJson<TransmitterInput>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageSignals,
            "POST /api/v1/signals/transmitters",
        )
        .await?;
    let made = ssf_in::create(&state.db, &auth, &state.config.public_url, &input)
        .await
        .map_err(|e| fail(&state, e))?;
    let mut res = versioned(StatusCode::CREATED, &made, made.version);
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/signals/transmitters/{}", made.id)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// Read a transmitter with the newest tokens received from it and the address it pushes to.
#[utoipa::path(get, path = "/api/v1/signals/transmitters/{id}", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "The transmitter", body = TransmitterDetail, headers(("ETag" = String))),
        (status = 404, description = "No such transmitter", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["signals:manage"])))]
pub async fn get_transmitter(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    caller
        .authorize(
            &state,
            Permission::ManageSignals,
            "GET /api/v1/signals/transmitters/{id}",
        )
        .await?;
    let detail = ssf_in::detail(&state.db, &state.config.public_url, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    let version = detail.transmitter.version;
    Ok(versioned(StatusCode::OK, &detail, version))
}

/// The fields to change, with the version they are made against; those left out keep their
/// value. An empty `jwks_uri` discovers it again from the issuer.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(example = json!({"version": 3, "name": "Corporate IdP (EU)", "max_age_seconds": 3600}))]
pub struct TransmitterPatch {
    /// The version read (a stale one: 409).
    pub version: i64,
    pub name: Option<String>,
    pub issuer: Option<String>,
    pub jwks_uri: Option<String>,
    pub audience: Option<String>,
    /// The provisioning source; empty: none.
    pub source_id: Option<String>,
    pub max_age_seconds: Option<i64>,
}

fn patched(current: &TransmitterView, p: TransmitterPatch) -> TransmitterInput {
    TransmitterInput {
        name: p.name.unwrap_or_else(|| current.name.clone()),
        issuer: p.issuer.unwrap_or_else(|| current.issuer.clone()),
        jwks_uri: p.jwks_uri.unwrap_or_else(|| current.jwks_uri.clone()),
        audience: p.audience.unwrap_or_else(|| current.audience.clone()),
        source_id: p
            .source_id
            .unwrap_or_else(|| current.source_id.clone().unwrap_or_default()),
        max_age_seconds: p.max_age_seconds.unwrap_or(current.max_age_seconds),
    }
}

/// Change a transmitter against the version read.
#[utoipa::path(patch, path = "/api/v1/signals/transmitters/{id}", tag = TAG, request_body = TransmitterPatch,
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Changed", body = TransmitterView, headers(("ETag" = String))),
        (status = 400, description = "A field is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such transmitter", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed by someone else since that version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["signals:manage"])))]
pub async fn update_transmitter(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<TransmitterPatch>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageSignals,
            "PATCH /api/v1/signals/transmitters/{id}",
        )
        .await?;
    let current = ssf_in::view(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    let version = patch.version;
    let input = patched(&current, patch);
    let changed = ssf_in::update(
        &state.db,
        &auth,
        &state.config.public_url,
        &id,
        version,
        &input,
    )
    .await
    .map_err(|e| fail(&state, e))?;
    Ok(versioned(StatusCode::OK, &changed, changed.version))
}

/// Remove a transmitter; its tokens are refused from now on.
#[utoipa::path(delete, path = "/api/v1/signals/transmitters/{id}", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such transmitter", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["signals:manage"])))]
pub async fn delete_transmitter(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageSignals,
            "DELETE /api/v1/signals/transmitters/{id}",
        )
        .await?;
    ssf_in::delete(&state.db, &auth, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Fetch the transmitter's keys again now (discovering their address when it has none). A
/// failure is kept in `last_error`; the cached keys stay.
#[utoipa::path(post, path = "/api/v1/signals/transmitters/{id}/keys", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "The transmitter, with its key count or the fetch's error", body = TransmitterView),
        (status = 404, description = "No such transmitter", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["signals:manage"])))]
pub async fn refresh_transmitter_keys(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageSignals,
            "POST /api/v1/signals/transmitters/{id}/keys",
        )
        .await?;
    let t = ssf_in::refresh_keys(&state.db, &auth, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &t))
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(example = json!({"status": "disabled"}))]
pub struct TransmitterStatus {
    /// `active` (its tokens are accepted) or `disabled` (refused).
    pub status: String,
}

/// Enable or disable a transmitter.
#[utoipa::path(post, path = "/api/v1/signals/transmitters/{id}/status", tag = TAG, request_body = TransmitterStatus,
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The transmitter", body = TransmitterView),
        (status = 400, description = "Not a status", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such transmitter", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["signals:manage"])))]
pub async fn transmitter_status(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TransmitterStatus>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageSignals,
            "POST /api/v1/signals/transmitters/{id}/status",
        )
        .await?;
    let t = ssf_in::set_status(&state.db, &auth, &id, &body.status)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &t))
}
