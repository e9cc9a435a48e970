//! `/api/v1/people/{guid}/revoke-everywhere`, `/api/v1/people/{guid}/sign-out-everywhere` and
//! `/api/v1/revocations/{id}`: one action on a person, answered at once (202) with the targets
//! it queued; follow `Location` until every target is confirmed or failed.
use super::caller::ApiCaller;
use super::problem::Problem;
use super::reply::{fail, idempotent, json, ApiJson, ApiResult};
use crate::model::revocations::{RevocationInput, RevocationProgress};
use crate::model::Permission;
use crate::server::service::revocations;
use crate::server::AppState;
use axum::extract::{Path, State};
use axum::response::Response;
use http::{header, HeaderMap, HeaderValue, StatusCode};

pub const TAG: &str = "people";

/// `202` with the progress so far and where to follow it.
fn accepted(p: &RevocationProgress) -> Response {
    let mut res = json(StatusCode::ACCEPTED, p);
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/revocations/{}", p.revocation.id)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

fn example() -> serde_json::Value {
    serde_json::json!({
        "revocation": {
            "id": "rev_0193b1d3c2a87f1e9e4b5a6c7d8e9f01", "guid": "g_01h2xcejqtf2nbrexx3vqjhp42",
            "kind": "revoke", "actor": "admin@example.com", "reason": "Laptop stolen",
            "ticket": "SEC-4711", "created_at": 1733560000000_i64, "settled_at": null
        },
        "targets": [
            {"kind": "account", "id": "u_0193b1d3", "name": "ada@example.com", "href": "/users/u_0193b1d3",
             "state": "done", "detail": "Suspended (was active)", "messages": 0, "attempts": 0, "error": ""},
            {"kind": "application", "id": "pt_5e1f", "name": "Wiki", "href": "/apps/app_5e1f",
             "state": "waiting", "detail": "2 messages queued", "messages": 2, "attempts": 0, "error": ""},
            {"kind": "receiver", "id": "ssf_8c2d", "name": "Payroll sessions", "href": "/signals/ssf_8c2d",
             "state": "confirmed", "detail": "2 events accepted", "messages": 2, "attempts": 1, "error": ""}
        ],
        "outbound": 2, "confirmed": 1, "waiting": 1, "failed": 0, "done": 1, "settled": false
    })
}

/// Revoke a person everywhere: suspend every active account, revoke the API keys they own and
/// the personal tokens of staff with one of their emails, end those staff's console sessions,
/// deactivate the person in every provisioned application and send account-disabled and
/// session-revoked to every Shared Signals receiver. A token acts on non-staff people only.
#[utoipa::path(post, path = "/api/v1/people/{guid}/revoke-everywhere", tag = TAG,
    request_body = RevocationInput,
    params(
        ("guid" = String, Path, description = "The person's GUID (an absorbed GUID acts on its survivor)"),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first answer"),
    ),
    responses(
        (status = 202, description = "Done here, deliveries queued; follow `Location`", body = RevocationProgress,
            headers(("Location" = String)), example = json!(example())),
        (status = 403, description = "The token lacks the scope, or the person is staff or protected (a console act)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such GUID", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The person has no accounts", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used with another body", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["people:revoke"])))]
pub async fn revoke_everywhere(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    Path(guid): Path<String>,
    ApiJson(input): ApiJson<RevocationInput>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::RevokeEverywhere,
            "POST /api/v1/people/{guid}/revoke-everywhere",
        )
        .await?;
    let body = format!(
        "{guid}\n{}",
        serde_json::to_string(&input).unwrap_or_default()
    );
    idempotent(&state, &caller, &headers, &body, async {
        let p =
            revocations::revoke_everywhere(&state.db, &state.config.support, &auth, &guid, &input)
                .await
                .map_err(|e| fail(&state, e))?;
        Ok(accepted(&p))
    })
    .await
}

/// Sign a person out everywhere: end the console sessions of staff with one of their emails and
/// send session-revoked to every Shared Signals receiver. Statuses, keys and applications stay
/// as they are.
#[utoipa::path(post, path = "/api/v1/people/{guid}/sign-out-everywhere", tag = TAG,
    request_body = RevocationInput,
    params(
        ("guid" = String, Path, description = "The person's GUID (an absorbed GUID acts on its survivor)"),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first answer"),
    ),
    responses(
        (status = 202, description = "Sessions ended, events queued; follow `Location`", body = RevocationProgress, headers(("Location" = String))),
        (status = 403, description = "The token lacks the scope, or the person is staff or protected", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such GUID", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The person has no accounts", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used with another body", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["people:sign_out"])))]
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    Path(guid): Path<String>,
    ApiJson(input): ApiJson<RevocationInput>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::SignOutEverywhere,
            "POST /api/v1/people/{guid}/sign-out-everywhere",
        )
        .await?;
    let body = format!(
        "{guid}\n{}",
        serde_json::to_string(&input).unwrap_or_default()
    );
    idempotent(&state, &caller, &headers, &body, async {
        let p = revocations::sign_out_everywhere(
            &state.db,
            &state.config.support,
            &auth,
            &guid,
            &input,
        )
        .await
        .map_err(|e| fail(&state, e))?;
        Ok(accepted(&p))
    })
    .await
}

/// Where each target of a revocation stands: `waiting` (with attempts and the last error),
/// `confirmed`, `failed`, or `done` (in Gatehouse itself). `settled` once every target has
/// finished; the audit log then holds one `<action>.settled` record with each outcome.
#[utoipa::path(get, path = "/api/v1/revocations/{id}", tag = TAG,
    params(("id" = String, Path, description = "`rev_...`")),
    responses(
        (status = 200, description = "The progress", body = RevocationProgress, example = json!(example())),
        (status = 404, description = "No such revocation", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:read"])))]
pub async fn progress(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    caller
        .authorize(
            &state,
            Permission::ReadUsers,
            "GET /api/v1/revocations/{id}",
        )
        .await?;
    let p = revocations::progress(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &p))
}
