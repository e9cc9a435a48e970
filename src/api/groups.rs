//! Groups: each function names its permission, then calls the service.
use crate::model::groups::{
    GroupDetail, GroupInput, GroupPage, GroupQuery, MemberPage, Membership,
};
use crate::model::AppError;
#[cfg(feature = "ssr")]
use crate::model::Permission;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::{auth::guard::fail, auth::require, service::groups};

#[server(prefix = "/api", endpoint = "groups/list")]
pub async fn list_groups(query: GroupQuery) -> Result<GroupPage, AppError> {
    let (state, _) = require(Permission::ReadGroups).await?;
    groups::list(&state.db, &query).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "groups/get")]
pub async fn get_group(id: String) -> Result<GroupDetail, AppError> {
    let (state, _) = require(Permission::ReadGroups).await?;
    groups::get(&state.db, &id).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "groups/members")]
pub async fn group_members(id: String, after: String) -> Result<MemberPage, AppError> {
    let (state, _) = require(Permission::ReadGroups).await?;
    groups::members(&state.db, &id, &after, groups::MEMBER_PAGE_SIZE)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "groups/create")]
pub async fn create_group(input: GroupInput) -> Result<GroupDetail, AppError> {
    let (state, auth) = require(Permission::WriteGroups).await?;
    let group = groups::create(&state.db, &auth, &input)
        .await
        .map_err(fail)?;
    leptos_axum::redirect(&format!("/groups/{}", group.id));
    Ok(group)
}

#[server(prefix = "/api", endpoint = "groups/update")]
pub async fn update_group(
    id: String,
    version: i64,
    input: GroupInput,
) -> Result<GroupDetail, AppError> {
    let (state, auth) = require(Permission::WriteGroups).await?;
    groups::update(&state.db, &auth, &id, version, &input)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "groups/delete")]
pub async fn delete_group(id: String) -> Result<(), AppError> {
    let (state, auth) = require(Permission::WriteGroups).await?;
    groups::delete(&state.db, &auth, &id).await.map_err(fail)?;
    leptos_axum::redirect("/groups");
    Ok(())
}

#[server(prefix = "/api", endpoint = "groups/add_member")]
pub async fn add_group_member(id: String, user: String) -> Result<GroupDetail, AppError> {
    let (state, auth) = require(Permission::WriteGroups).await?;
    groups::add_member(&state.db, &auth, &id, &user)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "groups/remove_member")]
pub async fn remove_group_member(id: String, user_id: String) -> Result<GroupDetail, AppError> {
    let (state, auth) = require(Permission::WriteGroups).await?;
    groups::remove_member(&state.db, &auth, &id, &user_id)
        .await
        .map_err(fail)
}

/// The groups of one account.
#[server(prefix = "/api", endpoint = "groups/of_user")]
pub async fn groups_of_user(user_id: String) -> Result<Vec<Membership>, AppError> {
    let (state, _) = require(Permission::ReadGroups).await?;
    groups::of_user(&state.db, &user_id).await.map_err(fail)
}

/// The groups of every account of a person (GUID).
#[server(prefix = "/api", endpoint = "groups/of_person")]
pub async fn groups_of_person(guid: String) -> Result<Vec<Membership>, AppError> {
    let (state, _) = require(Permission::ReadGroups).await?;
    groups::of_person(&state.db, &guid).await.map_err(fail)
}
