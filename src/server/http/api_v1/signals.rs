//! `/api/v1/signals/receivers`: Shared Signals receivers (each configures its own stream with
//! its token); their delivery state, status, token rotation, retry and replay.
use super::caller::ApiCaller;
use super::problem::Problem;
use super::provisioning::Replay;
use super::reply::{fail, fail_versioned, if_match, json, versioned, ApiJson, ApiResult};
use crate::model::ssf::{ReceiverInput, ReceiverView, ReceiverWithToken};
use crate::model::Permission;
use crate::server::service::ssf;
use crate::server::AppState;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use http::{header, HeaderMap, HeaderValue, StatusCode};

pub const TAG: &str = "signals";

/// Every receiver with its pending and dead-lettered counts (never the token).
#[utoipa::path(get, path = "/api/v1/signals/receivers", tag = TAG,
    responses((status = 200, description = "The receivers, oldest first", body = Vec<ReceiverView>)),
    security(("bearer" = ["signals:manage"])))]
pub async fn list(State(state): State<AppState>, caller: ApiCaller) -> ApiResult {
    caller
        .authorize(
            &state,
            Permission::ManageSignals,
            "GET /api/v1/signals/receivers",
        )
        .await?;
    let all = ssf::list(&state.db).await.map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &all))
}

/// Register a receiver. Its token is in the answer this once. (No Idempotency-Key: a stored
/// answer would keep the token.)
#[utoipa::path(post, path = "/api/v1/signals/receivers", tag = TAG, request_body = ReceiverInput,
    responses(
        (status = 201, description = "Registered; `token` is shown this once", body = ReceiverWithToken, headers(("Location" = String))),
        (status = 400, description = "A field is not valid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["signals:manage"])))]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(input): ApiJson<ReceiverInput>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageSignals,
            "POST /api/v1/signals/receivers",
        )
        .await?;
    let made = ssf::create(&state.db, &auth, &input)
        .await
        .map_err(|e| fail(&state, e))?;
    let mut res = json(StatusCode::CREATED, &made);
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/signals/receivers/{}", made.receiver.id))
    {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// Read a receiver with its stream, delivery state and newest failures.
#[utoipa::path(get, path = "/api/v1/signals/receivers/{id}", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "The receiver", body = ReceiverView, headers(("ETag" = String))),
        (status = 404, description = "No such receiver", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["signals:manage"])))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    caller
        .authorize(
            &state,
            Permission::ManageSignals,
            "GET /api/v1/signals/receivers/{id}",
        )
        .await?;
    let receiver = ssf::view(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(versioned(StatusCode::OK, &receiver, receiver.version))
}

/// Change a registration (name, application, audience, subject format, attempts), against the
/// version in `If-Match`.
#[utoipa::path(put, path = "/api/v1/signals/receivers/{id}", tag = TAG, request_body = ReceiverInput,
    params(("id" = String, Path), ("If-Match" = String, Header)),
    responses(
        (status = 200, description = "Changed", body = ReceiverView, headers(("ETag" = String))),
        (status = 400, description = "A field is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such receiver", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed by someone else", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["signals:manage"])))]
pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<ReceiverInput>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageSignals,
            "PUT /api/v1/signals/receivers/{id}",
        )
        .await?;
    let version = match if_match(&state, &headers)? {
        Some(v) => v,
        None => {
            ssf::view(&state.db, &id)
                .await
                .map_err(|e| fail(&state, e))?
                .version
        }
    };
    let receiver = ssf::update(&state.db, &auth, &id, version, &input)
        .await
        .map_err(|e| fail_versioned(&state, e))?;
    Ok(versioned(StatusCode::OK, &receiver, receiver.version))
}

/// Remove a receiver; its token stops working and its undelivered events go with it.
#[utoipa::path(delete, path = "/api/v1/signals/receivers/{id}", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such receiver", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["signals:manage"])))]
pub async fn delete(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageSignals,
            "DELETE /api/v1/signals/receivers/{id}",
        )
        .await?;
    ssf::delete(&state.db, &auth, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A new token, shown this once; the old one stops working at once.
#[utoipa::path(post, path = "/api/v1/signals/receivers/{id}/token", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "The receiver and its new token", body = ReceiverWithToken),
        (status = 404, description = "No such receiver", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["signals:manage"])))]
pub async fn rotate_token(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageSignals,
            "POST /api/v1/signals/receivers/{id}/token",
        )
        .await?;
    let rotated = ssf::rotate_token(&state.db, &auth, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &rotated))
}

/// Send dead-lettered and waiting events again now.
#[utoipa::path(post, path = "/api/v1/signals/receivers/{id}/retry", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "The receiver", body = ReceiverView),
        (status = 404, description = "No such receiver", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["signals:manage"])))]
pub async fn retry(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageSignals,
            "POST /api/v1/signals/receivers/{id}/retry",
        )
        .await?;
    let receiver = ssf::retry_now(&state.db, &auth, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &receiver))
}

/// Send every event from a message number on again, delivered ones too (same `jti`s).
#[utoipa::path(post, path = "/api/v1/signals/receivers/{id}/replay", tag = TAG, request_body = Replay,
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The receiver", body = ReceiverView),
        (status = 400, description = "No message number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such receiver", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["signals:manage"])))]
pub async fn replay(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Replay>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageSignals,
            "POST /api/v1/signals/receivers/{id}/replay",
        )
        .await?;
    let receiver = ssf::replay_from(&state.db, &auth, &id, body.from)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &receiver))
}

#[derive(Clone, Debug, serde::Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"status": "paused", "reason": "Receiver maintenance"}))]
pub struct StatusChange {
    /// `enabled`, `paused` (events are kept) or `disabled` (nothing is kept).
    pub status: String,
    #[serde(default)]
    pub reason: String,
}

/// Pause, disable or enable a receiver's stream.
#[utoipa::path(post, path = "/api/v1/signals/receivers/{id}/status", tag = TAG, request_body = StatusChange,
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The receiver", body = ReceiverView),
        (status = 400, description = "Not a status", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such receiver", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["signals:manage"])))]
pub async fn status(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StatusChange>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageSignals,
            "POST /api/v1/signals/receivers/{id}/status",
        )
        .await?;
    let receiver = ssf::set_status(&state.db, &auth, &id, &body.status, &body.reason)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &receiver))
}
