//! Server-only code: configuration, authentication, domain services, storage and HTTP edges.
pub mod audit_cli;
pub mod auth;
pub mod backup;
pub mod bench;
pub mod bench_audit;
pub mod bench_keys;
pub mod bench_outbox;
pub mod bench_revoke;
pub mod bench_scim;
pub mod bench_signals;
pub mod clock;
pub mod config;
pub mod config_api;
pub mod config_audit_stream;
pub mod config_metrics;
pub mod config_outbox;
pub mod config_settings;
pub mod db;
pub mod http;
pub mod instance;
pub mod logging;
pub mod metrics;
pub mod scim;
pub mod seed;
pub mod service;
pub mod service_account_cli;
pub mod signals_cli;
pub mod ssf_events;
pub mod ssf_verify;
pub mod startup;
pub mod state;

pub use config::Config;
pub use state::AppState;

/// Logs an unexpected error and turns it into the generic message the user sees, with status 500.
pub fn internal(error: impl std::fmt::Display) -> crate::model::AppError {
    tracing::error!(%error, "internal error");
    auth::guard::fail(crate::model::AppError::Internal)
}
