//! Provisioning out (issue 15): the key outbound credentials are sealed with, and the delivery
//! worker's rhythm.
use crate::server::config::{err, positive, ConfigError};
use crate::server::service::sealed::SecretsKey;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct OutboxPolicy {
    /// `GATEHOUSE_SECRETS_KEY`: without it no provisioning target can be configured.
    pub secrets_key: Option<SecretsKey>,
    /// How often an idle worker looks for due messages (`GATEHOUSE_OUTBOX_POLL_MS`).
    pub poll: Duration,
    /// How long an instance holds a target while delivering (`GATEHOUSE_OUTBOX_LEASE_SECS`):
    /// another instance takes over a dead one's target after it.
    pub lease: Duration,
    /// Per request to a target (`GATEHOUSE_OUTBOX_TIMEOUT_SECS`).
    pub timeout: Duration,
    /// Runs the delivery worker in this process (`GATEHOUSE_OUTBOX_WORKER=off` stops it).
    pub worker: bool,
}

impl OutboxPolicy {
    pub(crate) fn from_lookup(
        var: &impl Fn(&'static str) -> Option<String>,
    ) -> Result<OutboxPolicy, ConfigError> {
        let secrets_key = match var("GATEHOUSE_SECRETS_KEY") {
            Some(k) => Some(SecretsKey::parse(&k).map_err(|e| err("GATEHOUSE_SECRETS_KEY", e))?),
            None => None,
        };
        let worker = match var("GATEHOUSE_OUTBOX_WORKER").as_deref().map(str::trim) {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => {
                return Err(err(
                    "GATEHOUSE_OUTBOX_WORKER",
                    format!("must be on or off (got {other:?})"),
                ))
            }
        };
        Ok(OutboxPolicy {
            secrets_key,
            poll: Duration::from_millis(positive(var, "GATEHOUSE_OUTBOX_POLL_MS", 200)?),
            lease: Duration::from_secs(positive(var, "GATEHOUSE_OUTBOX_LEASE_SECS", 30)?),
            timeout: Duration::from_secs(positive(var, "GATEHOUSE_OUTBOX_TIMEOUT_SECS", 10)?),
            worker,
        })
    }
}
