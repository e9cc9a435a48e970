//! The support desk: MFA factors, the MFA reset, devices. Each function names its permission,
//! then calls the support service.
use crate::model::support::{
    Device, DeviceInput, DevicePage, DeviceQuery, Factor, FactorInput, Glance, MfaResetInput,
    MfaResetOutcome, ResetOptions, ResetRecord,
};
use crate::model::AppError;
#[cfg(feature = "ssr")]
use crate::model::{support::TrustState, Permission};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::{auth::guard::fail, auth::require, auth::require_fresh, service::support};

#[server(prefix = "/api", endpoint = "mfa/factors")]
pub async fn list_factors(user_id: String) -> Result<Vec<Factor>, AppError> {
    let (state, _) = require(Permission::ReadMfa).await?;
    support::factors(&state.db, &user_id).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "mfa/factors_of_guid")]
pub async fn factors_of_guid(id: String) -> Result<Vec<Factor>, AppError> {
    let (state, _) = require(Permission::ReadMfa).await?;
    support::factors_of_guid(&state.db, &id).await.map_err(fail)
}

/// Records a factor the identity provider reports (the API of a later issue calls the same service).
#[server(prefix = "/api", endpoint = "mfa/factors/add")]
pub async fn add_factor(user_id: String, input: FactorInput) -> Result<Factor, AppError> {
    let (state, auth) = require(Permission::ManageFactors).await?;
    support::add_factor(&state.db, &auth, &user_id, &input)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "mfa/factors/remove")]
pub async fn remove_factor(user_id: String, factor_id: String) -> Result<(), AppError> {
    let (state, auth) = require(Permission::ManageFactors).await?;
    support::remove_factor(&state.db, &auth, &user_id, &factor_id)
        .await
        .map_err(fail)
}

/// The verification checks and reasons the administrators configured.
#[server(prefix = "/api", endpoint = "mfa/options")]
pub async fn mfa_reset_options() -> Result<ResetOptions, AppError> {
    let (state, _) = require(Permission::ResetMfa).await?;
    Ok(support::options(&state.config.support))
}

#[server(prefix = "/api", endpoint = "mfa/reset")]
pub async fn reset_mfa(input: MfaResetInput) -> Result<MfaResetOutcome, AppError> {
    let (state, auth) = require_fresh(Permission::ResetMfa).await?;
    support::reset_mfa(
        &state.db,
        &state.config.support,
        &state.config.public_url,
        &auth,
        &input,
    )
    .await
    .map_err(fail)
}

/// The signed-in agent's recent resets (their tickets).
#[server(prefix = "/api", endpoint = "support/recent")]
pub async fn recent_resets() -> Result<Vec<ResetRecord>, AppError> {
    let (state, auth) = require(Permission::ResetMfa).await?;
    support::recent_resets(&state.db, &auth).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "support/search")]
pub async fn support_search(q: String) -> Result<Vec<Glance>, AppError> {
    let (state, _) = require(Permission::ResetMfa).await?;
    support::search(&state.db, &state.config.support, &q)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "support/glance")]
pub async fn support_glance(id: String) -> Result<Glance, AppError> {
    let (state, _) = require(Permission::ReadMfa).await?;
    support::glance(&state.db, &state.config.support, &id)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "devices/list")]
pub async fn list_devices(query: DeviceQuery) -> Result<DevicePage, AppError> {
    let (state, _) = require(Permission::ReadDevices).await?;
    support::devices(&state.db, &query).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "devices/of_user")]
pub async fn devices_of_user(id: String) -> Result<Vec<Device>, AppError> {
    let (state, _) = require(Permission::ReadDevices).await?;
    support::devices_of_user(&state.db, &id).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "devices/of_guid")]
pub async fn devices_of_guid(id: String) -> Result<Vec<Device>, AppError> {
    let (state, _) = require(Permission::ReadDevices).await?;
    support::devices_of_guid(&state.db, &id).await.map_err(fail)
}

/// Registers a device the identity provider reports (the API of a later issue calls the same service).
#[server(prefix = "/api", endpoint = "devices/register")]
pub async fn register_device(user_id: String, input: DeviceInput) -> Result<Device, AppError> {
    let (state, auth) = require(Permission::ManageDevices).await?;
    support::register_device(&state.db, &auth, &user_id, &input)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "devices/trust")]
pub async fn trust_device(id: String) -> Result<Device, AppError> {
    let (state, auth) = require(Permission::ManageDevices).await?;
    support::set_trust(&state.db, &auth, &id, TrustState::Trusted)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "devices/untrust")]
pub async fn untrust_device(id: String) -> Result<Device, AppError> {
    let (state, auth) = require(Permission::UntrustDevices).await?;
    support::set_trust(&state.db, &auth, &id, TrustState::Untrusted)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "devices/block")]
pub async fn block_device(id: String) -> Result<Device, AppError> {
    let (state, auth) = require(Permission::ManageDevices).await?;
    support::set_trust(&state.db, &auth, &id, TrustState::Blocked)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "devices/remove")]
pub async fn remove_device(id: String) -> Result<(), AppError> {
    let (state, auth) = require(Permission::ManageDevices).await?;
    support::remove_device(&state.db, &auth, &id)
        .await
        .map_err(fail)
}

/// Blocks every device not seen for `days` days, as a job; returns the job id.
#[server(prefix = "/api", endpoint = "devices/bulk_block")]
pub async fn bulk_block_devices(days: String) -> Result<String, AppError> {
    let (state, auth) = require(Permission::ManageDevices).await?;
    support::start_bulk_block(&state.db, &auth, &days)
        .await
        .map_err(fail)
}
