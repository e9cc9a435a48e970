//! Applications and API keys: each function names its permission, then calls the service.
use crate::model::apps::{
    AppDetail, AppInput, AppPage, AppQuery, Assignment, IssuedKey, KeyInput, KeyPage, KeyQuery,
    KeySummary, NewSecret, PersonApp,
};
use crate::model::groups::GroupSummary;
use crate::model::AppError;
#[cfg(feature = "ssr")]
use crate::model::Permission;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::{
    auth::guard::fail, auth::require, auth::require_fresh, service::app_groups, service::apps,
    service::keys,
};

#[server(prefix = "/api", endpoint = "apps/list")]
pub async fn list_apps(query: AppQuery) -> Result<AppPage, AppError> {
    let (state, _) = require(Permission::ReadApps).await?;
    apps::list(&state.db, &query).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "apps/get")]
pub async fn get_app(id: String) -> Result<AppDetail, AppError> {
    let (state, _) = require(Permission::ReadApps).await?;
    apps::get(&state.db, &id).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "apps/create")]
pub async fn create_app(input: AppInput) -> Result<NewSecret, AppError> {
    let (state, auth) = require_fresh(Permission::WriteApps).await?;
    apps::create(&state.db, &auth, &input).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "apps/update")]
pub async fn update_app(id: String, version: i64, input: AppInput) -> Result<AppDetail, AppError> {
    let (state, auth) = require(Permission::WriteApps).await?;
    apps::update(&state.db, &auth, &id, version, &input)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "apps/status")]
pub async fn set_app_status(id: String, status: String) -> Result<AppDetail, AppError> {
    let (state, auth) = require(Permission::WriteApps).await?;
    apps::set_status(&state.db, &auth, &id, &status)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "apps/rotate_secret")]
pub async fn rotate_secret(id: String, grace: i64) -> Result<NewSecret, AppError> {
    let (state, auth) = require_fresh(Permission::WriteApps).await?;
    apps::rotate_secret(&state.db, &auth, &id, grace)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "apps/revoke_secret")]
pub async fn revoke_secret(id: String, secret_id: String) -> Result<AppDetail, AppError> {
    let (state, auth) = require(Permission::WriteApps).await?;
    apps::revoke_secret(&state.db, &auth, &id, &secret_id)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "apps/assignments")]
pub async fn app_assignments(id: String) -> Result<Vec<Assignment>, AppError> {
    let (state, _) = require(Permission::ReadApps).await?;
    apps::get(&state.db, &id).await.map_err(fail)?;
    apps::assignments(&state.db, &id).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "apps/assign")]
pub async fn assign_person(id: String, person: String) -> Result<Vec<Assignment>, AppError> {
    let (state, auth) = require(Permission::WriteApps).await?;
    apps::assign(&state.db, &auth, &id, &person)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "apps/unassign")]
pub async fn unassign_person(id: String, guid: String) -> Result<Vec<Assignment>, AppError> {
    let (state, auth) = require(Permission::WriteApps).await?;
    apps::unassign(&state.db, &auth, &id, &guid)
        .await
        .map_err(fail)
}

/// The applications a person (GUID) is assigned to, directly or through groups.
#[server(prefix = "/api", endpoint = "apps/of_person")]
pub async fn apps_of_person(guid: String) -> Result<Vec<PersonApp>, AppError> {
    let (state, _) = require(Permission::ReadApps).await?;
    app_groups::of_person(&state.db, &guid).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "apps/groups")]
pub async fn app_groups(id: String) -> Result<Vec<GroupSummary>, AppError> {
    let (state, _) = require(Permission::ReadApps).await?;
    apps::get(&state.db, &id).await.map_err(fail)?;
    app_groups::of_app(&state.db, &id).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "apps/assign_group")]
pub async fn assign_group(id: String, group: String) -> Result<Vec<GroupSummary>, AppError> {
    let (state, auth) = require(Permission::WriteApps).await?;
    app_groups::assign(&state.db, &auth, &id, &group)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "apps/unassign_group")]
pub async fn unassign_group(id: String, group_id: String) -> Result<Vec<GroupSummary>, AppError> {
    let (state, auth) = require(Permission::WriteApps).await?;
    app_groups::unassign(&state.db, &auth, &id, &group_id)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "keys/list")]
pub async fn list_keys(query: KeyQuery) -> Result<KeyPage, AppError> {
    let (state, _) = require(Permission::ReadApps).await?;
    keys::list(&state.db, &query).await.map_err(fail)
}

/// A user's personal keys.
#[server(prefix = "/api", endpoint = "keys/of_user")]
pub async fn keys_of_user(user_id: String) -> Result<Vec<KeySummary>, AppError> {
    let (state, _) = require(Permission::ReadApps).await?;
    keys::of_user(&state.db, &user_id).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "keys/get")]
pub async fn get_key(id: String) -> Result<KeySummary, AppError> {
    let (state, _) = require(Permission::ReadApps).await?;
    keys::get(&state.db, &id).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "keys/create")]
pub async fn create_key(input: KeyInput) -> Result<IssuedKey, AppError> {
    let (state, auth) = require_fresh(Permission::WriteApps).await?;
    keys::create(&state.db, &auth, &input).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "keys/rotate")]
pub async fn rotate_key(id: String, grace: i64) -> Result<IssuedKey, AppError> {
    let (state, auth) = require_fresh(Permission::WriteApps).await?;
    keys::rotate(&state.db, &auth, &id, grace)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "keys/revoke")]
pub async fn revoke_key(id: String) -> Result<KeySummary, AppError> {
    let (state, auth) = require(Permission::WriteApps).await?;
    keys::revoke(&state.db, &auth, &id).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "keys/expiry")]
pub async fn set_key_expiry(id: String, expires: String) -> Result<KeySummary, AppError> {
    let (state, auth) = require(Permission::WriteApps).await?;
    keys::set_expiry(&state.db, &auth, &id, &expires)
        .await
        .map_err(fail)
}
