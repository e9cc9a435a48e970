//! Provisioning targets (SCIM out) on an application's page, and a person's accounts there.
use crate::model::provisioning::{ProvisionedAccount, TargetInput, TargetView};
use crate::model::AppError;
#[cfg(feature = "ssr")]
use crate::model::Permission;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::{
    auth::guard::fail, auth::require, auth::require_fresh, service::apps, service::provisioning,
};

/// The application's target and its delivery state; `None` when it has none.
#[server(prefix = "/api", endpoint = "provisioning/get")]
pub async fn get_target(id: String) -> Result<Option<TargetView>, AppError> {
    let (state, _) = require(Permission::ReadApps).await?;
    apps::get(&state.db, &id).await.map_err(fail)?;
    provisioning::view(&state.db, &id).await.map_err(fail)
}

/// Creates or changes the target. `version` is 0 when there was none.
#[server(prefix = "/api", endpoint = "provisioning/save")]
pub async fn save_target(
    id: String,
    version: i64,
    input: TargetInput,
) -> Result<TargetView, AppError> {
    let (state, auth) = require_fresh(Permission::WriteApps).await?;
    let key = state.config.outbox.secrets_key.as_ref();
    provisioning::configure(
        &state.db,
        &auth,
        key,
        &id,
        (version > 0).then_some(version),
        &input,
    )
    .await
    .map_err(fail)
}

#[server(prefix = "/api", endpoint = "provisioning/retry")]
pub async fn retry_deliveries(id: String) -> Result<TargetView, AppError> {
    let (state, auth) = require(Permission::WriteApps).await?;
    provisioning::retry_now(&state.db, &auth, &id)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "provisioning/replay")]
pub async fn replay_deliveries(id: String, seq: i64) -> Result<TargetView, AppError> {
    let (state, auth) = require(Permission::WriteApps).await?;
    provisioning::replay_from(&state.db, &auth, &id, seq)
        .await
        .map_err(fail)
}

/// A person's accounts in the applications Gatehouse provisions.
#[server(prefix = "/api", endpoint = "provisioning/of_person")]
pub async fn accounts_of_person(guid: String) -> Result<Vec<ProvisionedAccount>, AppError> {
    let (state, _) = require(Permission::ReadApps).await?;
    provisioning::of_person(&state.db, &guid)
        .await
        .map_err(fail)
}
