//! Provisioning out (issue 15): the key outbound credentials are sealed with, and the delivery
//! worker's rhythm.
use crate::server::config::{err, positive, ConfigError};
use crate::server::service::sealed::SecretsKey;
use crate::server::service::ssf_keys::{pem_text, SsfKeys};
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
    /// `GATEHOUSE_SSF_SIGNING_KEY` (and `GATEHOUSE_SSF_RETIRED_KEYS`): without it Gatehouse is
    /// no Shared Signals transmitter.
    pub ssf_keys: Option<SsfKeys>,
    /// The SSF issuer: `GATEHOUSE_PUBLIC_URL` (set by `Config`).
    pub issuer: String,
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
        let ssf_keys = match var("GATEHOUSE_SSF_SIGNING_KEY") {
            Some(k) => {
                let signing = pem_text(&k).map_err(|e| err("GATEHOUSE_SSF_SIGNING_KEY", e))?;
                let retired = match var("GATEHOUSE_SSF_RETIRED_KEYS") {
                    Some(r) => {
                        Some(pem_text(&r).map_err(|e| err("GATEHOUSE_SSF_RETIRED_KEYS", e))?)
                    }
                    None => None,
                };
                Some(
                    SsfKeys::parse(&signing, retired.as_deref())
                        .map_err(|e| err("GATEHOUSE_SSF_SIGNING_KEY", e))?,
                )
            }
            None => None,
        };
        Ok(OutboxPolicy {
            secrets_key,
            ssf_keys,
            issuer: String::new(),
            poll: Duration::from_millis(positive(var, "GATEHOUSE_OUTBOX_POLL_MS", 200)?),
            lease: Duration::from_secs(positive(var, "GATEHOUSE_OUTBOX_LEASE_SECS", 30)?),
            timeout: Duration::from_secs(positive(var, "GATEHOUSE_OUTBOX_TIMEOUT_SECS", 10)?),
            worker,
        })
    }
}
