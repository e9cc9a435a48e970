//! Users and GUIDs: each function names its permission, then calls the users service.
use crate::model::audit::AuditEvent;
#[cfg(feature = "ssr")]
use crate::model::users::DuplicateReason;
use crate::model::users::{
    DuplicateCandidate, DuplicatePage, GuidPage, GuidQuery, GuidView, MergeChoices, UserDetail,
    UserInput, UserPage, UserQuery,
};
use crate::model::AppError;
#[cfg(feature = "ssr")]
use crate::model::Permission;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::service::user_list;
#[cfg(feature = "ssr")]
use crate::server::{
    auth::guard::fail, auth::require, auth::require_fresh, service::people, service::users,
};

#[server(prefix = "/api", endpoint = "users/list")]
pub async fn list_users(query: UserQuery) -> Result<UserPage, AppError> {
    let (state, _) = require(Permission::ReadUsers).await?;
    users::list(&state.db, &query).await.map_err(fail)
}

/// How many users match the filter (every page of it); no filter counts every user. Shown before
/// a bulk action is confirmed and beside the export link.
#[server(prefix = "/api", endpoint = "users/count")]
pub async fn count_users(query: Option<UserQuery>) -> Result<u64, AppError> {
    let (state, _) = require(Permission::ReadUsers).await?;
    user_list::count(&state.db, &query.unwrap_or_default())
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "users/get")]
pub async fn get_user(id: String) -> Result<UserDetail, AppError> {
    let (state, _) = require(Permission::ReadUsers).await?;
    users::get(&state.db, &id).await.map_err(fail)
}

/// The user's recent audit trail: all of it for those who read the audit log, otherwise (support)
/// only the caller's own actions.
#[server(prefix = "/api", endpoint = "users/trail")]
pub async fn user_audit_trail(id: String) -> Result<Vec<AuditEvent>, AppError> {
    let (state, auth) = require(Permission::ReadUsers).await?;
    crate::server::service::support::user_trail(&state.db, &auth, &id)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "users/create")]
pub async fn create_user(input: UserInput) -> Result<UserDetail, AppError> {
    let (state, auth) = require(Permission::WriteUsers).await?;
    users::create(&state.db, &auth, &input).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "users/update")]
pub async fn update_user(
    id: String,
    version: i64,
    input: UserInput,
) -> Result<UserDetail, AppError> {
    let (state, auth) = require(Permission::WriteUsers).await?;
    users::update(&state.db, &auth, &id, version, &input)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "users/status")]
pub async fn set_user_status(
    id: String,
    status: String,
    version: i64,
) -> Result<UserDetail, AppError> {
    let (state, auth) = require(Permission::WriteUsers).await?;
    let to = crate::model::users::UserStatus::parse(&status)
        .map_err(|e| fail(AppError::invalid("status", e)))?;
    users::change_status(&state.db, &auth, &id, to, version)
        .await
        .map_err(fail)
}

/// Support's one write: a locked user back to active (the support service checks the state and
/// its guard rails in the same transaction as the write).
#[server(prefix = "/api", endpoint = "users/unlock")]
pub async fn unlock_user(id: String, version: i64) -> Result<UserDetail, AppError> {
    let (state, auth) = require(Permission::UnlockUsers).await?;
    crate::server::service::support::unlock(&state.db, &state.config.support, &auth, &id, version)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "guids/get")]
pub async fn get_guid(id: String) -> Result<GuidView, AppError> {
    let (state, _) = require(Permission::ReadUsers).await?;
    users::guid_view(&state.db, &id).await.map_err(fail)
}

/// Merges `absorbed` into `survivor`; `choices` picks the winning side of each conflicting field.
#[server(prefix = "/api", endpoint = "guids/merge")]
pub async fn merge_guids(
    survivor: String,
    absorbed: String,
    choices: Option<MergeChoices>,
) -> Result<GuidView, AppError> {
    let (state, auth) = require_fresh(Permission::WriteUsers).await?;
    users::merge(
        &state.db,
        &auth,
        &survivor,
        &absorbed,
        &choices.unwrap_or_default(),
    )
    .await
    .map_err(fail)
}

/// Links an account to another GUID, or (with no GUID) unlinks it into a new one.
#[server(prefix = "/api", endpoint = "users/relink")]
pub async fn relink_user(id: String, guid: Option<String>) -> Result<UserDetail, AppError> {
    let (state, auth) = require(Permission::WriteUsers).await?;
    let guid = guid.filter(|g| !g.trim().is_empty());
    users::relink(&state.db, &auth, &id, guid.as_deref())
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "guids/list")]
pub async fn list_guids(query: GuidQuery) -> Result<GuidPage, AppError> {
    let (state, _) = require(Permission::ReadUsers).await?;
    people::page(&state.db, &query).await.map_err(fail)
}

/// Pairs of people that look like one person, for one kind of evidence.
#[server(prefix = "/api", endpoint = "guids/duplicates")]
pub async fn list_duplicates(reason: String, after: String) -> Result<DuplicatePage, AppError> {
    let (state, _) = require(Permission::ReadUsers).await?;
    people::duplicates(&state.db, DuplicateReason::parse(&reason), &after)
        .await
        .map_err(fail)
}

/// Other people who may be this person, with the reason.
#[server(prefix = "/api", endpoint = "guids/duplicates_of")]
pub async fn duplicates_of_guid(id: String) -> Result<Vec<DuplicateCandidate>, AppError> {
    let (state, _) = require(Permission::ReadUsers).await?;
    people::duplicates_of(&state.db, &id).await.map_err(fail)
}
