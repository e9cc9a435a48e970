//! `/api/v1/audit/events`: the audit log with every filter of the console's audit page.
use super::caller::ApiCaller;
use super::problem::Problem;
use super::reply::{fail, json, ApiQuery, ApiResult};
use crate::model::audit::{AuditEvent, AuditEventDetail, AuditQuery};
use crate::model::Permission;
use crate::server::http::exports;
use crate::server::service::audit::{self, ExportFormat};
use crate::server::AppState;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use http::{header, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const TAG: &str = "audit";

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// A range ending now: `1h`, `24h`, `7d` or `30d` (ignored when `from` is set).
    pub range: Option<String>,
    /// UTC date (`2026-11-23`) or date and time (`2026-11-23T10:00`), inclusive.
    pub from: Option<String>,
    /// UTC date or date and time, exclusive; a bare date means the end of that day.
    pub to: Option<String>,
    /// The actor's email, exactly.
    pub actor: Option<String>,
    /// An action (`user.update`) or a whole area (`user.*`).
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// `success`, `denied` or `failed`.
    pub outcome: Option<String>,
    pub ip: Option<String>,
    /// The `next` cursor of the previous page: only events older than it.
    pub before: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditList {
    /// Newest first.
    pub items: Vec<AuditEvent>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next: Option<i64>,
}

/// Search the audit log, newest first.
#[utoipa::path(get, path = "/api/v1/audit/events", tag = TAG, params(AuditFilter),
    responses(
        (status = 200, description = "A page of events", body = AuditList),
        (status = 400, description = "A filter is not valid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["audit:read"])))]
pub async fn search(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(filter): ApiQuery<AuditFilter>,
) -> ApiResult {
    caller
        .authorize(&state, Permission::ReadAudit, "GET /api/v1/audit/events")
        .await?;
    let query = query_of(filter);
    let result = audit::search(&state.db, &query)
        .await
        .map_err(|e| fail(&state, e))?;
    let mut res = json(
        StatusCode::OK,
        &AuditList {
            items: result.events,
            next: result.next_before,
        },
    )
    .into_response();
    if let Some(before) = result.next_before {
        let next = format!(
            "<{}/api/v1/audit/events?{}>; rel=\"next\"",
            state.config.public_url,
            AuditQuery {
                before: Some(before),
                ..query
            }
            .to_query_string(true)
        );
        if let Ok(v) = HeaderValue::from_str(&next) {
            res.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(res)
}

/// One event, with what it changed and its place in the chain: the hash it links to, whether its
/// own hash recomputes, and the events before and after with whether each link holds.
#[utoipa::path(get, path = "/api/v1/audit/events/{seq}", tag = TAG,
    params(("seq" = i64, Path, description = "The event's position in the chain")),
    responses(
        (status = 200, description = "The event", body = AuditEventDetail),
        (status = 400, description = "`seq` is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The log holds no such event (never written, or removed by retention)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["audit:read"])))]
pub async fn event(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(seq): Path<String>,
) -> ApiResult {
    caller
        .authorize(
            &state,
            Permission::ReadAudit,
            "GET /api/v1/audit/events/{seq}",
        )
        .await?;
    let seq: i64 = seq.parse().map_err(|_| {
        fail(
            &state,
            crate::model::AppError::Invalid {
                field: "seq".into(),
                message: format!(
                    "seq is an event's number, not {:?}",
                    crate::server::ssf_verify::clip(&seq, 40)
                ),
            },
        )
    })?;
    let detail = crate::server::service::audit_event::detail(&state.db, seq)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &detail))
}

#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormatParam {
    /// One JSON object per line, in chain order with hashes: the exact form for verification.
    #[default]
    Ndjson,
    Csv,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `ndjson` (default) or `csv`.
    pub format: Option<ExportFormatParam>,
}

/// Export every matching event in chain order, streamed in constant memory. The export is
/// itself audited with its filter.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = TAG, params(AuditFilter, ExportParams),
    responses(
        (status = 200, description = "The events, streamed",
         content((String = "application/x-ndjson"), (String = "text/csv"))),
        (status = 429, description = "Too many exports running for this owner", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["audit:export"])))]
pub async fn export(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(filter): ApiQuery<AuditFilter>,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> ApiResult {
    let auth = caller
        .authorize(&state, Permission::ExportAudit, "GET /api/v1/audit/export")
        .await?;
    let format = match params.format.unwrap_or_default() {
        ExportFormatParam::Ndjson => ExportFormat::Ndjson,
        ExportFormatParam::Csv => ExportFormat::Csv,
    };
    let query = query_of(filter);
    let body = exports::audit_export_body(&state, &auth, &query, format, None)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(exports::export_response(format, body))
}

fn query_of(filter: AuditFilter) -> AuditQuery {
    AuditQuery {
        range: filter.range.unwrap_or_default(),
        from: filter.from.unwrap_or_default(),
        to: filter.to.unwrap_or_default(),
        actor: filter.actor.unwrap_or_default(),
        action: filter.action.unwrap_or_default(),
        target_type: filter.target_type.unwrap_or_default(),
        target_id: filter.target_id.unwrap_or_default(),
        outcome: filter.outcome.unwrap_or_default(),
        ip: filter.ip.unwrap_or_default(),
        before: filter.before,
    }
}

/// Walk the whole chain and check every hash (and the signed checkpoints), as a job.
#[utoipa::path(post, path = "/api/v1/audit/verifications", tag = TAG,
    responses(
        (status = 202, description = "Started; follow the job", body = JobStarted, headers(("Location" = String))),
        (status = 429, description = "Too many heavy jobs running for this owner", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["audit:verify"])))]
pub async fn verify(State(state): State<AppState>, caller: ApiCaller) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::VerifyAudit,
            "POST /api/v1/audit/verifications",
        )
        .await?;
    let permit = state
        .heavy
        .try_start(&auth.principal.email)
        .map_err(|e| fail(&state, e))?;
    let id = audit::start_verify(&state.db, state.config.audit_trust(), &auth, permit)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(super::jobs::started(&id))
}

/// A started job: where to follow it.
#[derive(Serialize, ToSchema)]
pub struct JobStarted {
    pub job_id: String,
}
