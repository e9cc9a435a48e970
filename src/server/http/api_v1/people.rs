//! `/api/v1/people`: GUIDs (one per person), their likely duplicates, and merging them.
use super::caller::ApiCaller;
use super::problem::Problem;
use super::reply::{fail, json, page, ApiJson, ApiQuery, ApiResult};
use crate::model::users::{
    DuplicateCandidate, DuplicateReason, GuidQuery, GuidSummary, GuidView, MergeChoices,
};
use crate::model::Permission;
use crate::server::service::{people, users};
use crate::server::AppState;
use axum::extract::{Path, State};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const TAG: &str = "people";

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeopleFilter {
    /// A GUID prefix (`g_...`), or a user search whose people are listed.
    pub q: Option<String>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PersonList {
    pub items: Vec<GuidSummary>,
    pub next: Option<String>,
}

/// List people (GUIDs), 50 a page.
#[utoipa::path(get, path = "/api/v1/people", tag = TAG, params(PeopleFilter),
    responses(
        (status = 200, description = "A page of people", body = PersonList),
        (status = 400, description = "A filter is not valid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:read"])))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(filter): ApiQuery<PeopleFilter>,
) -> ApiResult {
    caller
        .authorize(&state, Permission::ReadUsers, "GET /api/v1/people")
        .await?;
    let query = GuidQuery {
        q: filter.q.unwrap_or_default(),
        after: filter.after.unwrap_or_default(),
    };
    let result = people::page(&state.db, &query)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(page(&state, "/api/v1/people", &result.guids, result.next))
}

/// A person: the GUID, its profile and every linked account.
#[utoipa::path(get, path = "/api/v1/people/{guid}", tag = TAG,
    params(("guid" = String, Path, description = "The GUID, `g_...` (an absorbed GUID resolves to its survivor)")),
    responses(
        (status = 200, description = "The person", body = GuidView),
        (status = 404, description = "No such GUID", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:read"])))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(guid): Path<String>,
) -> ApiResult {
    caller
        .authorize(&state, Permission::ReadUsers, "GET /api/v1/people/{guid}")
        .await?;
    let view = users::guid_view(&state.db, &guid)
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &view))
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DuplicateFilter {
    /// Why two people may be one: `phone` (default), `verified_email` or `external_id`.
    pub reason: Option<DuplicateReason>,
    pub after: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DuplicateList {
    pub items: Vec<DuplicateCandidate>,
    pub next: Option<String>,
}

/// Pairs of people that look like one person, with the evidence.
#[utoipa::path(get, path = "/api/v1/people/duplicates", tag = TAG, params(DuplicateFilter),
    responses(
        (status = 200, description = "A page of candidates", body = DuplicateList),
        (status = 400, description = "A filter is not valid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:read"])))]
pub async fn duplicates(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiQuery(filter): ApiQuery<DuplicateFilter>,
) -> ApiResult {
    caller
        .authorize(
            &state,
            Permission::ReadUsers,
            "GET /api/v1/people/duplicates",
        )
        .await?;
    let reason = filter.reason.unwrap_or(DuplicateReason::Phone);
    let result = people::duplicates(&state.db, reason, &filter.after.unwrap_or_default())
        .await
        .map_err(|e| fail(&state, e))?;
    Ok(page(
        &state,
        "/api/v1/people/duplicates",
        &result.candidates,
        result.next,
    ))
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(example = json!({"absorbed": "g_01h2xcejqtf2nbrexx3vqjhp42"}))]
pub struct MergeRequest {
    /// The GUID that is merged into the one in the path, and then resolves to it.
    pub absorbed: String,
    /// For each conflicting profile field, which side wins (`survivor`, the default, or
    /// `absorbed`).
    #[serde(default)]
    pub choices: Option<MergeChoices>,
}

/// Merge another person into this one: every account moves, and the absorbed GUID resolves to
/// this one from now on.
#[utoipa::path(post, path = "/api/v1/people/{guid}/merge", tag = TAG,
    request_body = MergeRequest,
    params(("guid" = String, Path, description = "The surviving GUID")),
    responses(
        (status = 200, description = "Merged: the surviving person", body = GuidView),
        (status = 400, description = "Not valid (e.g. a GUID merged with itself)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such GUID", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already merged", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:write"])))]
pub async fn merge(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(guid): Path<String>,
    ApiJson(request): ApiJson<MergeRequest>,
) -> ApiResult {
    let auth = caller
        .authorize(
            &state,
            Permission::WriteUsers,
            "POST /api/v1/people/{guid}/merge",
        )
        .await?;
    let view = users::merge(
        &state.db,
        &auth,
        &guid,
        &request.absorbed,
        &request.choices.unwrap_or_default(),
    )
    .await
    .map_err(|e| fail(&state, e))?;
    Ok(json(StatusCode::OK, &view))
}
