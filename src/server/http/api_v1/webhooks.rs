//! `/api/v1/webhooks`: endpoints that receive audit events, signed per Standard Webhooks; their
//! delivery state, secret rotation, retry and replay.
use super::caller::ApiCaller;
use super::problem::Problem;
use super::provisioning::Replay;
use super::reply::{fail, fail_versioned, if_match, json, versioned, ApiJson, ApiResult};
use crate::model::webhooks::{WebhookInput, WebhookView, WebhookWithSecret};
use crate::model::Permission;
use crate::server::service::webhooks;
use crate::server::AppState;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use http::{header, HeaderMap, HeaderValue, StatusCode};

pub const TAG: &str = "webhooks";

/// Every webhook endpoint with its pending and dead-lettered counts (never the secret).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = TAG,
    responses((status = 200, description = "The endpoints, oldest first", body = Vec<WebhookView>)),
    security(("bearer" = ["webhooks:manage"])))]
pub async fn list(State(state): State<AppState>, caller: ApiCaller) -> ApiResult {
    caller
        .authorize(&state, Permission::ManageWebhooks, "GET /api/v1/webhooks")
        .await?;
    let all = webhooks::list(&state.db)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &all))
}

/// Make an endpoint. Its signing secret is in the answer this once. (No Idempotency-Key: a
/// stored answer would keep the secret.)
#[utoipa::path(post, path = "/api/v1/webhooks", tag = TAG, request_body = WebhookInput,
    responses(
        (status = 201, description = "Made; `secret` is shown this once", body = WebhookWithSecret, headers(("Location" = String))),
        (status = 400, description = "A field is not valid, or GATEHOUSE_SECRETS_KEY is not set", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhooks:manage"])))]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(input): ApiJson<WebhookInput>,
) -> ApiResult {
    let auth = caller
        .authorize(&state, Permission::ManageWebhooks, "POST /api/v1/webhooks")
        .await?;
    let key = state.config.outbox.secrets_key.as_ref();
    let made = webhooks::create(&state.db, &auth, key, &input)
        .await
        .map_err(|e| fail(&state, e))?;
    let mut res = json(StatusCode::CREATED, &made);
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/webhooks/{}", made.endpoint.id)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// Read an endpoint with its delivery state and newest failures.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "The endpoint", body = WebhookView, headers(("ETag" = String))),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhooks:manage"])))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    caller
        .authorize(
            &state,
            Permission::ManageWebhooks,
            "GET /api/v1/webhooks/{id}",
        )
        .await?;
    let endpoint = webhooks::view(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(versioned(StatusCode::OK, &endpoint, endpoint.version))
}

/// Change an endpoint's address, events, status or attempts, against the version in `If-Match`.
#[utoipa::path(put, path = "/api/v1/webhooks/{id}", tag = TAG, request_body = WebhookInput,
    params(("id" = String, Path), ("If-Match" = String, Header)),
    responses(
        (status = 200, description = "Changed", body = WebhookView, headers(("ETag" = String))),
        (status = 400, description = "A field is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed by someone else", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhooks:manage"])))]
pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<WebhookInput>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageWebhooks,
            "PUT /api/v1/webhooks/{id}",
        )
        .await?;
    let version = match if_match(&state, &headers)? {
        Some(v) => v,
        None => {
            webhooks::view(&state.db, &id)
                .await
                .map_err(|e| fail(&state, e))?
                .version
        }
    };
    let endpoint = webhooks::update(&state.db, &auth, &id, version, &input)
        .await
        .map_err(|e| fail_versioned(&state, e))?;
    Ok(versioned(StatusCode::OK, &endpoint, endpoint.version))
}

/// Delete an endpoint; its undelivered messages go with it.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhooks:manage"])))]
pub async fn delete(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageWebhooks,
            "DELETE /api/v1/webhooks/{id}",
        )
        .await?;
    webhooks::delete(&state.db, &auth, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A new signing secret, shown this once; the next delivery is signed with it.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/secret", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "The endpoint and its new secret", body = WebhookWithSecret),
        (status = 400, description = "GATEHOUSE_SECRETS_KEY is not set", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhooks:manage"])))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageWebhooks,
            "POST /api/v1/webhooks/{id}/secret",
        )
        .await?;
    let key = state.config.outbox.secrets_key.as_ref();
    let rotated = webhooks::rotate_secret(&state.db, &auth, key, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &rotated))
}

/// Send dead-lettered and waiting messages again now.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/retry", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "The endpoint", body = WebhookView),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhooks:manage"])))]
pub async fn retry(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageWebhooks,
            "POST /api/v1/webhooks/{id}/retry",
        )
        .await?;
    let endpoint = webhooks::retry_now(&state.db, &auth, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &endpoint))
}

/// Send every message from a number on again, delivered ones too (same `webhook-id`s).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/replay", tag = TAG, request_body = Replay,
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The endpoint", body = WebhookView),
        (status = 400, description = "No message number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhooks:manage"])))]
pub async fn replay(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Replay>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageWebhooks,
            "POST /api/v1/webhooks/{id}/replay",
        )
        .await?;
    let endpoint = webhooks::replay_from(&state.db, &auth, &id, body.from)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &endpoint))
}
