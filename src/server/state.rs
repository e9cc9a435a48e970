use crate::server::auth::oidc::Oidc;
use crate::server::db::Db;
use crate::server::Config;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub oidc: Arc<Oidc>,
    pub leptos: LeptosOptions,
    /// Verifies API keys for gateways; its cache follows changes made by any instance.
    pub verifier: Arc<crate::server::service::verify::Verifier>,
    /// Failed sign-in callbacks per client IP: past the limit they are no longer audited.
    pub sign_in_failures: Arc<crate::server::service::rate_limit::FailureLimiter<std::net::IpAddr>>,
    /// Exports, integrity checks and imports running at once.
    pub heavy: Arc<crate::server::service::heavy::HeavyWork>,
    /// Authenticates management API tokens (cached for at most a second).
    pub tokens: Arc<crate::server::service::token_auth::TokenAuthenticator>,
    /// Requests per management API token and minute.
    pub api_rate: Arc<crate::server::service::api_rate::ApiRateLimiter>,
    /// The time session timeouts and role checks are judged by.
    pub clock: Arc<crate::server::clock::Clock>,
    /// What `/metrics` reports: this instance's counters and the families read when scraped.
    pub metrics: Arc<crate::server::metrics::Metrics>,
    /// This instance's name: the holder of the background and delivery leases it takes.
    pub instance: Arc<crate::server::instance::Instance>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

impl AppState {
    pub fn timeouts(&self) -> crate::server::auth::session::Timeouts {
        crate::server::auth::session::Timeouts {
            idle: self.config.session_idle,
            absolute: self.config.session_absolute,
        }
    }
}
