//! Audit streaming to the SIEM in the console: the sinks' state (anyone who reads the audit
//! log), and making, changing, pausing, resuming, replaying and removing them (administrators).
use crate::model::audit_sinks::{AuditSinkInput, AuditSinkView};
use crate::model::AppError;
#[cfg(feature = "ssr")]
use crate::model::Permission;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::{auth::guard::fail, auth::require, auth::require_fresh, service::audit_sinks};

/// Every sink with its cursor, lag and last error (never a token).
#[server(prefix = "/api", endpoint = "audit/sinks/list")]
pub async fn list_audit_sinks() -> Result<Vec<AuditSinkView>, AppError> {
    let (state, _) = require(Permission::ReadAudit).await?;
    audit_sinks::list(&state.db).await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "audit/sinks/get")]
pub async fn get_audit_sink(id: String) -> Result<AuditSinkView, AppError> {
    let (state, _) = require(Permission::ReadAudit).await?;
    audit_sinks::view(&state.db, &id).await.map_err(fail)
}

/// Sending the audit log out of Gatehouse needs a recent sign-in.
#[server(prefix = "/api", endpoint = "audit/sinks/create")]
pub async fn create_audit_sink(input: AuditSinkInput) -> Result<AuditSinkView, AppError> {
    let (state, auth) = require_fresh(Permission::ManageAuditSinks).await?;
    let key = state.config.audit_stream.secrets_key.as_ref();
    audit_sinks::create(&state.db, &auth, key, &input)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "audit/sinks/save")]
pub async fn save_audit_sink(
    id: String,
    version: i64,
    input: AuditSinkInput,
) -> Result<AuditSinkView, AppError> {
    let (state, auth) = require_fresh(Permission::ManageAuditSinks).await?;
    let key = state.config.audit_stream.secrets_key.as_ref();
    audit_sinks::update(&state.db, &auth, key, &id, version, &input)
        .await
        .map_err(fail)
}

/// `active` or `paused`.
#[server(prefix = "/api", endpoint = "audit/sinks/status")]
pub async fn set_audit_sink_status(id: String, status: String) -> Result<AuditSinkView, AppError> {
    let (state, auth) = require(Permission::ManageAuditSinks).await?;
    audit_sinks::set_status(&state.db, &auth, &id, &status)
        .await
        .map_err(fail)
}

/// Sends every event from `from` on again, in order.
#[server(prefix = "/api", endpoint = "audit/sinks/replay")]
pub async fn replay_audit_sink(id: String, from: i64) -> Result<AuditSinkView, AppError> {
    let (state, auth) = require(Permission::ManageAuditSinks).await?;
    audit_sinks::replay_from(&state.db, &auth, &id, from)
        .await
        .map_err(fail)
}

#[server(prefix = "/api", endpoint = "audit/sinks/delete")]
pub async fn delete_audit_sink(id: String) -> Result<(), AppError> {
    let (state, auth) = require(Permission::ManageAuditSinks).await?;
    audit_sinks::delete(&state.db, &auth, &id)
        .await
        .map_err(fail)?;
    leptos_axum::redirect("/audit/sinks");
    Ok(())
}
