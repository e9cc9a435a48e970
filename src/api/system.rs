//! Instances and their background work (issue 17, several instances; administrators).
use crate::model::system::{BackgroundWork, SystemInfo};
use crate::model::AppError;
#[cfg(feature = "ssr")]
use crate::model::Permission;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::{auth::guard, auth::guard::fail, service::leases};

/// Which instance holds each background task's lease and each destination's delivery lease,
/// as the instance answering sees it.
#[server(prefix = "/api", endpoint = "system/background")]
pub async fn system_background() -> Result<BackgroundWork, AppError> {
    let (state, _auth) = guard::require(Permission::ReadSystem).await?;
    leases::background_work(&state).await.map_err(fail)
}

/// The version, the commit, the engine, the readiness checks and every setting read at start
/// (secrets redacted): evidence of how this instance runs.
#[server(prefix = "/api", endpoint = "system/info")]
pub async fn load_system_info() -> Result<SystemInfo, AppError> {
    let (state, _auth) = guard::require(Permission::ReadSystem).await?;
    Ok(crate::server::http::health::system_info(&state).await)
}
