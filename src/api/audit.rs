use crate::model::audit::{
    AuditEventDetail, AuditPage, AuditQuery, CheckpointsView, DashboardSummary, ExportTicket,
};
use crate::model::jobs::Job;
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

/// One page of the audit log matching the filters, newest first.
#[server(prefix = "/api", endpoint = "audit_page")]
pub async fn load_audit_page(query: Option<AuditQuery>) -> Result<AuditPage, AppError> {
    use crate::server::{auth::guard::fail, auth::require, service::audit};
    let (state, _) = require(Permission::ReadAudit).await?;
    audit::search(&state.db, &query.unwrap_or_default())
        .await
        .map_err(fail)
}

/// One event on its own page: what happened in words, what it changed, and its chain links.
#[server(prefix = "/api", endpoint = "audit/event")]
pub async fn load_audit_event(seq: i64) -> Result<AuditEventDetail, AppError> {
    use crate::server::{auth::guard::fail, auth::require, service::audit_event};
    let (state, _) = require(Permission::ReadAudit).await?;
    audit_event::detail(&state.db, seq).await.map_err(fail)
}

/// Starts walking the whole chain; returns the job to follow.
#[server(prefix = "/api", endpoint = "audit/verify")]
pub async fn start_audit_verify() -> Result<String, AppError> {
    use crate::server::{auth::guard::fail, auth::require, service::audit};
    let (state, auth) = require(Permission::VerifyAudit).await?;
    let permit = state.heavy.try_start(&auth.principal.email).map_err(fail)?;
    audit::start_verify(&state.db, state.config.audit_trust(), &auth, permit)
        .await
        .map_err(fail)
}

/// The progress and result of a verification.
#[server(prefix = "/api", endpoint = "audit/job")]
pub async fn audit_job(id: String) -> Result<Job, AppError> {
    use crate::server::{auth::guard::fail, auth::require, service::jobs};
    let (state, _) = require(Permission::VerifyAudit).await?;
    match jobs::get(&state.db, &id).await {
        Ok(job) if job.kind == "audit.verify" || job.kind == "audit.export" => Ok(job),
        Ok(_) => Err(fail(AppError::NotFound("The job".into()))),
        Err(e) => Err(fail(e)),
    }
}

/// The latest checkpoints and the public key that signs them.
#[server(prefix = "/api", endpoint = "audit/checkpoints")]
pub async fn audit_checkpoints() -> Result<CheckpointsView, AppError> {
    use crate::server::{auth::require, internal, service::checkpoints};
    let (state, _) = require(Permission::ReadAudit).await?;
    checkpoints::view(&state.db, &state.config.audit_verify_keys)
        .await
        .map_err(internal)
}

/// Prepares an export of the filtered view (auditors): counts the events and records a job that
/// the download updates, so the page can show its progress.
#[server(prefix = "/api", endpoint = "audit/start_export")]
pub async fn start_audit_export(
    query: Option<AuditQuery>,
    format: String,
) -> Result<ExportTicket, AppError> {
    use crate::server::{auth::guard::fail, auth::require_fresh, service::audit};
    let (state, auth) = require_fresh(Permission::ExportAudit).await?;
    audit::start_export(&state.db, &auth, &query.unwrap_or_default(), &format)
        .await
        .map_err(fail)
}
