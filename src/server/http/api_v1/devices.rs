//! `/api/v1/devices`: the devices people sign in from, and their trust.
use super::caller::ApiCaller;
use super::problem::Problem;
use super::reply::{fail, json, page, ApiJson, ApiQuery, ApiResult};
use crate::model::support::{Device, DeviceInput, DeviceQuery, TrustState};
use crate::model::Permission;
use crate::server::service::support;
use crate::server::AppState;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const TAG: &str = "devices";

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeviceFilter {
    /// The owner: a user id (`u_...`) or an exact email.
    pub owner: Option<String>,
    /// `trusted`, `untrusted` or `blocked`.
    pub state: Option<String>,
    pub platform: Option<String>,
    /// Only devices not seen for at least this many days.
    pub stale_days: Option<u32>,
    pub after: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DeviceList {
    pub items: Vec<Device>,
    pub next: Option<String>,
}

/// List devices, most recently seen first.
#[utoipa::path(get, path = "/api/v1/devices", tag = TAG, params(DeviceFilter),
    responses((status = 200, description = "A page of devices", body = DeviceList)),
    security(("bearer" = ["devices:read"])))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(filter): ApiQuery<DeviceFilter>,
) -> ApiResult {
    caller
        .authorize(&state, Permission::ReadDevices, "GET /api/v1/devices")
        .await?;
    let query = DeviceQuery {
        owner: filter.owner.unwrap_or_default(),
        device: String::new(),
        state: filter.state.unwrap_or_default(),
        platform: filter.platform.unwrap_or_default(),
        stale_days: filter.stale_days.map(|d| d.to_string()).unwrap_or_default(),
        after: filter.after.unwrap_or_default(),
    };
    let result = support::devices(&state.db, &query)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(page(
        &state,
        "/api/v1/devices",
        &result.devices,
        result.next,
    ))
}

/// A user's devices.
#[utoipa::path(get, path = "/api/v1/users/{id}/devices", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "The user's devices", body = Vec<Device>),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["devices:read"])))]
pub async fn of_user(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    caller
        .authorize(
            &state,
            Permission::ReadDevices,
            "GET /api/v1/users/{id}/devices",
        )
        .await?;
    let list = support::devices_of_user(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &list))
}

/// Register a device the identity provider reports for a user.
#[utoipa::path(post, path = "/api/v1/users/{id}/devices", tag = TAG, request_body = DeviceInput,
    params(("id" = String, Path)),
    responses(
        (status = 201, description = "Registered", body = Device),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The device is registered already", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["devices:write"])))]
pub async fn register(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DeviceInput>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageDevices,
            "POST /api/v1/users/{id}/devices",
        )
        .await?;
    let device = support::register_device(&state.db, &auth, &id, &input)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::CREATED, &device))
}

#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TrustChange {
    Trusted,
    Untrusted,
    Blocked,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(example = json!({"trust_state": "blocked"}))]
pub struct DeviceTrust {
    pub trust_state: TrustChange,
}

/// Trust, untrust or block a device (a blocked device stays listed).
#[utoipa::path(put, path = "/api/v1/devices/{id}/trust", tag = TAG, request_body = DeviceTrust,
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Changed", body = Device),
        (status = 404, description = "No such device", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already in that state", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["devices:write"])))]
pub async fn set_trust(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<DeviceTrust>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageDevices,
            "PUT /api/v1/devices/{id}/trust",
        )
        .await?;
    let to = match change.trust_state {
        TrustChange::Trusted => TrustState::Trusted,
        TrustChange::Untrusted => TrustState::Untrusted,
        TrustChange::Blocked => TrustState::Blocked,
    };
    let device = support::set_trust(&state.db, &auth, &id, to)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &device))
}

/// Remove a device.
#[utoipa::path(delete, path = "/api/v1/devices/{id}", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such device", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["devices:write"])))]
pub async fn remove(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::ManageDevices,
            "DELETE /api/v1/devices/{id}",
        )
        .await?;
    support::remove_device(&state.db, &auth, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
