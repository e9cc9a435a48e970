//! `/api/v1/audit/sinks`: where the audit log is streamed for the SIEM (issue 17). Reading needs
//! `audit:sinks` or `audit:read` (the console's auditors read the sinks' state too); changing
//! needs `audit:sinks`.
use super::audit::TAG;
use super::caller::ApiCaller;
use super::problem::Problem;
use super::reply::{fail, json, versioned, ApiJson, ApiResult};
use crate::model::audit_sinks::{AuditSinkInput, AuditSinkView};
use crate::model::Permission;
use crate::server::auth::Authorized;
use crate::server::service::audit_sinks;
use crate::server::AppState;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use http::{header, HeaderValue, StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;

/// Reads are allowed with either scope: `audit:read` when the token has it, else `audit:sinks`
/// (whose denial is the one audited).
async fn may_read(state: &AppState, caller: &ApiCaller, what: &str) -> Result<Authorized, Problem> {
    let permission = if caller.principal.can(Permission::ReadAudit) {
        Permission::ReadAudit
    } else {
        Permission::ManageAuditSinks
    };
    caller.authorize(state, permission, what).await
}

/// Every sink with its cursor, lag and last error (never a token).
#[utoipa::path(get, path = "/api/v1/audit/sinks", tag = TAG,
    responses((status = 200, description = "The sinks, oldest first", body = Vec<AuditSinkView>)),
    security(("bearer" = ["audit:sinks", "audit:read"])))]
pub async fn list(State(state): State<AppState>, caller: ApiCaller) -> ApiResult {
    may_read(&state, &caller, "GET /api/v1/audit/sinks").await?;
    let all = audit_sinks::list(&state.db)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &all))
}

/// Make a sink. It starts with its own creation record, or at `from_seq`; its token is stored
/// encrypted and never shown again.
#[utoipa::path(post, path = "/api/v1/audit/sinks", tag = TAG, request_body = AuditSinkInput,
    responses(
        (status = 201, description = "Made", body = AuditSinkView, headers(("Location" = String), ("ETag" = String))),
        (status = 400, description = "A field is not valid, or a token needs GATEHOUSE_SECRETS_KEY", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["audit:sinks"])))]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(input): ApiJson<AuditSinkInput>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageAuditSinks,
            "POST /api/v1/audit/sinks",
        )
        .await?;
    let key = state.config.audit_stream.secrets_key.as_ref();
    let made = audit_sinks::create(&state.db, &auth, key, &input)
        .await
        .map_err(|e| fail(&state, e))?;
    let mut res = versioned(StatusCode::CREATED, &made, made.version);
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/audit/sinks/{}", made.id)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// Read a sink's settings and state.
#[utoipa::path(get, path = "/api/v1/audit/sinks/{id}", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "The sink", body = AuditSinkView, headers(("ETag" = String))),
        (status = 404, description = "No such sink", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["audit:sinks", "audit:read"])))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    may_read(&state, &caller, "GET /api/v1/audit/sinks/{id}").await?;
    let sink = audit_sinks::view(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(versioned(StatusCode::OK, &sink, sink.version))
}

/// The fields to change, with the version they are made against; those left out keep their
/// value. An empty or missing token keeps the stored one.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(example = json!({"version": 2, "url": "https://splunk-2.example.com:8088", "batch_size": "1000"}))]
pub struct AuditSinkPatch {
    /// The version read (a stale one: 409).
    pub version: i64,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub format: Option<String>,
    pub url: Option<String>,
    pub token: Option<String>,
    pub batch_size: Option<String>,
}

fn patched(current: &AuditSinkView, p: AuditSinkPatch) -> AuditSinkInput {
    AuditSinkInput {
        name: p.name.unwrap_or_else(|| current.name.clone()),
        kind: p.kind.unwrap_or_else(|| current.kind.clone()),
        format: p.format.unwrap_or_else(|| current.format.clone()),
        url: p.url.unwrap_or_else(|| current.url.clone()),
        token: p.token.unwrap_or_default(),
        batch_size: p
            .batch_size
            .unwrap_or_else(|| current.batch_size.to_string()),
        from_seq: String::new(),
    }
}

/// Change a sink against the version read. The cursor stays (use replay to move it). Sinks of
/// GATEHOUSE_AUDIT_SINKS are changed there (409).
#[utoipa::path(patch, path = "/api/v1/audit/sinks/{id}", tag = TAG, request_body = AuditSinkPatch,
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Changed", body = AuditSinkView, headers(("ETag" = String))),
        (status = 400, description = "A field is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such sink", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed by someone else since that version, or configured by the environment", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["audit:sinks"])))]
pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<AuditSinkPatch>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageAuditSinks,
            "PATCH /api/v1/audit/sinks/{id}",
        )
        .await?;
    let current = audit_sinks::view(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    let version = patch.version;
    let input = patched(&current, patch);
    let key = state.config.audit_stream.secrets_key.as_ref();
    let changed = audit_sinks::update(&state.db, &auth, key, &id, version, &input)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(versioned(StatusCode::OK, &changed, changed.version))
}

/// Remove a sink; nothing more is sent to it. Sinks of GATEHOUSE_AUDIT_SINKS are removed there
/// (409).
#[utoipa::path(delete, path = "/api/v1/audit/sinks/{id}", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such sink", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Configured by the environment", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["audit:sinks"])))]
pub async fn delete(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageAuditSinks,
            "DELETE /api/v1/audit/sinks/{id}",
        )
        .await?;
    audit_sinks::delete(&state.db, &auth, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(example = json!({"from": 120000}))]
pub struct SinkReplay {
    /// The audit event (`seq`) to send again from, in order: the cursor moves to `from - 1`.
    pub from: i64,
}

/// Send every event from a sequence number on again.
#[utoipa::path(post, path = "/api/v1/audit/sinks/{id}/replay", tag = TAG, request_body = SinkReplay,
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The sink, its cursor moved back", body = AuditSinkView),
        (status = 400, description = "Not an event the chain holds (before the retention anchor, or past the head)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such sink", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["audit:sinks"])))]
pub async fn replay(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SinkReplay>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageAuditSinks,
            "POST /api/v1/audit/sinks/{id}/replay",
        )
        .await?;
    let sink = audit_sinks::replay_from(&state.db, &auth, &id, body.from)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &sink))
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(example = json!({"status": "paused"}))]
pub struct SinkStatusChange {
    /// `active` (sending) or `paused` (the cursor waits; nothing is lost).
    pub status: String,
}

/// Pause or resume a sink.
#[utoipa::path(post, path = "/api/v1/audit/sinks/{id}/status", tag = TAG, request_body = SinkStatusChange,
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The sink", body = AuditSinkView),
        (status = 400, description = "Not a status", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such sink", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["audit:sinks"])))]
pub async fn status(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SinkStatusChange>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageAuditSinks,
            "POST /api/v1/audit/sinks/{id}/status",
        )
        .await?;
    let sink = audit_sinks::set_status(&state.db, &auth, &id, &body.status)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &sink))
}
