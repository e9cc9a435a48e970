//! `/api/v1/keys`: API keys that gateways verify (issue, rotate, revoke, expiry). The key itself
//! is in the answer that issues it, once; every other answer shows only its prefix.
use super::caller::ApiCaller;
use super::problem::Problem;
use super::reply::{fail, idempotent, json, page, ApiJson, ApiQuery, ApiResult};
use crate::model::apps::{IssuedKey, KeyInput, KeyQuery, KeySummary};
use crate::model::Permission;
use crate::server::service::keys;
use crate::server::AppState;
use axum::extract::{Path, State};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const TAG: &str = "keys";

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeyFilter {
    /// `active`, `revoked` or `expired`.
    pub status: Option<String>,
    pub application_id: Option<String>,
    /// Only keys that expire within this many days.
    pub expiring_days: Option<u32>,
    /// Only keys not used for this many days (never used counts).
    pub unused_days: Option<u32>,
    pub after: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct KeyList {
    pub items: Vec<KeySummary>,
    pub next: Option<String>,
}

/// List API keys.
#[utoipa::path(get, path = "/api/v1/keys", tag = TAG, params(KeyFilter),
    responses((status = 200, description = "A page of keys", body = KeyList)),
    security(("bearer" = ["apps:read"])))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(filter): ApiQuery<KeyFilter>,
) -> ApiResult {
    caller
        .authorize(&state, Permission::ReadApps, "GET /api/v1/keys")
        .await?;
    let query = KeyQuery {
        status: filter.status.unwrap_or_default(),
        application_id: filter.application_id.unwrap_or_default(),
        expiring_days: filter
            .expiring_days
            .map(|d| d.to_string())
            .unwrap_or_default(),
        unused_days: filter
            .unused_days
            .map(|d| d.to_string())
            .unwrap_or_default(),
        after: filter.after.unwrap_or_default(),
    };
    let result = keys::list(&state.db, &query)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(page(&state, "/api/v1/keys", &result.keys, result.next))
}

/// Issue a key for an application (or a person's key on it). The key is in `key`, this once.
#[utoipa::path(post, path = "/api/v1/keys", tag = TAG, request_body = KeyInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first answer")),
    responses(
        (status = 201, description = "Issued; `key` is shown this once", body = IssuedKey, headers(("Location" = String))),
        (status = 404, description = "No such application", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request with this key is still running", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used with another body", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:write"])))]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    ApiJson(input): ApiJson<KeyInput>,
) -> ApiResult {
    let auth = caller
        .authorize(&state, Permission::WriteApps, "POST /api/v1/keys")
        .await?;
    let body = serde_json::to_string(&input).unwrap_or_default();
    idempotent(&state, &caller, &headers, &body, async {
        let issued = keys::create(&state.db, &auth, &input)
            .await
            .map_err(|e| fail(&state, e))?;
        let mut res = json(StatusCode::CREATED, &issued);
        if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/keys/{}", issued.summary.id)) {
            res.headers_mut().insert(header::LOCATION, v);
        }
        Ok(res)
    })
    .await
}

/// Read a key (never its secret).
#[utoipa::path(get, path = "/api/v1/keys/{id}", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "The key", body = KeySummary),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:read"])))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    caller
        .authorize(&state, Permission::ReadApps, "GET /api/v1/keys/{id}")
        .await?;
    let key = keys::get(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &key))
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(example = json!({"grace_seconds": 86400}))]
pub struct KeyRotation {
    /// Seconds the old key keeps working: 0, 3600, 86400, 604800 or 2592000.
    pub grace_seconds: i64,
}

/// Replace a key: a new key (shown this once) and the old one ends after the grace period.
#[utoipa::path(post, path = "/api/v1/keys/{id}/rotate", tag = TAG, request_body = KeyRotation,
    params(("id" = String, Path)),
    responses(
        (status = 201, description = "The new key, shown this once", body = IssuedKey),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The key is revoked or already replaced", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:write"])))]
pub async fn rotate(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(rotation): ApiJson<KeyRotation>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteApps,
            "POST /api/v1/keys/{id}/rotate",
        )
        .await?;
    let issued = keys::rotate(&state.db, &auth, &id, rotation.grace_seconds)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::CREATED, &issued))
}

/// Revoke a key at once (every instance refuses it within a second).
#[utoipa::path(post, path = "/api/v1/keys/{id}/revoke", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "Revoked", body = KeySummary),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already revoked", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:write"])))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteApps,
            "POST /api/v1/keys/{id}/revoke",
        )
        .await?;
    let key = keys::revoke(&state.db, &auth, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &key))
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(example = json!({"expires": "2027-06-30"}))]
pub struct Expiry {
    /// `YYYY-MM-DD` (the end of that day, UTC), or empty for no expiry.
    pub expires: String,
}

/// Set or clear a key's expiry.
#[utoipa::path(put, path = "/api/v1/keys/{id}/expiry", tag = TAG, request_body = Expiry,
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Changed", body = KeySummary),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The key is revoked", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["apps:write"])))]
pub async fn set_expiry(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(expiry): ApiJson<Expiry>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteApps,
            "PUT /api/v1/keys/{id}/expiry",
        )
        .await?;
    let key = keys::set_expiry(&state.db, &auth, &id, &expiry.expires)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &key))
}
