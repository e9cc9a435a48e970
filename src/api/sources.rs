//! Provisioning sources: each function names its permission, then calls the service.
use crate::model::sources::{NewSourceToken, SourceDetail, SourceInput};
use crate::model::AppError;
#[cfg(feature = "ssr")]
use crate::model::Permission;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::{auth::guard::fail, auth::require, auth::require_fresh, service::sources};

#[server(prefix = "/api", endpoint = "sources/list")]
pub async fn list_sources() -> Result<Vec<SourceDetail>, AppError> {
    let (state, _) = require(Permission::ManageSources).await?;
    sources::list(&state.db).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "sources/get")]
pub async fn get_source(id: String) -> Result<SourceDetail, AppError> {
    let (state, _) = require(Permission::ManageSources).await?;
    sources::get(&state.db, &id).await.map_err(fail)
}

/// Registers a source; its token is in the answer, this once.
#[server(prefix = "/api", endpoint = "sources/create")]
pub async fn create_source(input: SourceInput) -> Result<NewSourceToken, AppError> {
    let (state, auth) = require_fresh(Permission::ManageSources).await?;
    sources::create(&state.db, &auth, &input)
        .await
        .map_err(fail)
}

/// A new token, shown this once; the old one stops at once.
#[server(prefix = "/api", endpoint = "sources/rotate_token")]
pub async fn rotate_source_token(id: String) -> Result<NewSourceToken, AppError> {
    let (state, auth) = require_fresh(Permission::ManageSources).await?;
    sources::rotate_token(&state.db, &auth, &id)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "sources/status")]
pub async fn set_source_status(id: String, status: String) -> Result<SourceDetail, AppError> {
    let (state, auth) = require(Permission::ManageSources).await?;
    sources::set_status(&state.db, &auth, &id, &status)
        .await
        .map_err(fail)
}
