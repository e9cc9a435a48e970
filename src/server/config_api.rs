//! The management API's settings (issue 13): personal token lifetimes and the rate limit.
use crate::server::config::{err, positive, ConfigError};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct ApiPolicy {
    /// The longest a personal access token may live (`GATEHOUSE_PAT_MAX_DAYS`, at most 366).
    pub pat_max_days: i64,
    /// A personal token works only while its owner's role was confirmed by the identity
    /// provider within this time (`GATEHOUSE_PAT_ROLE_TTL_HOURS`).
    pub pat_role_ttl: Duration,
    /// Requests per token and minute (`GATEHOUSE_API_REQUESTS_PER_MINUTE`).
    pub requests_per_minute: u32,
}

impl ApiPolicy {
    pub(crate) fn from_lookup(
        var: &impl Fn(&'static str) -> Option<String>,
    ) -> Result<ApiPolicy, ConfigError> {
        let pat_max_days = positive(var, "GATEHOUSE_PAT_MAX_DAYS", 90)?;
        if pat_max_days > 366 {
            return Err(err(
                "GATEHOUSE_PAT_MAX_DAYS",
                format!("must be at most 366 days (got {pat_max_days})"),
            ));
        }
        let ttl_hours = positive(var, "GATEHOUSE_PAT_ROLE_TTL_HOURS", 168)?;
        let requests_per_minute =
            positive(var, "GATEHOUSE_API_REQUESTS_PER_MINUTE", 600)?.min(u32::MAX as u64) as u32;
        Ok(ApiPolicy {
            pat_max_days: pat_max_days as i64,
            pat_role_ttl: Duration::from_secs(ttl_hours.saturating_mul(3600)),
            requests_per_minute,
        })
    }
}
