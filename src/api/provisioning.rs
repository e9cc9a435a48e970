//! Provisioning targets (SCIM out) on an application's page, and a person's accounts there.
use crate::model::provisioning::{ProvisionedAccount, TargetInput, TargetView};
#[cfg(feature = "ssr")]
use crate::model::reconcile::FixRequest;
use crate::model::reconcile::ReconciliationReport;
use crate::model::AppError;
#[cfg(feature = "ssr")]
use crate::model::Permission;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::{
    auth::guard::fail, auth::require, auth::require_fresh, service::apps, service::provisioning,
    service::reconcile,
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

#[cfg(feature = "ssr")]
fn reconciler(state: &crate::server::AppState) -> crate::server::service::reconcile::Reconciler {
    crate::server::service::reconcile::Reconciler::new(
        state.db.clone(),
        state.clock.clone(),
        state.config.outbox.clone(),
    )
}

/// The last reconciliation of the application's target; `None` before the first check.
#[server(prefix = "/api", endpoint = "provisioning/reconciliation")]
pub async fn get_reconciliation(id: String) -> Result<Option<ReconciliationReport>, AppError> {
    let (state, _) = require(Permission::ReadApps).await?;
    apps::get(&state.db, &id).await.map_err(fail)?;
    // An application without a target has no report: `None`, as before a first check (the
    // console asks on every application page; REST answers 404).
    match reconcile::last_report(&state.db, &id).await {
        Err(AppError::NotFound(_)) => Ok(None),
        other => other.map_err(fail),
    }
}

/// "Check now": reads the application's users and reports the drift.
#[server(prefix = "/api", endpoint = "provisioning/reconcile")]
pub async fn check_drift(id: String) -> Result<ReconciliationReport, AppError> {
    let (state, auth) = require(Permission::WriteApps).await?;
    reconciler(&state).check(&auth, &id).await.map_err(fail)
}

/// Fixes one drift row of the last check (the person's GUID).
#[server(prefix = "/api", endpoint = "provisioning/fix")]
pub async fn fix_drift(id: String, guid: String) -> Result<ReconciliationReport, AppError> {
    let (state, auth) = require(Permission::WriteApps).await?;
    let which = reconcile::Which::parse(&FixRequest {
        guid: Some(guid),
        all: false,
    })
    .map_err(fail)?;
    reconciler(&state)
        .fix(&auth, &id, which)
        .await
        .map_err(fail)
}

/// Fixes every drift row of the last check not fixed yet.
#[server(prefix = "/api", endpoint = "provisioning/fix_all")]
pub async fn fix_all_drift(id: String) -> Result<ReconciliationReport, AppError> {
    let (state, auth) = require(Permission::WriteApps).await?;
    reconciler(&state)
        .fix(&auth, &id, reconcile::Which::All)
        .await
        .map_err(fail)
}
