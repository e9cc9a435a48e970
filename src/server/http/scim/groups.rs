//! `/scim/v2/Groups`: a source's groups and their members.
use super::discovery::MAX_RESULTS;
use super::error::ScimError;
use super::users::{if_match, json_body, list_response, project, ListParams};
use super::{scim_json, ScimCaller};
use crate::model::groups::GroupDetail;
use crate::server::scim::filter::{parse_filter, CompareOp, Filter, Value as Literal};
use crate::server::scim::group_resource::{from_patch, from_resource, to_scim, Refused};
use crate::server::scim::user_resource::etag;
use crate::server::service::scim_groups;
use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde_json::Value;

impl From<Refused> for ScimError {
    fn from(r: Refused) -> Self {
        ScimError::bad(r.0, r.1)
    }
}

/// Groups are looked up by `displayName`, `externalId` or `id` with `eq`, joined by `and`.
fn lookups(filter: &Filter, out: &mut Vec<(&'static str, String)>) -> Result<(), ScimError> {
    match filter {
        Filter::And(a, b) => {
            lookups(a, out)?;
            lookups(b, out)
        }
        Filter::Compare(path, CompareOp::Eq, Literal::Str(v)) if path.sub.is_none() => {
            let field = match path.attr.to_ascii_lowercase().as_str() {
                "displayname" => "name",
                "externalid" => "external_id",
                "id" => "id",
                other => {
                    return Err(ScimError::bad(
                        "invalidFilter",
                        format!("Groups cannot be filtered by {other}"),
                    ))
                }
            };
            out.push((field, v.clone()));
            Ok(())
        }
        _ => Err(ScimError::bad(
            "invalidFilter",
            "Groups are filtered by displayName, externalId or id with eq, joined by and",
        )),
    }
}

fn wants_members(params: &ListParams) -> bool {
    let listed = |raw: &Option<String>| {
        raw.as_deref().unwrap_or("").split(',').any(|a| {
            a.trim()
                .rsplit(':')
                .next()
                .unwrap_or("")
                .eq_ignore_ascii_case("members")
        })
    };
    let only = params
        .attributes
        .as_deref()
        .is_some_and(|a| !a.trim().is_empty());
    !listed(&params.excluded_attributes) && (!only || listed(&params.attributes))
}

async fn render(state: &AppState, g: &GroupDetail, members: bool) -> Result<Value, ScimError> {
    let list = if members {
        Some(scim_groups::members(&state.db, &g.id).await?)
    } else {
        None
    };
    Ok(to_scim(g, list.as_deref(), &state.config.public_url))
}

fn answer(status: StatusCode, resource: Value, version: i64) -> Response {
    let location = resource["meta"]["location"].as_str().map(str::to_string);
    let mut res = scim_json(resource);
    *res.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED {
        if let Some(v) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            res.headers_mut().insert(header::LOCATION, v);
        }
    }
    res
}

pub async fn list(
    State(state): State<AppState>,
    caller: ScimCaller,
    Query(params): Query<ListParams>,
) -> Result<Response, ScimError> {
    list_with(&state, &caller, params).await
}

/// `POST /Groups/.search`: the list, asked with a body.
pub async fn search(
    State(state): State<AppState>,
    caller: ScimCaller,
    body: Bytes,
) -> Result<Response, ScimError> {
    list_with(&state, &caller, ListParams::from_search(&body)?).await
}

async fn list_with(
    state: &AppState,
    caller: &ScimCaller,
    params: ListParams,
) -> Result<Response, ScimError> {
    let mut wanted = Vec::new();
    if let Some(raw) = params
        .filter
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty())
    {
        let filter =
            parse_filter(raw).map_err(|e| ScimError::bad("invalidFilter", e.to_string()))?;
        lookups(&filter, &mut wanted)?;
    }
    let start = params.start_index.unwrap_or(1).max(1);
    let count = params.count.unwrap_or(MAX_RESULTS).clamp(0, MAX_RESULTS);
    let (total, groups) =
        scim_groups::list(&state.db, &caller.source, &wanted, start, count).await?;
    let mut resources = Vec::with_capacity(groups.len());
    for g in &groups {
        resources.push(project(
            render(state, g, wants_members(&params)).await?,
            &params,
        ));
    }
    Ok(list_response(total, start, resources))
}

pub async fn get(
    State(state): State<AppState>,
    caller: ScimCaller,
    Path(id): Path<String>,
    Query(params): Query<ListParams>,
) -> Result<Response, ScimError> {
    let g = scim_groups::get(&state.db, &caller.source, &id).await?;
    let resource = project(render(&state, &g, wants_members(&params)).await?, &params);
    Ok(answer(StatusCode::OK, resource, g.version))
}

pub async fn create(
    State(state): State<AppState>,
    caller: ScimCaller,
    body: Bytes,
) -> Result<Response, ScimError> {
    let change = from_resource(&json_body(&body)?)?;
    let g = scim_groups::create(&state.db, &caller.auth, &caller.source, &change).await?;
    Ok(answer(
        StatusCode::CREATED,
        render(&state, &g, true).await?,
        g.version,
    ))
}

pub async fn replace(
    State(state): State<AppState>,
    caller: ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let version = if_match(&headers)?;
    let change = from_resource(&json_body(&body)?)?;
    let g = scim_groups::change(
        &state.db,
        &caller.auth,
        &caller.source,
        &id,
        version,
        &change,
    )
    .await?;
    Ok(answer(
        StatusCode::OK,
        render(&state, &g, true).await?,
        g.version,
    ))
}

/// PATCH answers 204 without a body (RFC 7644 §3.5.2 allows it; Entra and Okta expect either):
/// a group of 100,000 members is not sent back for every member added.
pub async fn patch(
    State(state): State<AppState>,
    caller: ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let version = if_match(&headers)?;
    let change = from_patch(&json_body(&body)?)?;
    let g = scim_groups::change(
        &state.db,
        &caller.auth,
        &caller.source,
        &id,
        version,
        &change,
    )
    .await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&etag(g.version)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    Ok(res)
}

pub async fn delete(
    State(state): State<AppState>,
    caller: ScimCaller,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    scim_groups::delete(&state.db, &caller.auth, &caller.source, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
