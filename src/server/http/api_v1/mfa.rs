//! MFA: a user's factors, and the support desk's MFA reset with its checklist, reason and ticket.
use super::caller::ApiCaller;
use super::problem::Problem;
use super::reply::{fail, idempotent, json, ApiJson, ApiResult};
use crate::model::support::{Factor, FactorInput, MfaResetInput, MfaResetOutcome, ResetOptions};
use crate::model::Permission;
use crate::server::service::support;
use crate::server::AppState;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use http::{HeaderMap, StatusCode};

pub const TAG: &str = "mfa";

/// A user's MFA factors (secrets never leave the identity provider).
#[utoipa::path(get, path = "/api/v1/users/{id}/factors", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "The factors", body = Vec<Factor>),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["mfa:read"])))]
pub async fn factors(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    caller
        .authorize(
            &state,
            Permission::ReadMfa,
            "GET /api/v1/users/{id}/factors",
        )
        .await?;
    let list = support::factors(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &list))
}

/// Record a factor the identity provider reports.
#[utoipa::path(post, path = "/api/v1/users/{id}/factors", tag = TAG, request_body = FactorInput,
    params(("id" = String, Path)),
    responses(
        (status = 201, description = "Recorded", body = Factor),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The factor is recorded already", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["mfa:factors"])))]
pub async fn add_factor(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<FactorInput>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageFactors,
            "POST /api/v1/users/{id}/factors",
        )
        .await?;
    let factor = support::add_factor(&state.db, &auth, &id, &input)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::CREATED, &factor))
}

/// Remove one factor.
#[utoipa::path(delete, path = "/api/v1/users/{id}/factors/{factor_id}", tag = TAG,
    params(("id" = String, Path), ("factor_id" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such user or factor", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed for this person", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["mfa:factors"])))]
pub async fn remove_factor(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, factor_id)): Path<(String, String)>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageFactors,
            "DELETE /api/v1/users/{id}/factors/{factor_id}",
        )
        .await?;
    support::remove_factor(&state.db, &auth, &id, &factor_id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The verification checks and reasons a reset must name, as the administrators configured.
#[utoipa::path(get, path = "/api/v1/mfa/reset-options", tag = TAG,
    responses((status = 200, description = "The options", body = ResetOptions)),
    security(("bearer" = ["mfa:reset"])))]
pub async fn options(State(state): State<AppState>, caller: ApiCaller) -> ApiResult {
    caller
        .authorize(
            &state,
            Permission::ResetMfa,
            "GET /api/v1/mfa/reset-options",
        )
        .await?;
    Ok(json(
        StatusCode::OK,
        &support::options(&state.config.support),
    ))
}

/// Reset a person's MFA: the same checklist, reason, ticket, guard rails and hourly limit as
/// the support desk. The enrollment link is in the answer, this once.
#[utoipa::path(post, path = "/api/v1/mfa/resets", tag = TAG, request_body = MfaResetInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first answer")),
    responses(
        (status = 201, description = "Reset; `enrollment_link` is shown this once", body = MfaResetOutcome),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed for this person (staff, protected) or a key still running", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used with another body", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["mfa:reset"])))]
pub async fn reset(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    ApiJson(input): ApiJson<MfaResetInput>,
) -> ApiResult {
    let auth = caller
        .authorize(&state, Permission::ResetMfa, "POST /api/v1/mfa/resets")
        .await?;
    let body = serde_json::to_string(&input).unwrap_or_default();
    idempotent(&state, &caller, &headers, &body, async {
        let outcome = support::reset_mfa(
            &state.db,
            &state.config.support,
            &state.config.public_url,
            &auth,
            &input,
        )
        .await
        .map_err(|e| fail(&state, e))?;
        Ok(json(StatusCode::CREATED, &outcome))
    })
    .await
}
