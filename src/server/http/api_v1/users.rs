//! `/api/v1/users`: the console's users, with its search, rules and audit records.
use super::caller::ApiCaller;
use super::problem::Problem;
use super::reply::{
    fail, fail_versioned, idempotent, if_match, page, versioned, ApiJson, ApiQuery, ApiResult,
    PageParams,
};
use crate::model::users::{UserDetail, UserInput, UserQuery, UserSort, UserStatus, UserSummary};
use crate::model::Permission;
use crate::server::http::exports;
use crate::server::service::{support, user_list::Matcher, users};
use crate::server::AppState;
use axum::extract::{Path, State};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const TAG: &str = "users";

/// The users list's filters: the console's search box, status, source and order.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    /// What the console's search box takes: an email or its start, a name, a phone (`+...`),
    /// a user id (`u_...`), a GUID (`g_...`) or an external id.
    pub q: Option<String>,
    pub status: Option<UserStatus>,
    /// The source system, e.g. `hr`.
    pub source: Option<String>,
    pub sort: Option<UserSort>,
}

impl UserFilter {
    /// The console's query for this filter, from the cursor `after`.
    fn query(self, after: String) -> UserQuery {
        UserQuery {
            q: self.q.unwrap_or_default(),
            status: self
                .status
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            source: self.source.unwrap_or_default(),
            sort: self.sort.unwrap_or_default(),
            after,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<UserSummary>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// Search and list users, a keyset page at a time.
#[utoipa::path(get, path = "/api/v1/users", tag = TAG,
    params(UserFilter, PageParams),
    responses(
        (status = 200, description = "A page of users", body = UserList,
         headers(("Link" = String, description = "`<...>; rel=\"next\"` when there is a next page"))),
        (status = 400, description = "A filter is not valid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:read"])))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(filter): ApiQuery<UserFilter>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult {
    caller
        .authorize(&state, Permission::ReadUsers, "GET /api/v1/users")
        .await?;
    let limit = params.limit(&state)?;
    let query = filter.query(params.after.clone().unwrap_or_default());
    let result = Matcher::parse(&query)
        .map_err(|e| fail(&state, e))?
        .page(&state.db, &query.after, limit)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(page(&state, "/api/v1/users", &result.users, result.next))
}

/// Create a user (and a new GUID for the person). Send `Idempotency-Key` to make retries safe.
#[utoipa::path(post, path = "/api/v1/users", tag = TAG,
    request_body = UserInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Any unique string; a retry with the same key returns the first answer")),
    responses(
        (status = 201, description = "Created", body = UserDetail,
         headers(("ETag" = String), ("Location" = String))),
        (status = 400, description = "A field is not valid (see `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request with this key is still running", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used with another body", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:write"])))]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    ApiJson(input): ApiJson<UserInput>,
) -> ApiResult {
    let auth = caller
        .authorize(&state, Permission::WriteUsers, "POST /api/v1/users")
        .await?;
    let body = serde_json::to_string(&input).unwrap_or_default();
    idempotent(&state, &caller, &headers, &body, async {
        let user = users::create(&state.db, &auth, &input)
            .await
            .map_err(|e| fail(&state, e))?;
        let mut res = versioned(StatusCode::CREATED, &user, user.version);
        if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/users/{}", user.id)) {
            res.headers_mut().insert(header::LOCATION, v);
        }
        Ok(res)
    })
    .await
}

/// Read a user.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = TAG,
    params(("id" = String, Path, description = "The user id, `u_...`")),
    responses(
        (status = 200, description = "The user", body = UserDetail, headers(("ETag" = String))),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:read"])))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult {
    caller
        .authorize(&state, Permission::ReadUsers, "GET /api/v1/users/{id}")
        .await?;
    let user = users::get(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(versioned(StatusCode::OK, &user, user.version))
}

/// The version to change the user against: the one `If-Match` named, or for `*` the current one.
async fn current_version(
    state: &AppState,
    id: &str,
    expected: Option<i64>,
) -> Result<i64, Problem> {
    match expected {
        Some(v) => Ok(v),
        None => Ok(users::get(&state.db, id)
            .await
            .map_err(|e| fail(state, e))?
            .version),
    }
}

/// The fields to change; those left out keep their value.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"display_name": "Jo Doe-Smith", "family_name": "Doe-Smith"}))]
pub struct UserPatch {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub phone: Option<String>,
    pub source: Option<String>,
    pub external_id: Option<String>,
    /// A JSON object, as text.
    pub attributes: Option<String>,
}

fn patched(user: &UserDetail, patch: UserPatch) -> UserInput {
    UserInput {
        email: patch.email.unwrap_or_else(|| user.email.clone()),
        display_name: patch
            .display_name
            .unwrap_or_else(|| user.display_name.clone()),
        given_name: patch
            .given_name
            .unwrap_or_else(|| user.given_name.clone().unwrap_or_default()),
        family_name: patch
            .family_name
            .unwrap_or_else(|| user.family_name.clone().unwrap_or_default()),
        phone: patch
            .phone
            .unwrap_or_else(|| user.phone.clone().unwrap_or_default()),
        source: patch.source.unwrap_or_else(|| user.source.clone()),
        external_id: patch
            .external_id
            .unwrap_or_else(|| user.external_id.clone().unwrap_or_default()),
        attributes: patch.attributes.unwrap_or_else(|| user.attributes.clone()),
    }
}

/// Change a user's profile fields, against the version in `If-Match`.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = TAG,
    request_body = UserPatch,
    params(("id" = String, Path), ("If-Match" = String, Header, description = "The ETag read, e.g. `\"v3\"`")),
    responses(
        (status = 200, description = "Changed", body = UserDetail, headers(("ETag" = String))),
        (status = 400, description = "A field is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed by someone else since that ETag", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:write"])))]
pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<UserPatch>,
) -> ApiResult {
    let auth = caller
        .authorize(&state, Permission::WriteUsers, "PATCH /api/v1/users/{id}")
        .await?;
    let expected = if_match(&state, &headers)?;
    let current = users::get(&state.db, &id)
        .await
        .map_err(|e| fail(&state, e))?;
    let version = expected.unwrap_or(current.version);
    let input = patched(&current, patch);
    let user = users::update(&state.db, &auth, &id, version, &input)
        .await
        .map_err(|e| fail_versioned(&state, e))?;
    Ok(versioned(StatusCode::OK, &user, user.version))
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(example = json!({"status": "suspended"}))]
pub struct StatusChange {
    /// The new status; the console's lifecycle rules say which moves are allowed.
    pub status: UserStatus,
}

/// Move a user to another status (suspend, activate, deprovision, restore ...).
#[utoipa::path(post, path = "/api/v1/users/{id}/status", tag = TAG,
    request_body = StatusChange,
    params(("id" = String, Path), ("If-Match" = String, Header)),
    responses(
        (status = 200, description = "Changed", body = UserDetail, headers(("ETag" = String))),
        (status = 400, description = "Not a valid status", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "That move is not allowed from the current status", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed by someone else", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:write"])))]
pub async fn set_status(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(change): ApiJson<StatusChange>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteUsers,
            "POST /api/v1/users/{id}/status",
        )
        .await?;
    let version = current_version(&state, &id, if_match(&state, &headers)?).await?;
    let user = users::change_status(&state.db, &auth, &id, change.status, version)
        .await
        .map_err(|e| fail_versioned(&state, e))?;
    Ok(versioned(StatusCode::OK, &user, user.version))
}

/// Unlock a locked user (support's one write, with its guard rails).
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = TAG,
    params(("id" = String, Path), ("If-Match" = String, Header)),
    responses(
        (status = 200, description = "Unlocked", body = UserDetail, headers(("ETag" = String))),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user is not locked, or is protected", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed by someone else", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "The hourly limit of the owner is reached", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:unlock"])))]
pub async fn unlock(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::UnlockUsers,
            "POST /api/v1/users/{id}/unlock",
        )
        .await?;
    let version = current_version(&state, &id, if_match(&state, &headers)?).await?;
    let user = support::unlock(&state.db, &state.config.support, &auth, &id, version)
        .await
        .map_err(|e| fail_versioned(&state, e))?;
    Ok(versioned(StatusCode::OK, &user, user.version))
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"guid": "g_01h2xcejqtf2nbrexx3vqjhp41"}))]
pub struct Link {
    /// The GUID (person) to link the account to; absent or empty unlinks it into a new GUID.
    pub guid: Option<String>,
}

/// Link an account to another person (GUID), or unlink it into a new one.
#[utoipa::path(post, path = "/api/v1/users/{id}/link", tag = TAG, request_body = Link,
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Linked", body = UserDetail, headers(("ETag" = String))),
        (status = 404, description = "No such user or GUID", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already linked there, or the only account of its GUID", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:write"])))]
pub async fn link(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(link): ApiJson<Link>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteUsers,
            "POST /api/v1/users/{id}/link",
        )
        .await?;
    let guid = link.guid.filter(|g| !g.trim().is_empty());
    let user = users::relink(&state.db, &auth, &id, guid.as_deref())
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(versioned(StatusCode::OK, &user, user.version))
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportSelection {
    /// Comma-separated user ids to export instead of a filter (at most 1000).
    pub ids: Option<String>,
}

/// Export every user matching the filter (or the listed ids) as CSV, streamed in constant
/// memory. The export is audited with its filter.
#[utoipa::path(get, path = "/api/v1/users/export", tag = TAG, params(UserFilter, ExportSelection),
    responses(
        (status = 200, description = "The users as CSV", content_type = "text/csv", body = String),
        (status = 429, description = "Too many exports running for this owner", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:export"])))]
pub async fn export(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(filter): ApiQuery<UserFilter>,
    ApiQuery(selection): ApiQuery<ExportSelection>,
) -> ApiResult {
    let auth = caller
        .authorize(&state, Permission::ExportUsers, "GET /api/v1/users/export")
        .await?;
    let query = filter.query(String::new());
    let ids: Vec<String> = selection
        .ids
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let body = exports::users_export_body(&state, &auth, &query, ids)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(exports::csv_response(body))
}
