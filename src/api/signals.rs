//! Shared Signals receivers in the console: list, register (the token is shown once), change,
//! rotate the token, pause or resume, remove, retry and replay.
use crate::model::ssf::{ReceiverInput, ReceiverView, ReceiverWithToken};
use crate::model::AppError;
#[cfg(feature = "ssr")]
use crate::model::Permission;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::{auth::guard::fail, auth::require, auth::require_fresh, service::ssf};

/// What the receivers page needs besides the list: whether Gatehouse can sign at all, and the
/// discovery address to hand a receiver.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SignalsOverview {
    pub receivers: Vec<ReceiverView>,
    /// `GATEHOUSE_SSF_SIGNING_KEY` is set.
    pub transmitting: bool,
    /// `…/.well-known/ssf-configuration`.
    pub discovery_url: String,
}

#[server(prefix = "/api", endpoint = "signals/list")]
pub async fn list_receivers() -> Result<SignalsOverview, AppError> {
    let (state, _) = require(Permission::ManageSignals).await?;
    Ok(SignalsOverview {
        receivers: ssf::list(&state.db).await.map_err(fail)?,
        transmitting: state.config.outbox.ssf_keys.is_some(),
        discovery_url: format!("{}/.well-known/ssf-configuration", state.config.public_url),
    })
}

#[server(prefix = "/api", endpoint = "signals/get")]
pub async fn get_receiver(id: String) -> Result<ReceiverView, AppError> {
    let (state, _) = require(Permission::ManageSignals).await?;
    ssf::view(&state.db, &id).await.map_err(fail)
}

/// Handing out a receiver token needs a recent sign-in.
#[server(prefix = "/api", endpoint = "signals/create")]
pub async fn create_receiver(input: ReceiverInput) -> Result<ReceiverWithToken, AppError> {
    let (state, auth) = require_fresh(Permission::ManageSignals).await?;
    ssf::create(&state.db, &auth, &input).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "signals/save")]
pub async fn save_receiver(
    id: String,
    version: i64,
    input: ReceiverInput,
) -> Result<ReceiverView, AppError> {
    let (state, auth) = require_fresh(Permission::ManageSignals).await?;
    ssf::update(&state.db, &auth, &id, version, &input)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "signals/rotate")]
pub async fn rotate_receiver_token(id: String) -> Result<ReceiverWithToken, AppError> {
    let (state, auth) = require_fresh(Permission::ManageSignals).await?;
    ssf::rotate_token(&state.db, &auth, &id).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "signals/status")]
pub async fn set_receiver_status(
    id: String,
    status: String,
    reason: String,
) -> Result<ReceiverView, AppError> {
    let (state, auth) = require(Permission::ManageSignals).await?;
    ssf::set_status(&state.db, &auth, &id, &status, &reason)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "signals/delete")]
pub async fn delete_receiver(id: String) -> Result<(), AppError> {
    let (state, auth) = require(Permission::ManageSignals).await?;
    ssf::delete(&state.db, &auth, &id).await.map_err(fail)?;
    leptos_axum::redirect("/signals");
    Ok(())
}

#[server(prefix = "/api", endpoint = "signals/retry")]
pub async fn retry_receiver(id: String) -> Result<ReceiverView, AppError> {
    let (state, auth) = require(Permission::ManageSignals).await?;
    ssf::retry_now(&state.db, &auth, &id).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "signals/replay")]
pub async fn replay_receiver(id: String, seq: i64) -> Result<ReceiverView, AppError> {
    let (state, auth) = require(Permission::ManageSignals).await?;
    ssf::replay_from(&state.db, &auth, &id, seq)
        .await
        .map_err(fail)
}
