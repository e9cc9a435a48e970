//! `/api/v1/groups`: groups and their members.
use super::caller::ApiCaller;
use super::problem::Problem;
use super::reply::{
    fail, fail_versioned, idempotent, if_match, json, page, versioned, ApiJson, ApiQuery,
    ApiResult, PageParams,
};
use crate::model::groups::{
    GroupDetail, GroupInput, GroupMember, GroupQuery, GroupSummary, Membership,
};
use crate::model::Permission;
use crate::server::service::groups;
use crate::server::AppState;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const TAG: &str = "groups";

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupFilter {
    /// A name prefix or an exact group id.
    pub q: Option<String>,
    /// `console` or a provisioning source's id.
    pub source: Option<String>,
    pub after: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct GroupList {
    pub items: Vec<GroupSummary>,
    pub next: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberList {
    pub items: Vec<GroupMember>,
    pub next: Option<String>,
}

/// List groups by name.
#[utoipa::path(get, path = "/api/v1/groups", tag = TAG, params(GroupFilter),
    responses((status = 200, description = "A page of groups", body = GroupList)),
    security(("bearer" = ["groups:read"])))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(filter): ApiQuery<GroupFilter>,
) -> ApiResult {
    caller
        .authorize(&state, Permission::ReadGroups, "GET /api/v1/groups")
        .await?;
    let query = GroupQuery {
        q: filter.q.unwrap_or_default(),
        source: filter.source.unwrap_or_default(),
        after: filter.after.unwrap_or_default(),
    };
    let result = groups::list(&state.db, &query)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(page(&state, "/api/v1/groups", &result.groups, result.next))
}

/// Create a console group.
#[utoipa::path(post, path = "/api/v1/groups", tag = TAG, request_body = GroupInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first answer")),
    responses(
        (status = 201, description = "Created", body = GroupDetail, headers(("ETag" = String), ("Location" = String))),
        (status = 400, description = "A field is not valid, or the name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request with this key is still running", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used with another body", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["groups:write"])))]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    ApiJson(input): ApiJson<GroupInput>,
) -> ApiResult {
    let auth = caller
        .authorize(&state, Permission::WriteGroups, "POST /api/v1/groups")
        .await?;
    let body = serde_json::to_string(&input).unwrap_or_default();
    idempotent(&state, &caller, &headers, &body, async {
        let created = groups::create(&state.db, &auth, &input)
            .await
            .map_err(|e| fail(&state, e))?;
        let mut res = versioned(StatusCode::CREATED, &created, created.version);
        if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/groups/{}", created.id)) {
            res.headers_mut().insert(header::LOCATION, v);
        }
        Ok(res)
    })
    .await
}

/// Read a group.
#[utoipa::path(get, path = "/api/v1/groups/{id}", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 200, description = "The group", body = GroupDetail, headers(("ETag" = String))),
        (status = 404, description = "No such group", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["groups:read"])))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    caller
        .authorize(&state, Permission::ReadGroups, "GET /api/v1/groups/{id}")
        .await?;
    let group = groups::get(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(versioned(StatusCode::OK, &group, group.version))
}

/// Replace a console group's name and description, against the version in `If-Match`.
#[utoipa::path(put, path = "/api/v1/groups/{id}", tag = TAG, request_body = GroupInput,
    params(("id" = String, Path), ("If-Match" = String, Header)),
    responses(
        (status = 200, description = "Changed", body = GroupDetail, headers(("ETag" = String))),
        (status = 404, description = "No such group", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A provisioning source owns the group", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed by someone else", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["groups:write"])))]
pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<GroupInput>,
) -> ApiResult {
    let auth = caller
        .authorize(&state, Permission::WriteGroups, "PUT /api/v1/groups/{id}")
        .await?;
    let version = match if_match(&state, &headers)? {
        Some(v) => v,
        None => {
            groups::get(&state.db, &id)
                .await
                .map_err(|e| fail(&state, e))?
                .version
        }
    };
    let group = groups::update(&state.db, &auth, &id, version, &input)
        .await
        .map_err(|e| fail_versioned(&state, e))?;
    Ok(versioned(StatusCode::OK, &group, group.version))
}

/// Delete a console group (its members stay).
#[utoipa::path(delete, path = "/api/v1/groups/{id}", tag = TAG, params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such group", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A provisioning source owns the group", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["groups:write"])))]
pub async fn delete(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteGroups,
            "DELETE /api/v1/groups/{id}",
        )
        .await?;
    groups::delete(&state.db, &auth, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The members of a group in name order, a keyset page at a time.
#[utoipa::path(get, path = "/api/v1/groups/{id}/members", tag = TAG,
    params(("id" = String, Path), PageParams),
    responses(
        (status = 200, description = "A page of members", body = MemberList),
        (status = 404, description = "No such group", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["groups:read"])))]
pub async fn members(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult {
    caller
        .authorize(
            &state,
            Permission::ReadGroups,
            "GET /api/v1/groups/{id}/members",
        )
        .await?;
    let limit = params.limit(&state)?;
    let after = params.after.clone().unwrap_or_default();
    let result = groups::members(&state.db, &id, &after, limit)
        .await
        .map_err(|e| fail(&state, e))?;
    let path = format!("/api/v1/groups/{id}/members");
    Ok(page(&state, &path, &result.members, result.next))
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"user": "ada@example.com"}))]
pub struct NewMember {
    /// The account's email or user id.
    pub user: String,
}

/// Add an account to a console group (adding a member twice changes nothing).
#[utoipa::path(post, path = "/api/v1/groups/{id}/members", tag = TAG, request_body = NewMember,
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The group", body = GroupDetail, headers(("ETag" = String))),
        (status = 400, description = "No such account", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such group", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A provisioning source owns the group", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["groups:write"])))]
pub async fn add_member(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(member): ApiJson<NewMember>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteGroups,
            "POST /api/v1/groups/{id}/members",
        )
        .await?;
    let group = groups::add_member(&state.db, &auth, &id, &member.user)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(versioned(StatusCode::OK, &group, group.version))
}

/// Remove an account from a console group.
#[utoipa::path(delete, path = "/api/v1/groups/{id}/members/{user_id}", tag = TAG,
    params(("id" = String, Path), ("user_id" = String, Path)),
    responses(
        (status = 200, description = "The group", body = GroupDetail, headers(("ETag" = String))),
        (status = 404, description = "No such group or member", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A provisioning source owns the group", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["groups:write"])))]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteGroups,
            "DELETE /api/v1/groups/{id}/members/{user_id}",
        )
        .await?;
    let group = groups::remove_member(&state.db, &auth, &id, &user_id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(versioned(StatusCode::OK, &group, group.version))
}

/// The groups of one account.
#[utoipa::path(get, path = "/api/v1/users/{id}/groups", tag = TAG, params(("id" = String, Path)),
    responses((status = 200, description = "The account's groups by name", body = Vec<Membership>)),
    security(("bearer" = ["groups:read"])))]
pub async fn of_user(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    caller
        .authorize(
            &state,
            Permission::ReadGroups,
            "GET /api/v1/users/{id}/groups",
        )
        .await?;
    let list = groups::of_user(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &list))
}
