use crate::model::audit::{AuditPage, DashboardSummary};
use crate::model::AppError;
#[cfg(feature = "ssr")]
use crate::model::Permission;
use leptos::prelude::*;

/// The dashboard's figures. Recent events are included only for people who may read the log.
#[server(prefix = "/api", endpoint = "dashboard")]
pub async fn load_dashboard() -> Result<DashboardSummary, AppError> {
    use crate::server::{auth::require, internal, service::audit};
    let (state, auth) = require(Permission::ViewConsole).await?;
    let mut summary = audit::dashboard(&state.db).await.map_err(internal)?;
    if !auth.principal.can(Permission::ReadAudit) {
        summary.recent.clear();
    }
    Ok(summary)
}

/// One page of the audit log, newest first, older than `before`.
#[server(prefix = "/api", endpoint = "audit_page")]
pub async fn load_audit_page(before: Option<i64>) -> Result<AuditPage, AppError> {
    use crate::server::{auth::require, internal, service::audit};
    let (state, _) = require(Permission::ReadAudit).await?;
    audit::page(&state.db, before).await.map_err(internal)
}
