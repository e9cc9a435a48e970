//! `/scim/v2/Users`: list with filter and pages, read, create, replace, patch and delete a
//! source's accounts.
use super::discovery::MAX_RESULTS;
use super::error::ScimError;
use super::{scim_json, ScimCaller};
use crate::server::scim::filter::parse_filter;
use crate::server::scim::patch::apply_patch;
use crate::server::scim::user_resource::{etag, to_scim};
use crate::server::service::{groups, scim_users};
use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

/// Attributes a client may not write (RFC 7643: `id`, `meta` and `groups` are read-only).
const READ_ONLY: [&str; 3] = ["id", "meta", "groups"];

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListParams {
    pub filter: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
}

/// The body of `POST /Users/.search` (RFC 7644 §3.4.3): the query parameters as JSON.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SearchRequest {
    filter: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    attributes: Vec<String>,
    excluded_attributes: Vec<String>,
}

impl ListParams {
    /// A `.search` request as the query parameters it stands for.
    pub fn from_search(body: &Bytes) -> Result<ListParams, ScimError> {
        let request: SearchRequest = serde_json::from_value(json_body(body)?)
            .map_err(|e| ScimError::bad("invalidSyntax", format!("A SearchRequest: {e}")))?;
        let joined = |names: Vec<String>| (!names.is_empty()).then(|| names.join(","));
        Ok(ListParams {
            filter: request.filter,
            start_index: request.start_index,
            count: request.count,
            attributes: joined(request.attributes),
            excluded_attributes: joined(request.excluded_attributes),
        })
    }
}

/// The request body as JSON, whatever its content type says (`application/scim+json`).
pub fn json_body(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| ScimError::bad("invalidSyntax", "The body must be a JSON object"))
}

/// The version in `If-Match: W/"3"` (or `"3"`), if the client sent one; `*` matches any.
pub fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ScimError> {
    let Some(raw) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let raw = raw.to_str().unwrap_or("").trim();
    if raw == "*" {
        return Ok(None);
    }
    raw.trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map(Some)
        .map_err(|_| {
            ScimError::bad(
                "invalidValue",
                format!("If-Match {raw:?} is not an ETag of this service"),
            )
        })
}

/// Keeps only the asked attributes (`attributes`) or drops some (`excludedAttributes`);
/// `id`, `schemas` and `meta` always stay.
pub fn project(mut resource: Value, params: &ListParams) -> Value {
    let names = |raw: &Option<String>| -> Vec<String> {
        raw.as_deref()
            .unwrap_or("")
            .split(',')
            .map(|a| {
                a.trim()
                    .rsplit(':')
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase()
            })
            .filter(|a| !a.is_empty())
            .collect()
    };
    let (only, without) = (
        names(&params.attributes),
        names(&params.excluded_attributes),
    );
    if let Some(map) = resource.as_object_mut() {
        let always = |k: &str| ["id", "schemas", "meta"].contains(&k.to_ascii_lowercase().as_str());
        if !only.is_empty() {
            map.retain(|k, _| {
                let k = k.to_ascii_lowercase();
                always(&k)
                    || only
                        .iter()
                        .any(|a| a == &k || a.starts_with(&format!("{k}.")))
            });
        }
        map.retain(|k, _| always(k) || !without.contains(&k.to_ascii_lowercase()));
    }
    resource
}

fn resource_response(
    status: StatusCode,
    resource: Value,
    version: i64,
    location: Option<&str>,
) -> Response {
    let mut res = scim_json(resource);
    *res.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    if let Some(loc) = location.and_then(|l| HeaderValue::from_str(l).ok()) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    res
}

async fn render(
    state: &AppState,
    user: &crate::model::users::UserDetail,
) -> Result<Value, ScimError> {
    let memberships = groups::of_user(&state.db, &user.id).await?;
    Ok(to_scim(user, &memberships, &state.config.public_url))
}

pub async fn list(
    State(state): State<AppState>,
    caller: ScimCaller,
    Query(params): Query<ListParams>,
) -> Result<Response, ScimError> {
    list_with(&state, &caller, params).await
}

/// `POST /Users/.search`: the list, asked with a body.
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
    let filter = match params
        .filter
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty())
    {
        Some(raw) => {
            Some(parse_filter(raw).map_err(|e| ScimError::bad("invalidFilter", e.to_string()))?)
        }
        None => None,
    };
    let start = params.start_index.unwrap_or(1).max(1);
    let count = params.count.unwrap_or(MAX_RESULTS).clamp(0, MAX_RESULTS);
    let (total, users) = scim_users::list(&state.db, &caller.source, filter.as_ref(), start, count)
        .await?
        .map_err(|e| ScimError::bad("invalidFilter", e.0))?;
    let base = &state.config.public_url;
    let resources: Vec<Value> = users
        .iter()
        .map(|u| project(to_scim(u, &[], base), &params))
        .collect();
    Ok(list_response(total, start, resources))
}

/// A page of resources in SCIM's ListResponse (RFC 7644 §3.4.2).
pub fn list_response(total: i64, start: i64, resources: Vec<Value>) -> Response {
    scim_json(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    }))
}

pub async fn get(
    State(state): State<AppState>,
    caller: ScimCaller,
    Path(id): Path<String>,
    Query(params): Query<ListParams>,
) -> Result<Response, ScimError> {
    let user = scim_users::get(&state.db, &caller.source, &id).await?;
    let resource = project(render(&state, &user).await?, &params);
    Ok(resource_response(
        StatusCode::OK,
        resource,
        user.version,
        None,
    ))
}

pub async fn create(
    State(state): State<AppState>,
    caller: ScimCaller,
    body: Bytes,
) -> Result<Response, ScimError> {
    let body = json_body(&body)?;
    let user = scim_users::create(&state.db, &caller.auth, &caller.source, &body).await?;
    let resource = render(&state, &user).await?;
    let location = resource["meta"]["location"].as_str().map(str::to_string);
    Ok(resource_response(
        StatusCode::CREATED,
        resource,
        user.version,
        location.as_deref(),
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
    let body = json_body(&body)?;
    let user =
        scim_users::replace(&state.db, &caller.auth, &caller.source, &id, version, &body).await?;
    let resource = render(&state, &user).await?;
    Ok(resource_response(
        StatusCode::OK,
        resource,
        user.version,
        None,
    ))
}

pub async fn patch(
    State(state): State<AppState>,
    caller: ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ScimError> {
    let version = if_match(&headers)?;
    let ops = json_body(&body)?;
    let current = scim_users::get(&state.db, &caller.source, &id).await?;
    if version.is_some_and(|v| v != current.version) {
        return Err(ScimError::new(
            StatusCode::PRECONDITION_FAILED,
            None,
            "The user changed since that version",
        ));
    }
    let mut doc = render(&state, &current).await?;
    apply_patch(&mut doc, &ops, &READ_ONLY).map_err(|e| ScimError::bad(e.scim_type, e.detail))?;
    let user = scim_users::replace(
        &state.db,
        &caller.auth,
        &caller.source,
        &id,
        Some(current.version),
        &doc,
    )
    .await?;
    let resource = render(&state, &user).await?;
    Ok(resource_response(
        StatusCode::OK,
        resource,
        user.version,
        None,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: ScimCaller,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    scim_users::delete(&state.db, &caller.auth, &caller.source, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
