//! Audit sinks: where the audit log is streamed for the security team's SIEM (issue 17). Nothing
//! here touches I/O.
use serde::{Deserialize, Serialize};

/// The destinations a sink can be, with what the console says of each.
pub const SINK_KINDS: [(&str, &str); 3] = [
    (
        "hec",
        "Splunk HTTP Event Collector: HTTPS, batched, acknowledged when the collector offers it",
    ),
    (
        "ndjson",
        "NDJSON webhook: HTTPS POST, one event per line, a 2xx answer acknowledges",
    ),
    (
        "syslog",
        "Syslog (RFC 5424) over TCP, octet-counted: written and flushed counts as delivered",
    ),
];

/// The event formats a sink can send.
pub const SINK_FORMATS: [(&str, &str); 2] = [
    (
        "gatehouse",
        "Gatehouse event JSON: the fields the chain hash covers, with seq, hash and prev_hash",
    ),
    (
        "ocsf",
        "OCSF 1.1: Account Change, Authentication and API Activity classes",
    ),
];

/// Events sent in one request (or one TCP write) unless the sink says otherwise.
pub const DEFAULT_BATCH_SIZE: i64 = 500;
pub const MAX_BATCH_SIZE: i64 = 5000;

/// What an administrator sets for a sink. Numbers are text, as the console's form sends them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(example = json!({"name": "Splunk (security)", "kind": "hec", "format": "ocsf", "url": "https://splunk.example.com:8088", "token": "8d3f5a7e-0c6b-4e2a-9f1d-2b7c4e6a8d90", "batch_size": "500", "from_seq": ""})))]
#[serde(default)]
pub struct AuditSinkInput {
    /// Unique; names the sink in the console, the metrics and syslog's structured data.
    pub name: String,
    /// `hec`, `ndjson` or `syslog`.
    pub kind: String,
    /// `gatehouse` (the default) or `ocsf`.
    pub format: String,
    /// HEC: the collector's base URL (`https://splunk.example.com:8088`); NDJSON: the URL POSTed
    /// to (HTTPS; plain HTTP only for localhost); syslog: `tcp://host:port` or `tls://host:port`.
    pub url: String,
    /// HEC: the HEC token (required); NDJSON: the `Authorization` header's value (optional);
    /// syslog: none. Stored encrypted, never shown again. Empty on a change: kept.
    pub token: String,
    /// Events per request, 1 to 5000 (empty: 500).
    pub batch_size: String,
    /// When making a sink: the first event to send (empty: from the sink's own creation on).
    /// Ignored on a change (use replay).
    pub from_seq: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditSinkView {
    /// `snk_…`; the audit log names the sink `audit_sink:<id>`.
    pub id: String,
    pub name: String,
    pub kind: String,
    pub format: String,
    pub url: String,
    /// The token's last characters; empty: no token.
    pub token_hint: String,
    /// `active` or `paused` (nothing is sent; the cursor waits).
    pub status: String,
    /// `console`, or `env` (from GATEHOUSE_AUDIT_SINKS: changed there, not in the console).
    pub source: String,
    pub batch_size: i64,
    /// The last event delivered and acknowledged: delivery resumes after it.
    pub cursor: i64,
    /// The chain's last event when this was read.
    pub head: i64,
    /// Events not yet delivered (`head - cursor`).
    pub lag_events: i64,
    /// Seconds since the oldest event not yet delivered happened; 0 when caught up.
    pub lag_seconds: i64,
    /// Unix ms of the last acknowledged delivery; 0: none yet.
    pub delivered_at: i64,
    /// Why the last attempt failed; empty: none has.
    pub last_error: String,
    pub last_error_at: i64,
    /// Failed attempts in a row (0 while delivering normally).
    pub failures: i64,
    /// Unix ms of the next attempt while failing (by the server's clock); 0: now.
    pub next_attempt_at: i64,
    /// A batch was accepted by the HEC, which has not confirmed it yet.
    pub awaiting_ack: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

/// The sink's state in words, and the badge class it wears.
pub fn sink_state(s: &AuditSinkView) -> (&'static str, &'static str) {
    match s.status.as_str() {
        "paused" => ("badge badge-warn", "Paused"),
        _ if s.failures > 0 => ("badge badge-bad", "Failing, retrying"),
        _ if s.awaiting_ack => ("badge", "Waiting for acknowledgement"),
        _ if s.lag_events == 0 => ("badge badge-ok", "Caught up"),
        _ => ("badge badge-ok", "Delivering"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_in_words() {
        let mut s = AuditSinkView {
            status: "active".into(),
            ..Default::default()
        };
        assert_eq!(sink_state(&s).1, "Caught up");
        s.lag_events = 3;
        assert_eq!(sink_state(&s).1, "Delivering");
        s.awaiting_ack = true;
        assert_eq!(sink_state(&s).1, "Waiting for acknowledgement");
        s.failures = 2;
        assert_eq!(sink_state(&s).1, "Failing, retrying");
        s.status = "paused".into();
        assert_eq!(sink_state(&s).1, "Paused");
    }
}
