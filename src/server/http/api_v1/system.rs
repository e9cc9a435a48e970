//! `GET /api/v1/system/background` (issue 17, several instances): which instance holds each
//! background task's lease and each destination's delivery lease; `GET /api/v1/system/info`
//! (issue 18): version, commit, engine, readiness and the effective configuration, secrets
//! redacted. Scope `system:read`.
use super::caller::ApiCaller;
use super::reply::{fail, json, ApiResult};
use crate::model::system::{BackgroundWork, SystemInfo};
use crate::model::Permission;
use crate::server::service::leases;
use crate::server::AppState;
use axum::extract::State;
use http::StatusCode;

pub const TAG: &str = "system";

/// Every task that runs once across instances, with the instance holding its lease (since
/// when, until when), its runs and its last run and error; and every destination's delivery
/// lease. `answered_by` names the instance that answered.
#[utoipa::path(get, path = "/api/v1/system/background", tag = TAG,
    responses((status = 200, description = "The leases, as the answering instance sees them", body = BackgroundWork)),
    security(("bearer" = ["system:read"])))]
pub async fn background(State(state): State<AppState>, caller: ApiCaller) -> ApiResult {
    caller
        .authorize(
            &state,
            Permission::ReadSystem,
            "GET /api/v1/system/background",
        )
        .await?;
    let work: BackgroundWork = leases::background_work(&state)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &work))
}

/// The version and commit this instance was built from, its database engine, the checks of
/// `/readyz`, and every `GATEHOUSE_*` setting read at start: as set, or `null` when the default
/// applies; keys, tokens, secrets and the database password redacted.
#[utoipa::path(get, path = "/api/v1/system/info", tag = TAG,
    responses((status = 200, description = "This instance", body = SystemInfo)),
    security(("bearer" = ["system:read"])))]
pub async fn info(State(state): State<AppState>, caller: ApiCaller) -> ApiResult {
    caller
        .authorize(&state, Permission::ReadSystem, "GET /api/v1/system/info")
        .await?;
    let info = crate::server::http::health::system_info(&state).await;
    Ok(json(StatusCode::OK, &info))
}
