//! `/scim/v2`: the SCIM 2.0 service provider (RFC 7644). A provisioning source authenticates
//! with its bearer token (never a cookie); handlers act as that source through the same
//! services as the console, so a source can change only its own users and groups. Refused
//! requests are kept on the source's page (its last errors).
pub mod discovery;
pub mod error;
pub mod groups;
pub mod users;

use crate::model::sources::SourceDetail;
use crate::model::{Permission, Principal, Role};
use crate::server::auth::Authorized;
use crate::server::db;
use crate::server::http::api_v1::caller::bearer;
use crate::server::service::audit::RequestMeta;
use crate::server::service::secrets;
use crate::server::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use error::{ScimError, CONTENT_TYPE};
use http::request::Parts;
use http::{header, HeaderValue};

/// The source calling, as the middleware leaves it for the handlers.
#[derive(Clone, Debug)]
pub struct ScimCaller {
    pub source: SourceDetail,
    pub auth: Authorized,
}

impl FromRequestParts<AppState> for ScimCaller {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ScimError> {
        parts
            .extensions
            .get::<ScimCaller>()
            .cloned()
            .ok_or_else(ScimError::unauthorized)
    }
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/scim/v2/ResourceTypes", get(discovery::resource_type_list))
        .route("/scim/v2/ResourceTypes/{id}", get(discovery::resource_type))
        .route("/scim/v2/Schemas", get(discovery::schema_list))
        .route("/scim/v2/Schemas/{id}", get(discovery::schema))
        .route("/scim/v2/.search", post(search_everything))
        .route("/scim/v2/Groups", get(groups::list).post(groups::create))
        .route("/scim/v2/Groups/.search", post(groups::search))
        .route(
            "/scim/v2/Groups/{id}",
            get(groups::get)
                .put(groups::replace)
                .patch(groups::patch)
                .delete(groups::delete),
        )
        .route("/scim/v2/Users", get(users::list).post(users::create))
        .route("/scim/v2/Users/.search", post(users::search))
        .route(
            "/scim/v2/Users/{id}",
            get(users::get)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        .route("/scim/v2/{*rest}", axum::routing::any(unknown))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
}

/// `POST /.search` across resource types: not offered (RFC 7644 §3.12 answers 501); each
/// resource type's own `.search` is.
async fn search_everything() -> ScimError {
    ScimError::new(
        http::StatusCode::NOT_IMPLEMENTED,
        None,
        "Searching Users and Groups at once is not offered: POST /Users/.search or /Groups/.search",
    )
}

/// Anything else under `/scim/v2`: a SCIM 404 (Bulk and /Me are not offered).
async fn unknown(uri: http::Uri) -> ScimError {
    ScimError::not_found(format!(
        "{} is not an endpoint of this service provider",
        uri.path()
    ))
}

/// A SCIM answer: the resource as `application/scim+json`.
pub fn scim_json(value: serde_json::Value) -> Response {
    let mut res = value.to_string().into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    res
}

/// What a source may do: read and write users and groups, as itself.
fn principal_of(source: &SourceDetail) -> Principal {
    Principal {
        subject: format!("scim:{}", source.id),
        email: format!("source:{}", source.id),
        name: source.name.clone(),
        role: Role::Admin,
        scopes: Some(vec![
            Permission::ReadUsers,
            Permission::WriteUsers,
            Permission::ReadGroups,
            Permission::WriteGroups,
        ]),
    }
}

/// Authenticates every SCIM request by its source's token; keeps refusals on the source's page.
async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(token) = bearer(request.headers()) else {
        return ScimError::unauthorized().into_response();
    };
    let source = match db::sources::by_token(&state.db.pool, &secrets::hash_hex(token)).await {
        Ok(Some(source)) => source,
        Ok(None) => return ScimError::unauthorized().into_response(),
        Err(e) => {
            tracing::error!(error = %e, "could not read a provisioning source");
            return ScimError::new(
                http::StatusCode::SERVICE_UNAVAILABLE,
                None,
                "Sources cannot be checked right now; try again shortly.",
            )
            .into_response();
        }
    };
    let (mut parts, body) = request.into_parts();
    let meta = match RequestMeta::from_request_parts(&mut parts, &state).await {
        Ok(meta) => meta,
        Err(never) => match never {},
    };
    let (method, path) = (parts.method.to_string(), parts.uri.path().to_string());
    let mut request = Request::from_parts(parts, body);
    let auth = Authorized {
        principal: principal_of(&source),
        permission: Permission::WriteUsers,
        meta,
    };
    crate::server::http::request_id::note_principal(&auth.principal.subject);
    let source_id = source.id.clone();
    request.extensions_mut().insert(ScimCaller { source, auth });
    let now = db::now_ms();
    let res = next.run(request).await;
    if let Err(e) = db::sources::touch(&state.db.pool, &source_id, now).await {
        tracing::warn!(error = %e, "could not note a source's request");
    }
    if res.status().is_client_error() || res.status().is_server_error() {
        let scim_type = res
            .extensions()
            .get::<error::Refusal>()
            .cloned()
            .unwrap_or_default();
        let row = db::sources::ErrorRow {
            source_id: &source_id,
            method: &method,
            path: &path,
            status: i64::from(res.status().as_u16()),
            scim_type: scim_type.scim_type,
            detail: &scim_type.detail,
            now,
        };
        if let Err(e) = db::sources::record_error(&state.db.pool, &row).await {
            tracing::warn!(error = %e, "could not keep a source's error");
        }
    }
    res
}
