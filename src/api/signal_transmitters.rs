//! Shared Signals transmitters in the console (Gatehouse as receiver): list, read with the
//! tokens received, register, change, enable or disable, fetch the keys again, remove.
use crate::model::ssf::{TransmitterDetail, TransmitterInput, TransmitterView};
use crate::model::AppError;
#[cfg(feature = "ssr")]
use crate::model::Permission;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::{auth::guard::fail, auth::require, service::ssf_in};

#[server(prefix = "/api", endpoint = "signals/transmitters/list")]
pub async fn list_transmitters() -> Result<Vec<TransmitterView>, AppError> {
    let (state, _) = require(Permission::ManageSignals).await?;
    ssf_in::list(&state.db).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "signals/transmitters/get")]
pub async fn get_transmitter(id: String) -> Result<TransmitterDetail, AppError> {
    let (state, _) = require(Permission::ManageSignals).await?;
    ssf_in::detail(&state.db, &state.config.public_url, &id)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "signals/transmitters/create")]
pub async fn create_transmitter(input: TransmitterInput) -> Result<TransmitterView, AppError> {
    let (state, auth) = require(Permission::ManageSignals).await?;
    ssf_in::create(&state.db, &auth, &state.config.public_url, &input)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "signals/transmitters/save")]
pub async fn save_transmitter(
    id: String,
    version: i64,
    input: TransmitterInput,
) -> Result<TransmitterView, AppError> {
    let (state, auth) = require(Permission::ManageSignals).await?;
    ssf_in::update(
        &state.db,
        &auth,
        &state.config.public_url,
        &id,
        version,
        &input,
    )
    .await
    .map_err(fail)
}

/// `active` or `disabled`.
#[server(prefix = "/api", endpoint = "signals/transmitters/status")]
pub async fn set_transmitter_status(
    id: String,
    status: String,
) -> Result<TransmitterView, AppError> {
    let (state, auth) = require(Permission::ManageSignals).await?;
    ssf_in::set_status(&state.db, &auth, &id, &status)
        .await
        .map_err(fail)
}

/// Fetches the transmitter's keys again now; a failure shows as its `last_error`.
#[server(prefix = "/api", endpoint = "signals/transmitters/keys")]
pub async fn refresh_transmitter_keys(id: String) -> Result<TransmitterView, AppError> {
    let (state, auth) = require(Permission::ManageSignals).await?;
    ssf_in::refresh_keys(&state.db, &auth, &id)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "signals/transmitters/delete")]
pub async fn delete_transmitter(id: String) -> Result<(), AppError> {
    let (state, auth) = require(Permission::ManageSignals).await?;
    ssf_in::delete(&state.db, &auth, &id).await.map_err(fail)?;
    leptos_axum::redirect("/signals");
    Ok(())
}
